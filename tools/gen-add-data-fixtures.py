#!/usr/bin/env python3
"""Regenerate fixtures/add-data/<case>/: an asc module whose exported functions
take objects by pointer and use them, and the spec of objects to append to it.

    .venv/bin/python tools/gen-add-data-fixtures.py   # (installs asc 0.28.20 on first use)

One description (OBJECTS below) gives three things, so they cannot disagree:
  * spec.toml: the objects `wasmem add-data` appends (typed arrays and nested
    arrays, which asc never emits statically, strings with non-ASCII text);
  * source.ts: functions that use such objects (lengths, element reads, join,
    push, ...), `make_<name>()` functions that build the same values at run
    time (the reference the appended objects are compared with), allocation
    churn, and `id_<n>()` = idof<T>() for every class the spec uses;
  * build.json: asc version and arguments, size and sha256 of module.wasm, and
    the ids idof<T>() returned in that build (the program's own word on them).
Where the module's RTTI cannot tell two classes apart (Array<string> and
Array<Array<string>> have the same flags) the spec names the id explicitly,
from idof; every other id is left to wasmem's RTTI resolution, which the tests
check against these ids.

Cases: unoptimized (`heap` placement), unoptimized with --memoryBase 2048
(room for a `reserved` placement below the data), and -O3 (heap placement
refused). All with --exportRuntime, for __pin/__collect.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "add-data")
ASC_VERSION = "0.28.20"
sys.path.insert(0, os.path.join(ROOT, "src"))

CASES = {
    "0.28.20-objects": ["--exportRuntime"],
    "0.28.20-objects-memoryBase2048": ["--exportRuntime", "--memoryBase", "2048"],
    "0.28.20-objects-O3": ["--exportRuntime", "-O3"],
}

# (name, type, value), in layout order.
OBJECTS = [
    ("greeting", "string", "héllo, wörld ✓ 😀"),
    ("plain", "string", "plain ASCII"),
    ("nothing", "string", ""),
    ("i32a", "Int32Array", [1, -2, 2147483647, -2147483648, 42]),
    ("u8a", "Uint8Array", [0, 1, 127, 128, 255]),
    ("f64a", "Float64Array", [0.5, -1.25, 1e300, -0.0]),
    ("f64s", "Array<f64>", [1.5, 2.5, -3.0]),
    ("stat", "StaticArray<i32>", [10, 20, 30, -5]),
    ("words", "Array<string>", ["alpha", "βeta", "", "😀 emoji"]),
    ("nested", "Array<Array<string>>", [["a", "bc"], [], ["日本", "😀", "ü"]]),
    ("alpha", "string", "alpha"),  # the same text as words[0]: interned
]

# Every class the spec uses, by the name idof<T>() needs in the source.
CLASSES = ["string", "Int32Array", "Uint8Array", "Float64Array", "Array<f64>", "StaticArray<i32>",
           "Array<string>", "Array<Array<string>>"]

USES = '''\
// Functions that take the appended objects by pointer and use them.
export function i32aLen(a: Int32Array): i32 { return a.length; }
export function i32aGet(a: Int32Array, i: i32): i32 { return a[i]; }
export function u8aLen(a: Uint8Array): i32 { return a.length; }
export function u8aGet(a: Uint8Array, i: i32): i32 { return a[i]; }
export function u8aSum(a: Uint8Array): i32 {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
export function f64aLen(a: Float64Array): i32 { return a.length; }
export function f64aGet(a: Float64Array, i: i32): f64 { return a[i]; }
export function f64Len(a: Array<f64>): i32 { return a.length; }
export function f64Get(a: Array<f64>, i: i32): f64 { return a[i]; }
export function f64Push(a: Array<f64>, v: f64): i32 { a.push(v); return a.length; }
export function sumStatic(a: StaticArray<i32>): i32 {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
export function staticLen(a: StaticArray<i32>): i32 { return a.length; }
export function strLen(s: string): i32 { return s.length; }
export function strCode(s: string, i: i32): i32 { return s.charCodeAt(i); }
export function strEq(a: string, b: string): bool { return a == b; }
export function strConcat(a: string, b: string): string { return a + b; }
export function wordsLen(a: Array<string>): i32 { return a.length; }
export function wordsJoin(a: Array<string>): string { return a.join("|"); }
export function wordsIndexOf(a: Array<string>, s: string): i32 { return a.indexOf(s); }
export function nestedLen(a: Array<Array<string>>, i: i32): i32 { return a[i].length; }
export function nestedJoin(a: Array<Array<string>>, i: i32): string { return a[i].join(","); }
export function outerLen(a: Array<Array<string>>): i32 { return a.length; }
// instanceof reads the object's rtId through the RTTI (__instanceof).
export function isInt32Array(v: ArrayBufferView): bool { return v instanceof Int32Array; }
export function isUint8Array(v: ArrayBufferView): bool { return v instanceof Uint8Array; }
export function isFloat64Array(v: ArrayBufferView): bool { return v instanceof Float64Array; }

// Allocation churn: strings and arrays built and dropped.
export function churn(n: i32): i32 {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const s = "churn-" + i.toString() + "-" + (i * 7).toString();
    const parts = s.split("-");
    const a = new Array<f64>(i & 15);
    total += s.length + parts.length + a.length;
  }
  return total;
}
'''


def as_string(s: str) -> str:
    """An AS string literal: every non-ASCII UTF-16 code unit as \\uXXXX."""
    data = s.encode("utf-16-le", "surrogatepass")
    out = []
    for i in range(0, len(data), 2):
        c = int.from_bytes(data[i:i + 2], "little")
        ch = chr(c)
        out.append(ch if 0x20 <= c < 0x7F and ch not in "\"\\" else f"\\u{c:04x}")
    return '"' + "".join(out) + '"'


def as_number(v) -> str:
    if isinstance(v, float):
        return "-0.0" if v == 0 and str(v).startswith("-") else repr(v)
    return str(v)


TYPED = {"Int32Array": "i32", "Uint8Array": "u8", "Float64Array": "f64"}


def as_builder(name: str, type_: str, value) -> str:
    """A function building the same value at run time (new objects on every call)."""
    if type_ == "string":
        # A literal would be static data: build the string from its UTF-16 code units.
        data = value.encode("utf-16-le", "surrogatepass")
        units = ", ".join(str(int.from_bytes(data[i:i + 2], "little")) for i in range(0, len(data), 2))
        return f"export function make_{name}(): string {{ return String.fromCharCodes([{units}]); }}"
    if type_ in TYPED:
        sets = " ".join(f"a[{i}] = {as_number(v)};" for i, v in enumerate(value))
        return f"export function make_{name}(): {type_} {{ const a = new {type_}({len(value)}); {sets} return a; }}"
    if type_ == "StaticArray<i32>":
        sets = " ".join(f"a[{i}] = {as_number(v)};" for i, v in enumerate(value))
        return f"export function make_{name}(): {type_} {{ const a = new StaticArray<i32>({len(value)}); {sets} return a; }}"
    return f"export function make_{name}(): {type_} {{ return {as_literal(type_, value)}; }}"


def as_literal(type_: str, value) -> str:
    elem = type_[len("Array<"):-1]
    if elem.startswith("Array<"):
        return "[" + ", ".join(f"<{elem}>{as_literal(elem, v)}" for v in value) + "]"
    if elem == "string":
        return "[" + ", ".join(as_string(v) for v in value) + "]"
    return "[" + ", ".join(as_number(v) for v in value) + "]"


def source() -> str:
    lines = ["// Generated by tools/gen-add-data-fixtures.py: do not edit.", USES,
             "// The same values as spec.toml's objects, built at run time.",
             *(as_builder(n, t, v) for n, t, v in OBJECTS), "",
             "// Runtime ids, from the program itself.",
             *(f"export function id_{i}(): u32 {{ return idof<{c}>(); }}  // {c}" for i, c in enumerate(CLASSES)),
             ""]
    return "\n".join(lines)


def toml_value(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a valid TOML basic string for these texts
    if isinstance(v, float):
        return "-0.0" if v == 0 and str(v).startswith("-") else repr(v)
    return str(v)


def spec_toml(explicit_ids: dict) -> str:
    lines = ["# Generated by tools/gen-add-data-fixtures.py: objects `wasmem add-data` appends to module.wasm.",
             'abi = "assemblyscript"']
    if explicit_ids:
        inner = ", ".join(f"{json.dumps(k)} = {v}" for k, v in explicit_ids.items())
        lines.append("# These classes have the same RTTI flags: their ids come from idof<T>() (build.json).")
        lines.append(f"ids = {{ {inner} }}")
    for name, type_, value in OBJECTS:
        lines += ["", "[[object]]", f"name = {json.dumps(name)}", f"type = {json.dumps(type_)}",
                  f"value = {toml_value(value)}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    from wasmem.host.instance import instantiate
    from wasmem.layout.types import parse_type
    from wasmem.module import Module
    from oracles import asc_path  # (here: the tests import this script for its descriptions)
    from wasmem.asc import module_rtti

    asc = asc_path(ASC_VERSION)
    text = source()
    for case, args in CASES.items():
        folder = os.path.join(OUT, case)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "source.ts"), "w") as f:
            f.write(text)
        subprocess.run([asc, "source.ts", *args, "-o", "module.wasm"], cwd=folder, check=True)
        data = open(os.path.join(folder, "module.wasm"), "rb").read()
        host = instantiate(data)
        ids = {c: host.call(f"id_{i}")[0] for i, c in enumerate(CLASSES)}
        _, rtti = module_rtti(Module.from_bytes(data), "assemblyscript", None)
        explicit = {}
        for c, rid in ids.items():
            if c == "string":
                continue
            found = rtti.candidates(parse_type(c))
            if found != [rid]:
                explicit[c] = rid
        with open(os.path.join(folder, "spec.toml"), "w") as f:
            f.write(spec_toml(explicit))
        build = {"asc": ASC_VERSION, "args": args, "source": "source.ts", "size": len(data),
                 "sha256": hashlib.sha256(data).hexdigest(), "ids": ids, "explicit_ids": sorted(explicit)}
        with open(os.path.join(folder, "build.json"), "w") as f:
            f.write(json.dumps(build, indent=2) + "\n")
        print(f"{case}: {len(data)} bytes, ids {ids}, explicit {sorted(explicit)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerate fixtures/layout-c/<case>/: C globals compiled by the real clang and wasm-ld
(tools/get-clang.sh, installed on first use), the spec that describes the same objects
for `wasmem layout --abi c`, and what the linker emitted, read back by the data oracle
(oracles.read_module: `wasm-tools print`, no wasmem code).

    .venv/bin/python tools/gen-c-layout-fixtures.py

For each case (CASES below, one description per case) it writes:
  source.c       one global per object, in order, each in its own .data section (zeros
                 too), at its ABI alignment, kept (used, --no-gc-sections), its address
                 exported (--export)
  spec.json      the same objects for the c abi, with the case's base
  module.wasm    clang -O0 and wasm-ld's build (build.json: the arguments)
  expected.json  every active segment (offset, hex) and each object's exported address
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import sys

from oracles import CLANG, clang_build, read_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "layout-c")

NAN, INF = math.nan, math.inf
F32_MAX, F32_TINY = 3.4028234663852886e38, 1.401298464324817e-45

# C spelling of each element type (stdint.h is not there: -nostdlib, no libc headers)
C_TYPES = {"i8": "signed char", "u8": "unsigned char", "i16": "short", "u16": "unsigned short",
           "i32": "int", "u32": "unsigned int", "i64": "long long", "u64": "unsigned long long",
           "f32": "float", "f64": "double", "bool": "_Bool", "isize": "long", "usize": "unsigned long"}

# (name, type, value, align or None)
SCALARS = [
    ("greeting", "cstring", "hello, wasm-ld", None),
    ("i8s", "i8[]", [-128, -1, 0, 127], None),
    ("u16s", "u16[]", [0, 1, 65535], None),        # after 4 bytes at an even cursor
    ("i64s", "i64[]", [-(1 << 63), -1, 0, 1, (1 << 63) - 1], None),  # 8-aligned
    ("utf8", "cstring", "héllo ✓ 😀", None),
    ("u8s", "u8[]", [0, 1, 254, 255], None),
    ("i16s", "i16[]", [-32768, -1, 32767], None),  # after an odd cursor
    ("i32s", "i32[]", [-(1 << 31), -1, 0, (1 << 31) - 1], None),
    ("u32s", "u32[]", [0, 1, (1 << 32) - 1], None),
    ("u64s", "u64[]", [0, 1, (1 << 64) - 1], None),
    ("empty", "cstring", "", None),
    ("f32s", "f32[]", [1.5, -0.0, F32_MAX, -F32_MAX, F32_TINY, INF, -INF, NAN, 0.1], None),
    ("f64s", "f64[]", [0.1, -0.0, 1e308, 5e-324, INF, -INF, NAN], None),
    ("flags", "bool[]", [True, False, True], None),
    ("blob", "bytes", bytes([0, 255, 1, 2, 3]), None),
]
ALIGNED = [
    ("tag", "cstring", "x", None),
    ("page", "u8[]", [1, 2, 3], 16),               # align = N: __attribute__((aligned(N)))
    ("word", "cstring", "aligned", 8),
    ("wide", "u16[]", [7], 64),
    ("tail", "bytes", bytes([9]), None),
]

# No aligned() in the C: clang picks the alignment, and gives a global array of 16 bytes or
# more a preferred alignment of 16, which the spec's align = 16 states (the rest: ABI alignment).
PREFERRED = [
    ("text15", "cstring", "fifteen bytes!", None),    # 15 bytes with its NUL: not bumped
    ("text16", "cstring", "sixteen bytes!!", 16),     # 16 bytes
    ("three", "i32[]", [1, 2, 3], None),              # 12 bytes
    ("four", "i32[]", [1, 2, 3, 4], 16),              # 16 bytes
    ("pair", "f64[]", [0.5, 0.25], 16),               # 16 bytes
    ("tail", "u8[]", [1], None),
]

# case -> (objects, base, linker arguments)
CASES = {
    # wasm-ld's classic layout: data from --global-base (1024), the stack after it
    "scalars-global-base": (SCALARS, 1024, ["-Wl,--no-stack-first", "-Wl,--global-base=1024"]),
    "aligned-global-base": (ALIGNED, 1024, ["-Wl,--no-stack-first", "-Wl,--global-base=1024"]),
    # --stack-first (clang 22's default, and Rust's): 64 KiB of stack below the data
    "scalars-stack-first": (SCALARS, 65536, ["-Wl,--stack-first"]),
    "clang-alignment-global-base": (PREFERRED, 1024, ["-Wl,--no-stack-first", "-Wl,--global-base=1024"]),
}
CLANG_PICKS_ALIGNMENT = {"clang-alignment-global-base"}


def c_string(data: bytes) -> str:
    """A C string literal of exactly these bytes: printable ASCII as itself, the rest as
    three-digit octal escapes (an octal escape stops after three digits; a hex one does not)."""
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\?' else f"\\{b:03o}"
                         for b in data) + '"'


def c_number(t: str, v) -> str:
    if t == "bool":
        return "1" if v else "0"
    if t in ("f32", "f64"):
        if math.isnan(v):
            return '__builtin_nanf("")' if t == "f32" else '__builtin_nan("")'
        if math.isinf(v):
            return ("-" if v < 0 else "") + ("__builtin_inff()" if t == "f32" else "__builtin_inf()")
        exact = float.hex(v)  # C99 hex float: the double exactly; an f32 value rounds as struct does
        return exact + ("f" if t == "f32" and v == struct.unpack("<f", struct.pack("<f", v))[0] else "")
    if t == "i64" and v == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    if t == "i32" and v == -(1 << 31):
        return "(-2147483647 - 1)"
    suffix = {"i64": "LL", "u64": "ULL", "u32": "U"}.get(t, "")
    return f"{v}{suffix}"


_SIZES = {"i8": 1, "u8": 1, "bool": 1, "i16": 2, "u16": 2, "i32": 4, "u32": 4, "f32": 4, "i64": 8, "u64": 8, "f64": 8,
          "isize": 4, "usize": 4}


def natural_align(t: str) -> int:
    """A spec type's ABI alignment: its element's size (1 for cstring and bytes)."""
    return 1 if t in ("cstring", "bytes") else _SIZES[t[:-2]]


def c_global(name: str, t: str, value, align, clang_picks: bool = False) -> str:
    # aligned(): the object's ABI alignment (or the spec's align), which is what the c abi
    # lays out; without it clang gives arrays of 16 bytes or more a preferred alignment of 16.
    # section(): all-zero objects would go to .bss, after the rest; this keeps them in order.
    aligned = "" if clang_picks else f", aligned({align or natural_align(t)})"
    attrs = f'__attribute__((used{aligned}, section(".data.{name}")))'
    if t == "cstring":
        return f"{attrs} char {name}[] = {c_string(value.encode('utf-8'))};"
    if t == "bytes":
        return f"{attrs} unsigned char {name}[] = {{{', '.join(f'0x{b:02x}' for b in value)}}};"
    elem = t[:-2]
    return f"{attrs} {C_TYPES[elem]} {name}[] = {{{', '.join(c_number(elem, v) for v in value)}}};"


def spec_object(name: str, t: str, value, align) -> dict:
    o = {"name": name, "type": t}
    if t == "bytes":
        o["hex"] = value.hex()
    else:
        o["value"] = value
    if align:
        o["align"] = align
    return o


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    only = sys.argv[1:]
    for case, (objects, base, link) in CASES.items():
        if only and not any(case.startswith(p) for p in only):
            continue
        folder = os.path.join(OUT, case)
        os.makedirs(folder, exist_ok=True)
        source = ("// Generated by tools/gen-c-layout-fixtures.py: one global per spec object, in order.\n"
                  + "\n".join(c_global(*o, case in CLANG_PICKS_ALIGNMENT) for o in objects) + "\n")
        args = ["--target=wasm32", "-nostdlib", "-O0", "-Wl,--no-entry", "-Wl,--no-gc-sections", *link,
                *(f"-Wl,--export={o[0]}" for o in objects)]
        wasm = clang_build(source, args)
        with open(os.path.join(folder, "source.c"), "w") as f:
            f.write(source)
        with open(os.path.join(folder, "module.wasm"), "wb") as f:
            f.write(wasm)
        segments, named = read_module(os.path.join(folder, "module.wasm"))
        write_json(os.path.join(folder, "spec.json"),
                   {"abi": "c", "base": base, "object": [spec_object(*o) for o in objects]})
        write_json(os.path.join(folder, "build.json"),
                   {"compiler": CLANG, "args": args, "source": "source.c", "size": len(wasm),
                    "sha256": hashlib.sha256(wasm).hexdigest()})
        write_json(os.path.join(folder, "expected.json"),
                   {"segments": [{"offset": off, "hex": data.hex()} for off, data in segments],
                    "globals": {o[0]: named[o[0]] for o in objects}})
        print(f"{case}: {len(segments)} segment(s), objects at {min(named[o[0]] for o in objects)}.."
              f"{max(named[o[0]] for o in objects)}")


if __name__ == "__main__":
    main()

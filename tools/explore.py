#!/usr/bin/env python3
"""Random differential exploration against the real compilers: random static objects, laid out
by wasmem and by the tool whose layout wasmem claims to reproduce, compared byte for byte.

    .venv/bin/python tools/explore.py asc-layout 300            # 300 random programs
    .venv/bin/python tools/explore.py c-layout 400 --seed 100
    .venv/bin/python tools/explore.py add-data 150 --seed 1000
    .venv/bin/python tools/explore.py import-memory 200 --seed 14000
    .venv/bin/python tools/explore.py c-import-memory 100
    .venv/bin/python tools/explore.py asc-layout 1 --seed 8022 -v   # one case, with its source

asc-layout  random strings, Array<T> and StaticArray<T> of every scalar type, strings and
            nullable strings (what asc lays out statically), a random pinned asc version and
            sometimes --memoryBase: the source and spec come from gen-layout-fixtures.py's
            writers; wasmem's segments and addresses must be asc's (with asc's ids, and with
            ids numbered in order of first use); `layout --module` must agree or refuse with
            exit 2; each object must read back (type given, and from its header and RTTI).
c-layout    random cstrings, bytes and T[] of every scalar type with random align, clang's
            own alignment, random --global-base or --stack-first (gen-c-layout-fixtures.py's
            writers): the linker's memory must be wasmem's image, every object at the
            linker's address.
add-data    random values of random types, nested arrays, typed arrays and ArrayBuffers
            included, appended to an asc program of each runtime generation (0.9.4 and
            0.17.14: reference counting; 0.20.19 and 0.28.20: the incremental GC;
            unoptimized, or -O3 with room below its data) that builds the same values at
            run time and serializes any
            value of each type exactly (UTF-16 code units, float bits): in wasmtime the
            appended object and the runtime-built one must serialize as Python does,
            before and after push and forced GC cycles.
import-memory  a random asc program (static objects, sometimes code that grows and stores
            to memory) of a random pinned version, with random -O levels, --memoryBase,
            --importTable, --runtime and shared memory or limits, built without and with
            asc's --importMemory flags: wasmem's import-memory of the first must be the
            second byte for byte (unoptimized), or after --zero-fill have its memory image,
            imports and memories (optimized); unoptimized, define-memory of the second must give
            back the first where no flag changed the memory, and where one did, set-memory with
            it must be asc's build with it (without --importMemory); where asc refuses the flags,
            wasmem must too.
c-import-memory  a random C program (initialized and zero-initialized globals, each with an
            exported function hashing its bytes), random -O level and wasm-ld layout, built
            without and with -Wl,--import-memory: wasmem's import-memory --zero-fill of the
            first must import the same memory and, over a dirty host memory, leave every
            global as wasm-ld's build does; where the module does not say where its .bss is
            (no __data_end, or no data segment), wasmem must warn instead, and only then.

Each case is one seed: `explore.py KIND 1 --seed S -v` repeats it, with its source.
Exit status 1 if any case differs.
Needs npm (asc, clang via tools/get-asc.sh and tools/get-clang.sh, installed on first use).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor

from oracles import asc_path, clang_build, read_module, wasm_tools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WASMEM = [sys.executable, "-m", "wasmem"]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), os.path.join(ROOT, "tools", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN_AS, GEN_C = _tool("gen-layout-fixtures"), _tool("gen-c-layout-fixtures")

# ---- random values ----------------------------------------------------------------------------
INTS = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767), "u16": (0, 65535),
        "i32": (-2**31, 2**31 - 1), "u32": (0, 2**32 - 1), "i64": (-2**63, 2**63 - 1), "u64": (0, 2**64 - 1),
        "isize": (-2**31, 2**31 - 1), "usize": (0, 2**32 - 1)}
SCALARS = [*INTS, "f32", "f64", "bool"]
TYPED = {"Int8Array": "i8", "Uint8Array": "u8", "Uint8ClampedArray": "u8", "Int16Array": "i16",
         "Uint16Array": "u16", "Int32Array": "i32", "Uint32Array": "u32", "Int64Array": "i64",
         "Uint64Array": "u64", "Float32Array": "f32", "Float64Array": "f64"}
# string pieces: lone surrogates, a pair split over two pieces, NUL, escapes, BMP and astral
PIECES = ["a", "hello", "é", "ÿ", "漢字", "😀", "\ud800", "\udc00", "\x00", "\x01", " ", "\\", '"', "\n",
          "\u20ac", "\uffff", "\ufeff"]


def f32(v: float) -> float:
    return struct.unpack("<f", struct.pack("<f", v))[0]


def random_scalar(r: random.Random, s: str, *, i64_min: bool = True):
    if s == "bool":
        return r.random() < 0.5
    if s in ("f32", "f64"):
        c = r.random()
        if c < 0.15:
            return r.choice([math.inf, -math.inf, math.nan, -0.0, 0.0])
        if c < 0.3:  # any finite value's bits
            bits = r.getrandbits(32) & 0x7F7FFFFF if s == "f32" else r.getrandbits(64) & 0x7FEFFFFFFFFFFFFF
            v = struct.unpack("<f" if s == "f32" else "<d", struct.pack("<I" if s == "f32" else "<Q", bits))[0]
            return -v if r.random() < 0.5 else v
        v = r.uniform(-1e6, 1e6) if c < 0.8 else r.uniform(-1e-3, 1e-3)
        return f32(v) if s == "f32" else v
    lo, hi = INTS[s]
    if s == "i64" and not i64_min:
        lo += 1  # (asc cannot spell -2^63 as a literal)
    return r.choice([lo, hi, 0, r.randint(lo, hi), r.randint(0, 5)])


def random_string(r: random.Random, pool: list) -> str:
    if pool and r.random() < 0.3:
        return r.choice(pool)  # a repeat: interned
    s = "".join(r.choice(PIECES) for _ in range(r.choice([0, 1, 1, 2, 3, 5, 8])))
    pool.append(s)
    return s


# A type: ("string",), ("ArrayBuffer",), ("scalar", s), ("typed", name), ("Array" | "StaticArray", elem),
# ("null", t) for `t | null`.
def type_name(t) -> str:
    if t[0] in ("string", "ArrayBuffer"):
        return t[0]
    if t[0] in ("scalar", "typed"):
        return t[1]
    if t[0] == "null":
        return f"{type_name(t[1])} | null"
    return f"{t[0]}<{type_name(t[1])}>"


def elem_of(t):
    return ("scalar", TYPED[t[1]]) if t[0] == "typed" else t[1]


def random_value(r: random.Random, t, pool: list, *, i64_min: bool = True):
    if t[0] == "null":
        return None if r.random() < 0.3 else random_value(r, t[1], pool, i64_min=i64_min)
    if t[0] == "string":
        return random_string(r, pool)
    if t[0] == "ArrayBuffer":
        return bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 3, 8, 17])))
    if t[0] == "scalar":
        return random_scalar(r, t[1], i64_min=i64_min)
    n = r.choice([0, 1, 2, 3, 4, 5, 8, 9, 16, 33])
    return [random_value(r, elem_of(t), pool, i64_min=i64_min) for _ in range(n)]


def utf16(s: str) -> bytes:
    return s.encode("utf-16-le", "surrogatepass")


def same(got, want, t) -> bool:
    """A value read back equals the spec's: strings as UTF-16 code units (a high and a low
    surrogate are one pair), f32 as rounded, NaN as NaN, -0.0 as -0.0."""
    if t[0] == "null":
        return got is None if want is None else same(got, want, t[1])
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same(g, w, elem_of(t)) for g, w in zip(got, want)))
    if t[0] == "string":
        return isinstance(got, str) and utf16(got) == utf16(want)
    if isinstance(want, float):
        want = f32(want) if t[1] == "f32" else want
        return isinstance(got, float) and (math.isnan(got) and math.isnan(want) or
                                           got == want and math.copysign(1, got) == math.copysign(1, want))
    if isinstance(want, bool) and not isinstance(got, bool):
        return got == int(want)  # (from RTTI alone: Array<bool> has Array<u8>'s flags)
    return got == want


def spec_value(v):
    """A value as the spec's JSON holds it (NaN and infinities as words)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
    if isinstance(v, list):
        return [spec_value(x) for x in v]
    return v


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, **kw)


# ---- asc-layout ---------------------------------------------------------------------------------
def asc_layout_case(seed: int) -> tuple[bool, str]:
    from wasmem.errors import WasmError
    from wasmem.host.read import read_module_object
    from wasmem.layout.spec import build_layout, load_spec

    r = random.Random(seed)
    version = r.choice(GEN_AS.ALL)
    args = ["--memoryBase", str(r.choice([0, 1, 8, 100, 1000, 1020, 1023, 4096, 65536]))] if r.random() < 0.25 else []
    pool, objects = [], []
    for i in range(r.randint(1, 8)):
        if r.random() < 0.35:
            t = ("string",)
        else:
            elem = r.choice([*SCALARS, "string", "string", "string | null"])
            elem = ("null", ("string",)) if elem == "string | null" else ("string",) if elem == "string" else (
                "scalar", elem)
            t = (r.choice(["Array", "Array", "StaticArray"]), elem)
        objects.append((f"o{i}", t, random_value(r, t, pool, i64_min=False)))
    described = [(name, type_name(t), value) for name, t, value in objects]
    head = f"asc {version} {' '.join(args)}\nobjects: {described!r}"
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        GEN_AS.OUT = tmp
        try:
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                GEN_AS.build_case("case", described, version, args, None)
        except SystemExit as e:
            return False, f"{head}\nasc failed: {str(e)[-600:]}"
        folder = os.path.join(tmp, "case")
        expected = json.load(open(os.path.join(folder, "expected.json")))
        user = expected["user"]
        want = [(s["offset"], bytes.fromhex(s["hex"]))
                for s in expected["segments"][user["first"]:user["first"] + user["count"]]]
        spec_path, wasm_path = os.path.join(folder, "spec.json"), os.path.join(folder, "module.wasm")
        try:
            spec = load_spec(spec_path)
            auto = build_layout(spec, auto_ids=True)  # numbered in order of first use
            if auto.segments() != want or any(expected["ids"][k] != v for k, v in auto.auto_assigned.items()):
                bad.append(f"auto ids {dict(auto.auto_assigned)}, asc's {expected['ids']}")
            spec.ids = dict(expected["ids"])
            layout = build_layout(spec)
            if layout.segments() != want:
                bad.append(f"segments: {[(o, d.hex()) for o, d in layout.segments()]}\n"
                           f"    asc's: {[(o, d.hex()) for o, d in want]}")
            for o in layout.objects:
                if o.address != expected["globals"][o.name]:
                    bad.append(f"{o.name} at {o.address}, asc's at {expected['globals'][o.name]}")
            wasm = open(wasm_path, "rb").read()
            for name, t, value in objects:
                got = read_module_object(wasm, name, type_=type_name(t))
                if not same(got.value, value, t):
                    bad.append(f"read {name} as {type_name(t)}: {got.value!r}")
                try:
                    got = read_module_object(wasm, name)
                except WasmError:  # (RTTI cannot tell every class apart: it says so)
                    continue
                if not same(got.value, value, t):
                    bad.append(f"read {name} from RTTI (as {got.type}): {got.value!r}")
        except Exception:
            bad.append(traceback.format_exc()[-1500:])
        done = run([*WASMEM, "layout", spec_path, "--module", wasm_path])
        if done.returncode == 0:
            found = {o["name"]: o["address"] for o in json.loads(done.stdout)["objects"]}
            bad += [f"layout --module: {n} at {found.get(n)}, asc's at {a}"
                    for n, a in expected["globals"].items() if n in found and found[n] != a]
        elif done.returncode != 2 or "ambiguous runtime id" not in done.stderr:
            bad.append(f"layout --module: exit {done.returncode}: {done.stderr[-600:]}")
        source = open(os.path.join(folder, "source.ts"), encoding="utf-8").read()
    return not bad, f"{head}\n" + "\n".join(bad) + f"\nsource.ts:\n{source}"


# ---- c-layout -----------------------------------------------------------------------------------
def c_layout_case(seed: int) -> tuple[bool, str]:
    from wasmem.layout.spec import build_layout, parse_spec

    gen = GEN_C
    r = random.Random(seed)
    picks = r.random() < 0.25  # no aligned(): clang's preferred alignment, stated as align = 16
    if r.random() < 0.3:
        base, link = 65536, ["-Wl,--stack-first"]
    else:
        base = r.choice([1024, 1024, 1, 3, 8, 100, 1000, 4097, 65536])
        link = ["-Wl,--no-stack-first", f"-Wl,--global-base={base}"]
    objects = []
    for i in range(r.randint(1, 10)):
        align = None if picks or r.random() < 0.6 else r.choice([1, 2, 4, 8, 16, 32, 64, 128])
        k = r.random()
        if k < 0.3:
            t, value = "cstring", "".join(r.choice(PIECES[:6] + [" ", "\n", '"', "\\", "?", "\x7f", "\x01"])
                                          for _ in range(r.choice([0, 1, 2, 5, 9, 15, 16, 20])))
        elif k < 0.4:
            t, value = "bytes", bytes(r.getrandbits(8) for _ in range(r.choice([1, 2, 3, 7, 16, 17])))
        else:
            s = r.choice(SCALARS)
            t, value = f"{s}[]", [random_scalar(r, s) for _ in range(r.choice([1, 1, 2, 3, 4, 5, 8, 9, 16]))]
        if picks:  # clang gives a global array of 16 bytes or more an alignment of 16
            size = (len(value.encode()) + 1 if t == "cstring" else len(value) if t == "bytes"
                    else len(value) * gen._SIZES[t[:-2]])
            align = 16 if size >= 16 and gen.natural_align(t) < 16 else None
        objects.append((f"g{i}", t, value, align))
    source = "\n".join(gen.c_global(*o, picks) for o in objects) + "\n"
    head = f"{' '.join(link)}\nobjects: {objects!r}"
    args = ["--target=wasm32", "-nostdlib", "-O0", "-Wl,--no-entry", "-Wl,--no-gc-sections", *link,
            *(f"-Wl,--export={o[0]}" for o in objects)]
    try:
        wasm = clang_build(source, args)
    except Exception as e:
        return False, f"{head}\nclang failed: {str(e)[-600:]}\nsource.c:\n{source}"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module.wasm")
        with open(path, "wb") as f:
            f.write(wasm)
        segments, named = read_module(path)
    # wasm-ld starts its data at --global-base rounded up to the largest alignment (README)
    most = max(o[3] or gen.natural_align(o[1]) for o in objects)
    base = -(-base // most) * most
    bad = []
    try:
        layout = build_layout(parse_spec({"abi": "c", "base": base,
                                          "object": [gen.spec_object(*o) for o in objects]}))
        image = bytearray(layout.end - layout.base)
        for offset, data in segments:
            lo, hi = max(offset, layout.base), min(offset + len(data), layout.end)
            if lo < hi:
                image[lo - layout.base:hi - layout.base] = data[lo - offset:hi - offset]
        if bytes(image) != layout.image():
            bad.append(f"image: {layout.image().hex()}\n  linker's: {bytes(image).hex()}")
        found = {o.name: o.address for o in layout.objects}
        if found != {o[0]: named[o[0]] for o in objects}:
            bad.append(f"addresses: {found}\n  linker's: {named}")
        if max(offset + len(data) for offset, data in segments) > layout.end:
            bad.append(f"the linker's data runs past the layout's end ({layout.end})")
    except Exception:
        bad.append(traceback.format_exc()[-1500:])
    return not bad, f"{head}\n" + "\n".join(bad) + f"\nsource.c:\n{source}"


# ---- add-data -----------------------------------------------------------------------------------
def _random_type(r: random.Random, depth: int, top: bool):
    k = r.random()
    if not top and k < 0.35:
        return ("scalar", r.choice(SCALARS))
    if k < 0.5:
        return ("string",)
    if top and k < 0.55:
        return ("ArrayBuffer",)
    if k < 0.65:
        return ("typed", r.choice(list(TYPED)))
    if depth >= 2:
        return ("string",) if top else ("scalar", r.choice(SCALARS))
    elem = _random_type(r, depth + 1, False)
    if elem[0] != "scalar" and r.random() < 0.3:
        elem = ("null", elem)
    return (r.choice(["Array", "StaticArray"]), elem)


def _bits(v: float, s: str) -> int:
    return struct.unpack("<I", struct.pack("<f", v))[0] if s == "f32" else struct.unpack("<Q", struct.pack("<d", v))[0]


def _serialized(v, t) -> str:
    """What the program's serializer prints for value v of type t."""
    if t[0] == "null":
        return "N" if v is None else _serialized(v, t[1])
    if t[0] == "string":
        units = utf16(v)
        return '"' + "".join(f"{u}." for u in struct.unpack(f"<{len(units) // 2}H", units))
    if t[0] == "ArrayBuffer":
        return "B" + "".join(f"{b}." for b in v)
    if t[0] == "scalar":
        s = t[1]
        return ("1" if v else "0") if s == "bool" else str(_bits(v, s)) if s in ("f32", "f64") else str(v)
    return "[" + "".join(_serialized(x, elem_of(t)) + "," for x in v) + "]"


class _Program:
    """An asc program that serializes values of each type and builds the given values at run time."""

    def __init__(self):
        self.functions, self.serializers, self.temps = [], {}, 0

    def serializer(self, t) -> str:
        key = type_name(t)
        if key not in self.serializers:
            name = self.serializers[key] = f"ser{len(self.serializers)}"
            if t[0] == "scalar":
                s = t[1]
                body = ('return x ? "1" : "0";' if s == "bool" else f"return reinterpret<u32>(x).toString();"
                        if s == "f32" else "return reinterpret<u64>(x).toString();" if s == "f64"
                        else "return x.toString();")
            elif t[0] == "string":
                body = 'let s = "\\""; for (let i = 0; i < x.length; i++) s += x.charCodeAt(i).toString() + "."; return s;'
            elif t[0] == "ArrayBuffer":
                body = ('let s = "B"; for (let i = 0; i < x.byteLength; i++) '
                        's += load<u8>(changetype<usize>(x) + <usize>i).toString() + "."; return s;')
            elif t[0] == "null":
                body = f'if (x === null) return "N"; return {self.serializer(t[1])}(x!);'
            else:
                body = (f'let s = "["; for (let i = 0; i < x.length; i++) s += {self.serializer(elem_of(t))}(x[i]) + ","; '
                        'return s + "]";')
            self.functions.append(f"function {name}(x: {key}): string {{ {body} }}")
        return self.serializers[key]

    def build(self, v, t, out: list) -> str:
        """An expression of value v (statements that make it appended to out)."""
        if t[0] == "null":
            return "null" if v is None else self.build(v, t[1], out)
        if t[0] == "string":
            return GEN_AS.ts_string(v)
        if t[0] == "scalar":
            s = t[1]
            if s == "bool":
                return "true" if v else "false"
            if s in ("f32", "f64"):
                return f"reinterpret<{s}>(<{'u32' if s == 'f32' else 'u64'}>{_bits(v, s)})"
            return f"<{s}>({v})"
        self.temps += 1
        var = f"v{self.temps}"
        if t[0] == "ArrayBuffer":
            out.append(f"const {var} = new ArrayBuffer({len(v)});")
            out += [f"store<u8>(changetype<usize>({var}) + {i}, {b});" for i, b in enumerate(v)]
        elif t[0] == "Array":
            out.append(f"const {var} = new {type_name(t)}(0);")
            for x in v:
                out.append(f"{var}.push({self.build(x, t[1], out)});")
        else:  # StaticArray, typed arrays
            out.append(f"const {var} = new {type_name(t)}({len(v)});")
            for i, x in enumerate(v):
                out.append(f"{var}[{i}] = {self.build(x, elem_of(t), out)};")
        return var


def _classes(t, found: dict) -> None:
    if t[0] == "null":
        _classes(t[1], found)
    elif t[0] in ("Array", "StaticArray", "typed"):
        found.setdefault(type_name(t))
        if t[0] != "typed":
            _classes(t[1], found)


def add_data_case(seed: int) -> tuple[bool, str]:
    from wasmem.host.instance import instantiate
    from wasmem.host.objects import read_string

    r = random.Random(seed)
    pool = []
    objects = []
    for _ in range(r.randint(1, 5)):
        t = _random_type(r, 0, True)
        objects.append((t, random_value(r, t, pool, i64_min=False)))
    program, lines, classes = _Program(), [], {}
    for k, (t, v) in enumerate(objects):
        name, statements = type_name(t), []
        made = program.build(v, t, statements)
        lines += [f"export function ser_{k}(p: usize): string {{ return {program.serializer(t)}(changetype<{name}>(p)); }}",
                  f"function build_{k}(): {name} {{ {' '.join(statements)} return {made}; }}",
                  # (kept in a global: a root for the GC, a reference held for reference counting)
                  f"let kept_{k}: {name} | null = null;",
                  f"export function make_{k}(): usize {{ kept_{k} = build_{k}(); return changetype<usize>(kept_{k}); }}"]
        if t[0] == "Array" and t[1][0] == "scalar":
            lines.append(f"export function push_{k}(p: usize): i32 {{ return changetype<{name}>(p).push(<{t[1][1]}>1); }}")
        _classes(t, classes)
    lines += [f"export function id_{i}(): u32 {{ return idof<{c}>(); }}" for i, c in enumerate(classes)]
    lines.append("export function churn(n: i32): i32 { let s = 0; for (let i = 0; i < n; i++) { "
                 "const a = new Array<string>(3); a[0] = i.toString(); s += a[0].length; } return s; }")
    source = "\n".join(program.functions + lines) + "\n"
    version = r.choice(["0.9.4", "0.17.14", "0.20.19", "0.28.20", "0.28.20"])  # each runtime generation
    below = r.random() < 0.3  # room below the data: the objects go there (in an optimized build too)
    flags = ["--memoryBase", "65536", *(["-O3"] if r.random() < 0.5 else [])] if below else []
    described = [(type_name(t), v) for t, v in objects]
    head = f"asc {version} {' '.join(flags)}\nobjects: {described!r}"
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "p.ts"), "w", encoding="utf-8") as f:
            f.write(source)
        numbers = tuple(map(int, version.split(".")))
        gc = numbers >= (0, 18, 0)  # the incremental GC (else reference counting)
        done = run([asc_path(version), "p.ts", "--outFile" if numbers >= (0, 20, 0) else "--binaryFile", "p.wasm",
                    *(["--exportRuntime"] if gc else []), *flags], cwd=tmp)
        if done.returncode != 0:
            return False, f"{head}\nasc failed: {(done.stdout + done.stderr)[-800:]}\nsource.ts:\n{source}"
        host = instantiate(open(os.path.join(tmp, "p.wasm"), "rb").read())
        ids = {c: host.call(f"id_{i}")[0] for i, c in enumerate(classes)}
        spec = {"ids": ids, "object": [
            {"name": f"o{k}", "type": "ArrayBuffer", "hex": v.hex()} if t[0] == "ArrayBuffer" else
            {"name": f"o{k}", "type": type_name(t), "value": spec_value(v)} for k, (t, v) in enumerate(objects)]}
        with open(os.path.join(tmp, "spec.json"), "w") as f:
            json.dump(spec, f)
        done = run([*WASMEM, "add-data", "p.wasm", "spec.json", "-o", "out.wasm", "--json"], cwd=tmp)
        if done.returncode != 0:
            return False, f"{head}\nadd-data exit {done.returncode}: {done.stderr[-800:]}\nsource.ts:\n{source}"
        static = {o["name"]: o["address"] for o in json.loads(done.stdout)["objects"]}
        try:
            host = instantiate(open(os.path.join(tmp, "out.wasm"), "rb").read())
            pinned = set()

            def pin(address):  # (the GC does not trace from appended objects)
                if gc and address not in pinned:
                    host.call("__pin", address)
                    pinned.add(address)

            runtime = {k: host.call(f"make_{k}")[0] & 0xFFFFFFFF for k in range(len(objects))}
            expected = {k: _serialized(v, t) for k, (t, v) in enumerate(objects)}

            def check(stage):
                for k, (t, v) in enumerate(objects):
                    for where, address in (("appended", static[f"o{k}"]), ("runtime-built", runtime[k])):
                        got = read_string(host.memory(), host.call(f"ser_{k}", address)[0] & 0xFFFFFFFF)
                        if got != expected[k]:
                            bad.append(f"{stage}: o{k} {where}: {got[:300]}\n  expected: {expected[k][:300]}")

            check("start")
            # Before 0.17.9 asc's runtime does not grow a static Array intact (its own literals
            # neither: push aborts in tlsf.ts or drops the elements, see Abi.grows_static_arrays
            # and the warning wasmem gives): there, no push.
            grows = tuple(map(int, version.split("."))) >= (0, 17, 9)
            for k, (t, v) in enumerate(objects):
                if grows and t[0] == "Array" and t[1][0] == "scalar":  # push moves the buffer to the heap
                    pin(static[f"o{k}"])
                    for where, address in (("appended", static[f"o{k}"]), ("runtime-built", runtime[k])):
                        if host.call(f"push_{k}", address)[0] != len(v) + 1:
                            bad.append(f"push o{k} {where}: wrong length")
                    expected[k] = _serialized(v + [True if t[1][1] == "bool" else 1], t)
            check("after push")
            collect = any(e.name == "__collect" for e in host.parsed.exports)  # (not exported by 0.17)
            for cycle in range(2):
                host.call("churn", 3000)
                if collect:
                    host.call("__collect")
                check(f"after GC cycle {cycle + 1}")
        except Exception:
            bad.append(traceback.format_exc()[-1500:])
    return not bad, f"{head}\n" + "\n".join(bad[:8]) + f"\nsource.ts:\n{source}"


# ---- import-memory -------------------------------------------------------------------------------
# asc's --runtime variants: before 0.18 (reference counting), and from 0.18 (the incremental GC)
RUNTIMES_RC, RUNTIMES_GC = ("full", "half", "stub", "none"), ("incremental", "minimal", "stub")
SEED_CODE = ("memory.grow(2);\nstore<u8>(0, 21);\nstore<u8>(1, 99);\n"
             "export function readMemory(n: i32): i32 { return load<u8>(n); }\n")


def _asc_build(version: str, folder: str, args: list[str]) -> bytes | str:
    """asc's module of folder/source.ts with ``args`` (GEN_AS.asc's flags), or its complaint."""
    out = os.path.join(folder, "module.wasm")
    if os.path.exists(out):
        os.remove(out)
    try:
        GEN_AS.asc(version, os.path.join(folder, "source.ts"), out, args)
    except SystemExit as e:
        return str(e)[-600:]
    return open(out, "rb").read()


def import_memory_case(seed: int) -> tuple[bool, str]:
    from wasmem.module import Module

    r = random.Random(seed)
    version = r.choice(GEN_AS.ALL)
    v = tuple(map(int, version.split(".")))
    pool, objects = [], []
    for i in range(r.randint(0, 6)):
        t = ("string",) if r.random() < 0.4 else (r.choice(["Array", "StaticArray"]),
                                                    r.choice([("scalar", r.choice(SCALARS)), ("string",)]))
        objects.append((f"o{i}", type_name(t), random_value(r, t, pool, i64_min=False)))
    text, _ = GEN_AS.source(objects, {"code": SEED_CODE if r.random() < 0.5 else ""})
    args = []
    if r.random() < 0.5:
        args.append(r.choice(["-O3", "-O1", "-Oz", "-O2"]))
    if r.random() < 0.25:
        args += ["--memoryBase", str(r.choice([0, 8, 1000, 1024, 4096, 65536, 70000]))]
    if r.random() < 0.2:
        args.append("--importTable")
    if r.random() < 0.3:
        args += ["--runtime", r.choice(RUNTIMES_GC if v >= (0, 18) else RUNTIMES_RC)]
    ours, theirs = [], ["--importMemory"]
    roll = r.random()
    maximum = r.randint(2, 12)
    if roll < 0.2:  # shared (which needs the threads feature in both builds)
        args += ["--enable", "threads"]
        ours += ["--shared", "--maximum", str(maximum)]
        theirs += ["--sharedMemory", str(maximum)] if v < (0, 16) else ["--sharedMemory", "--maximumMemory",
                                                                        str(maximum)]
    elif roll < 0.5 and v >= (0, 16):  # limits
        initial = r.randint(1, maximum)
        which = r.choice(["initial", "maximum", "both"])
        if which != "maximum":
            ours += ["--initial", str(initial)]
            theirs += ["--initialMemory", str(initial)]
        if which != "initial":
            ours += ["--maximum", str(maximum)]
            theirs += ["--maximumMemory", str(maximum)]
    optimized = any(a.startswith("-O") for a in args)
    head = f"asc {version} {' '.join(args)}; asc adds {' '.join(theirs)}; wasmem import-memory {' '.join(ours)}"
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "source.ts"), "w", encoding="utf-8") as f:
            f.write(text)
        plain = _asc_build(version, tmp, args)
        if isinstance(plain, str):
            return False, f"{head}\nasc failed on the plain build: {plain}\nsource.ts:\n{text}"
        plain_path, out = os.path.join(tmp, "plain.wasm"), os.path.join(tmp, "out.wasm")
        with open(plain_path, "wb") as f:
            f.write(plain)
        expected = _asc_build(version, tmp, args + theirs)
        if isinstance(expected, str):  # limits asc refuses (an initial size below its data): so must wasmem
            done = run([*WASMEM, "import-memory", plain_path, "-o", out, *ours])
            ok = done.returncode == 2 and not os.path.exists(out)
            return ok, (f"{head}\nasc refused the flags: {expected.strip().splitlines()[-1:]}\n"
                        f"wasmem: exit {done.returncode}: {done.stderr.strip()}\nsource.ts:\n{text}")
        done = run([*WASMEM, "import-memory", plain_path, "-o", out, *ours, *(["--zero-fill"] if optimized else [])])
        if done.returncode != 0:
            bad.append(f"wasmem import-memory: exit {done.returncode}: {done.stderr[-600:]}")
        else:
            got = open(out, "rb").read()
            valid = run([wasm_tools(), "validate", "--features", "all", out])
            if valid.returncode != 0:
                bad.append(f"the output does not validate: {valid.stderr[-600:]}")
            if not optimized:
                if got != expected:
                    bad.append(f"not asc's bytes ({len(got)} against {len(expected)}):\n"
                               f"    ours:  {run([wasm_tools(), 'print', out]).stdout[:3000]}")
                if ours:  # the same flags without --importMemory: set-memory with the same options
                    limited = _asc_build(version, tmp, args + theirs[1:])
                    if isinstance(limited, str):
                        bad.append(f"asc refused {' '.join(theirs[1:])} without --importMemory: {limited}")
                    else:
                        done = run([*WASMEM, "set-memory", plain_path, "-o", out, *ours])
                        if done.returncode != 0 or open(out, "rb").read() != limited:
                            bad.append(f"set-memory {' '.join(ours)} is not asc's {' '.join(theirs[1:])}: "
                                       f"{done.stderr[-600:]}")
                else:  # the inverse: define-memory of asc's --importMemory build is the plain build
                    back = os.path.join(tmp, "back.wasm")
                    with open(os.path.join(tmp, "expected.wasm"), "wb") as f:
                        f.write(expected)
                    done = run([*WASMEM, "define-memory", os.path.join(tmp, "expected.wasm"), "-o", back])
                    if done.returncode != 0 or open(back, "rb").read() != plain:
                        bad.append(f"define-memory of asc's build is not the plain build: {done.stderr[-600:]}")
            else:
                gm, em = Module.from_bytes(got), Module.from_bytes(expected)

                def image(m):
                    end = max((off + n for off, n, _ in m.view(11, create=True).spans(0)), default=0)
                    return m.read_static(0, end, 0).rstrip(b"\x00")

                if image(gm) != image(em):
                    bad.append("the memory image is not asc's")
                for key in ("imports", "memories"):
                    if gm.info()[key] != em.info()[key]:
                        bad.append(f"{key}: {gm.info()[key]}, asc's {em.info()[key]}")
    return not bad, f"{head}\n" + "\n".join(bad) + f"\nsource.ts:\n{text}"


# ---- c-import-memory ---------------------------------------------------------------------------
def _c_global(r: random.Random, i: int) -> str:
    """A C global of a random kind: initialized (.data) or zero-initialized (.bss)."""
    n = r.choice([1, 2, 3, 7, 16, 33])
    kind = r.choice(["string", "ints", "zero-ints", "zero-chars", "double", "zero-double", "bytes"])
    if kind == "string":
        text = "".join(r.choice("abcxyz ?!") for _ in range(r.choice([0, 1, 5, 15, 16, 40])))
        return f'char v{i}[] = "{text}";'
    if kind == "ints":  # (fewer initializers than elements: the rest are zeros, all in .data)
        values = [r.choice([0, 1, -1, r.randint(-2**31, 2**31 - 1)]) for _ in range(r.randint(1, n))]
        return f"int v{i}[{n}] = {{{', '.join(map(str, values))}}};"
    if kind == "zero-ints":
        return f"int v{i}[{n}];"
    if kind == "zero-chars":
        return f"unsigned char v{i}[{n}];"
    if kind == "double":
        return f"double v{i} = {r.uniform(-1e6, 1e6)!r};"
    if kind == "zero-double":
        return f"double v{i};"
    return f"unsigned char v{i}[{n}] = {{{', '.join(str(r.randint(0, 255)) for _ in range(n))}}};"


def c_import_memory_case(seed: int) -> tuple[bool, str]:
    from wasmem.host.instance import instantiate
    from wasmem.module import Module

    r = random.Random(seed)
    count = r.randint(1, 6)
    lines = [_c_global(r, i) for i in range(count)]
    for i in range(count):  # (external globals: clang cannot fold what another file might change)
        lines.append(f'__attribute__((export_name("h{i}"))) unsigned h{i}(void) {{ const unsigned char *p = '
                     f'(const unsigned char *)&v{i}; unsigned h = 2166136261u; for (unsigned k = 0; '
                     f'k < sizeof(v{i}); k++) h = (h ^ p[k]) * 16777619u; return h; }}')
        lines.append(f'__attribute__((export_name("s{i}"))) void s{i}(unsigned k, int x) {{ '
                     f'((unsigned char *)&v{i})[k % sizeof(v{i})] = x; }}')
    source = "\n".join(lines) + "\n"
    if r.random() < 0.3:
        link = ["-Wl,--stack-first"]
    else:
        link = ["-Wl,--no-stack-first", *([f"-Wl,--global-base={r.choice([1024, 4096, 65536, 70000])}"]
                                          if r.random() < 0.5 else [])]
    exported = r.random() < 0.6
    if exported:
        link += ["-Wl,--export=__data_end", "-Wl,--export=__heap_base"]
    args = ["--target=wasm32", "-nostdlib", r.choice(["-O0", "-O1", "-O2", "-Os"]), "-Wl,--no-entry", *link]
    head = " ".join(args)
    try:
        plain, expected = clang_build(source, args), clang_build(source, [*args, "-Wl,--import-memory"])
    except Exception as e:
        return False, f"{head}\nclang failed: {str(e)[-600:]}\nsource.c:\n{source}"
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        plain_path, out = os.path.join(tmp, "plain.wasm"), os.path.join(tmp, "out.wasm")
        with open(plain_path, "wb") as f:
            f.write(plain)
        done = run([*WASMEM, "import-memory", plain_path, "-o", out, "--zero-fill"])
        if done.returncode != 0:
            return False, f"{head}\nwasmem import-memory: exit {done.returncode}: {done.stderr[-600:]}\n{source}"
        valid = run([wasm_tools(), "validate", "--features", "all", out])
        if valid.returncode != 0:
            bad.append(f"the output does not validate: {valid.stderr[-600:]}")
        ours = open(out, "rb").read()
    # (the memory keeps its export, which wasm-ld's --import-memory build does not make)
    mine, theirs = (sorted((i.module, i.name, i.desc.limits) for i in Module.from_bytes(w).imports
                           if i.kind == "memory") for w in (ours, expected))
    if mine != theirs:
        bad.append(f"memory imports: {mine}, wasm-ld's {theirs}")
    # where the .bss is (wasm-ld names __stack_pointer) is known with __data_end and a data segment
    known = exported and len(Module.from_bytes(plain).data) > 0
    warned = "zero-initialized data (C's .bss)" in done.stderr
    if warned == known:
        bad.append(f"warned of an unknown .bss: {warned}, with __data_end exported: {exported}\n{done.stderr}")
    if known:  # over a dirty host memory, every global holds the same bytes in both
        try:
            a, b = instantiate(ours, dirty_memory=True), instantiate(expected, dirty_memory=True)
            for i in range(count):
                if a.call(f"h{i}") != b.call(f"h{i}"):
                    bad.append(f"v{i} differs from wasm-ld's: {lines[i]}")
        except Exception:
            bad.append(traceback.format_exc()[-1500:])
    return not bad, f"{head}\n" + "\n".join(bad) + f"\nsource.c:\n{source}"


KINDS = {"asc-layout": asc_layout_case, "c-layout": c_layout_case, "add-data": add_data_case,
         "import-memory": import_memory_case, "c-import-memory": c_import_memory_case}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=KINDS)
    p.add_argument("count", type=int, nargs="?", default=100, help="cases (default 100)")
    p.add_argument("--seed", type=int, default=1, help="first seed (default 1); case i uses seed + i")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("-v", "--verbose", action="store_true", help="print every case, its source too")
    a = p.parse_args(argv)
    seeds = range(a.seed, a.seed + a.count)
    failed = 0
    with ProcessPoolExecutor(a.jobs) as pool:
        for i, (seed, (ok, text)) in enumerate(zip(seeds, pool.map(KINDS[a.kind], seeds)), 1):
            if not ok:
                failed += 1
            if not ok or a.verbose:
                shown = text if a.verbose or len(text) < 6000 else text[:6000] + "\n..."
                print(f"== {a.kind} seed {seed}: {'ok' if ok else 'DIFFERS'}\n{shown}\n", flush=True)
            if i % 25 == 0:
                print(f"-- {i}/{a.count} cases, {failed} differ", file=sys.stderr, flush=True)
    print(f"{a.kind}: {a.count - failed} of {a.count} cases agree (seeds {a.seed}..{a.seed + a.count - 1})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

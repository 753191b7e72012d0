"""What ``wasmem read`` does: find the object at an address and decode it,
its type taken from its own header and the module's RTTI.

A header's rtId names a class; the RTTI flags of that class say whether it is
an Array, a StaticArray or a typed array and give its element's size, sign and
float-ness (assemblyscript-static-data.md 7). For a MANAGED element the flags
cannot tell a string from an array or a class, so every element is resolved
the same way, from its own header: ``Array<Array<string>>`` decodes without
being told. Ids 0..3 are the built-ins (string, ArrayBuffer, ...).

C data (the c abi, read_c) has no header: its type, and an array's count, are given.

Reading never trusts memory: every access is bounds-checked (objects.py), the
nesting depth is capped, and so is the total payload decoded (shared elements
are decoded once per reference, which a hostile memory could multiply).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..errors import LayoutError, UnsupportedError
from ..layout.rtti import Rtti, expected_flags
from ..layout.types import SCALARS, Ref, Scalar
from .instance import DEFAULT_TIMEOUT
from .objects import (MAX_DEPTH, ObjectHeader, ReadError, parse_type, read_checked, read_array, read_arraybuffer,
                      read_header, read_object, read_static_array, read_string, read_typed_array)

# Payload bytes one read may decode in total (repeated references count each time).
MAX_DECODED = 64 << 20

# (align log2, signed, float) -> element type, for VALUE_* flags.
_SCALAR_BY_BITS = {(s.align_log2, s.signed, s.float): s for s in SCALARS.values() if not s.is_bool}
# typed array name by its element type
_TYPED_BY_ELEM = {"i8": "Int8Array", "u8": "Uint8Array", "i16": "Int16Array", "u16": "Uint16Array",
                  "i32": "Int32Array", "u32": "Uint32Array", "i64": "Int64Array", "u64": "Uint64Array",
                  "f32": "Float32Array", "f64": "Float64Array"}


@dataclasses.dataclass
class ObjectRead:
    """One decoded object: ``value`` is str (string), bytes (ArrayBuffer) or a
    list (arrays; elements decoded, null -> None); ``notes`` say what was assumed."""

    address: int
    type: str
    rt_id: int | None  # (None: headerless C data)
    size: int  # payload bytes (the header's rtSize)
    value: Any
    notes: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        return {"address": self.address, "type": self.type, "rt_id": self.rt_id, "size": self.size,
                "value": json_value(self.value), "notes": list(self.notes)}


def json_value(v):
    """A decoded value as JSON: bytes as hex, NaN and infinities as strings."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, list):
        return [json_value(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a class id is, as far as its RTTI flags tell.

    ``kind``: string, ArrayBuffer, Array, StaticArray or typed; ``elem``: a
    Scalar, or None for a managed (reference) element; ``nullable``: the
    element may be null; ``alias``: another type with the same flags.
    """

    kind: str
    elem: Scalar | None = None
    nullable: bool = False
    typed_name: str | None = None
    alias: str | None = None


def shape_of(rt_id: int, abi, rtti: Rtti | None) -> Shape:
    """The Shape of class ``rt_id``: ReadError when the id is not in the
    RTTI, UnsupportedError when it is a class ``read`` cannot decode."""
    ids = abi.ids
    if rt_id == ids.string:
        return Shape("string")
    if rt_id == ids.array_buffer:
        return Shape("ArrayBuffer")
    if rtti is None:
        raise UnsupportedError(
            f"rtId {rt_id} is not a built-in class and the module has no RTTI table (__rtti_base) "
            "to say what it is: give --type (e.g. --type 'Array<i32>')")
    if rt_id >= rtti.count:
        raise ReadError(f"rtId {rt_id} is not a class of this module (its RTTI has {rtti.count}, "
                        f"ids 0..{rtti.count - 1})")
    flags = rtti.entries[rt_id].flags
    f = abi.flags
    what = f"rtId {rt_id} (flags {rtti.describe(flags)})"
    if rt_id < ids.count:  # no object is ever just an Object or an ArrayBufferView
        raise ReadError(f"{what} is the built-in {'Object' if rt_id == ids.object else 'ArrayBufferView'} base "
                        "class, which no object has as its own class")
    # 0.9.x Arrays carry ARRAYBUFFERVIEW too, so ARRAY is tested first.
    if flags & f.array:
        kind = "Array"
    elif f.staticarray and flags & f.staticarray:
        kind = "StaticArray"
    elif flags & f.arraybufferview:
        kind = "typed"
    else:
        raise UnsupportedError(f"{what} is a class read cannot decode by itself (it decodes strings, "
                               "ArrayBuffers, arrays and typed arrays); a StaticArray of asc 0.9 has no "
                               "flag of its own: give --type")
    align = next((n for n in range(5) if flags & (f.value_align0 << n)), None)
    if align is None:
        raise UnsupportedError(f"{what} has no element size in its flags: give --type")
    if flags & f.value_managed:
        if kind == "typed":
            raise UnsupportedError(f"{what}: a typed array of references is not a known class")
        return Shape(kind, None, bool(flags & f.value_nullable))
    elem = _SCALAR_BY_BITS.get((align, bool(flags & f.value_signed), bool(flags & f.value_float)))
    if elem is None:
        raise UnsupportedError(f"{what}: no element type has these value flags: give --type")
    alias = None
    if kind == "typed":
        name = _TYPED_BY_ELEM[elem.name]
        if name == "Uint8Array":
            alias = "Uint8ClampedArray"
        return Shape(kind, elem, typed_name=name, alias=alias)
    if elem.name == "u8":
        alias = f"{kind}<bool>"
    return Shape(kind, elem, alias=alias)


class _Reader:
    def __init__(self, mem, abi, rtti: Rtti | None):
        self.mem = mem
        self.abi = abi
        self.rtti = rtti
        self.notes: list[str] = []
        self.guesses: dict[int, str] = {}  # address -> why its element type is a guess
        self.budget = MAX_DECODED

    def header(self, address: int) -> ObjectHeader:
        h = read_header(self.mem, address, abi=self.abi)
        check_block(h, self.abi)
        self.spend(h.rt_size)
        return h

    def spend(self, size: int) -> None:
        self.budget -= size
        if self.budget < 0:
            raise UnsupportedError(f"more than {MAX_DECODED >> 20} MiB of payload to decode "
                                   "(elements shared many times?): read a smaller part by address")

    def spend_buffer(self, h: ObjectHeader) -> None:
        """Count the backing buffer of an Array or typed array (its first payload word)."""
        if h.rt_size < 4:
            return  # the reader itself rejects a payload this short
        buffer = int.from_bytes(self.mem.read(h.address, 4), "little")
        if buffer:
            self.spend(read_header(self.mem, buffer, abi=self.abi).rt_size)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def read(self, address: int, depth: int = 0) -> tuple[Any, str, ObjectHeader]:
        """(value, type name, header) of the object at ``address``."""
        if depth > MAX_DEPTH:
            raise ReadError(f"objects nested more than {MAX_DEPTH} deep at 0x{address:x} (a cycle?)", address)
        h = self.header(address)
        shape = shape_of(h.rt_id, self.abi, self.rtti)
        mem, abi = self.mem, self.abi
        if shape.kind == "string":
            return read_string(mem, address, abi=abi), "string", h
        if shape.kind == "ArrayBuffer":
            return read_arraybuffer(mem, address, abi=abi), "ArrayBuffer", h
        if shape.kind in ("typed", "Array"):
            self.spend_buffer(h)
        if shape.kind == "typed":
            if shape.alias:
                self.note(f"{shape.typed_name} and {shape.alias} have the same flags; read as {shape.typed_name}")
            return read_typed_array(mem, address, shape.typed_name, abi=abi), shape.typed_name, h
        reader = read_array if shape.kind == "Array" else read_static_array
        if shape.elem is not None:
            name = f"{shape.kind}<{shape.elem.name}>"
            if shape.alias:
                self.note(f"{name} and {shape.alias} have the same flags; read as {name} (--type {shape.alias!r} "
                          "for booleans)")
            return reader(mem, address, shape.elem.name, abi=abi, _depth=depth), name, h
        # References: each element says what it is through its own header.
        pointers = reader(mem, address, "u32", abi=abi, _depth=depth)
        values, known, guessed = [], [], []
        for i, ptr in enumerate(pointers):
            if ptr == 0:
                values.append(None)
                continue
            try:
                v, t, _ = self.read(ptr, depth + 1)
            except ReadError as e:
                raise ReadError(f"{shape.kind} at 0x{address:x}: element {i}: {e}", ptr) from e
            values.append(v)
            (guessed if ptr in self.guesses else known).append((t, ptr))
        if known:  # a sibling with elements tells the type; the empty ones' guesses are moot
            for _, ptr in guessed:
                self.guesses.pop(ptr, None)
            distinct = list(dict.fromkeys(t for t, _ in known))
            if len(distinct) > 1:
                self.note(f"{shape.kind} at 0x{address:x} holds elements of types {', '.join(distinct)}")
            elem = distinct[0]
        elif guessed:
            elem = guessed[0][0]
            self.guesses[address] = self.guesses.pop(guessed[0][1])
            for _, ptr in guessed[1:]:
                self.guesses.pop(ptr, None)
        else:
            elem = "string"
            self.guesses[address] = (f"{shape.kind} at 0x{address:x} has no non-null element to tell its "
                                     "element type; shown as string (give --type to say otherwise)")
        if shape.nullable or None in values:
            elem += " | null"
        return values, f"{shape.kind}<{elem}>", h


def check_block(h: ObjectHeader, abi) -> None:
    """In a padded header (asc 0.17.9+), mmInfo is the block size (plus TLSF's
    two flag bits) and must hold the header and the payload."""
    if getattr(abi, "padded", False) and (h.mm_info & ~3) < h.rt_size + h.header_size - 4:
        raise ReadError(f"object at 0x{h.address:x}: block size {h.mm_info & ~3} (mmInfo 0x{h.mm_info:x}) "
                        f"cannot hold its header and rtSize {h.rt_size}: not an object", h.address)


def read_at(mem, address: int, abi, rtti: Rtti | None = None, type_: str | None = None) -> ObjectRead:
    """Decode the object at payload ``address`` of ``mem``.

    ``abi`` is a layout Abi (header variant, built-in ids, flag bits);
    ``rtti`` the module's table (None: only built-in ids are known).
    ``type_`` overrides the type the header implies. Raises ReadError when
    no valid object is there, UnsupportedError when its type cannot be told.
    """
    if not 0 <= address <= 0xFFFFFFFF:
        raise ReadError(f"{address} is not a 32-bit address", address)
    if address % 16:
        raise ReadError(f"0x{address:x} is not 16-byte aligned, as every AssemblyScript object's payload is",
                        address)
    reader = _Reader(mem, abi, rtti)
    if type_ is None:
        value, name, h = reader.read(address)
        return ObjectRead(address, name, h.rt_id, h.rt_size, value, reader.notes + list(reader.guesses.values()))
    t = parse_type(type_)
    if not isinstance(t, Ref):
        raise ReadError(f"{t.name} is a value type, not an object")
    h = reader.header(address)
    mismatch = _id_mismatch(h.rt_id, t, abi, rtti)
    try:
        if t.kind in ("typed", "Array"):
            reader.spend_buffer(h)
        value = read_object(mem, address, t, abi=abi)
    except ReadError as e:
        if mismatch:
            raise ReadError(f"{mismatch.split(';')[0]}, and read as {t.name} it fails: {e}", address) from e
        raise
    return ObjectRead(address, t.name, h.rt_id, h.rt_size, value, [mismatch] if mismatch else [])


_CSTRING_CHUNK = 4096  # bytes read at a time looking for a C string's NUL


def parse_c_type(type_: str):
    """(CType, count or None) of a ``read --abi c`` type: ``cstring``, a scalar (``u32``), or
    ``T[N]`` / ``bytes[N]``, whose count must be given (C data has no header to hold it);
    LayoutError for anything else."""
    from ..layout.types import parse_ctype

    text = type_.strip()
    count = None
    if text.endswith("]") and "[" in text:
        head, _, n = text[:-1].rpartition("[")
        head, n = head.strip(), n.strip()
        if head == "cstring":
            raise LayoutError(f"{type_!r}: a cstring runs to its NUL; give cstring, or bytes[N] for N bytes")
        if not (n.isascii() and n.isdigit()):  # (str.isdigit alone takes "²", which int() refuses)
            raise LayoutError(f"{type_!r}: " + ("the count must be a number" if n else
                                                "C data has no header to give its length: give the count")
                              + f", as in {head}[4]")
        count = int(n)
        text = head if head == "bytes" else head + "[]"
    t = parse_ctype(text)
    if t.kind in ("array", "bytes") and count is None:
        raise LayoutError(f"{type_!r}: C data has no header to give its length: give the count, as in "
                          f"{'bytes' if t.kind == 'bytes' else t.elem.name}[4]")
    return t, count


def read_c(mem, address: int, type_: str) -> ObjectRead:
    """Decode headerless C data (the c abi) at ``address`` as ``type_`` (parse_c_type): a
    cstring is UTF-8 up to its NUL. ReadError where the memory does not hold that (no NUL
    before the end, not UTF-8, out of bounds)."""
    import struct

    t, count = parse_c_type(type_)
    if not 0 <= address <= 0xFFFFFFFF:
        raise ReadError(f"{address} is not a 32-bit address", address)
    if t.kind == "cstring":
        found, at = bytearray(), address
        end = min(mem.data_len(), address + MAX_DECODED)
        if address >= end:
            raise ReadError(f"0x{address:x} is outside the memory (size 0x{mem.data_len():x})", address)
        while True:
            if at >= end:
                where = ("to the end of the memory" if end == mem.data_len() else
                         f"in the {MAX_DECODED} bytes one read decodes")
                raise ReadError(f"no NUL from 0x{address:x} {where}: not a C string", address)
            chunk = read_checked(mem, at, min(_CSTRING_CHUNK, end - at), "cstring")
            nul = chunk.find(0)
            if nul >= 0:
                found += chunk[:nul]
                break
            found += chunk
            at += len(chunk)
        try:
            value = found.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ReadError(f"the C string at 0x{address:x} is not UTF-8 (byte {e.start}); read it as "
                            f"bytes[{len(found) + 1}]", address) from None
        return ObjectRead(address, "cstring", None, len(found) + 1, value)
    if t.kind == "bytes":
        if count > MAX_DECODED:
            raise ReadError(f"{count} bytes is more than one read decodes ({MAX_DECODED})", address)
        return ObjectRead(address, f"bytes[{count}]", None, count, read_checked(mem, address, count, f"bytes[{count}]"))
    elem = t.elem
    n = 1 if t.kind == "scalar" else count
    if n * elem.size > MAX_DECODED:
        raise ReadError(f"{n} elements of {elem.name} is more than one read decodes ({MAX_DECODED} bytes)", address)
    values = list(struct.unpack(f"<{n}{elem.fmt}", read_checked(mem, address, n * elem.size, type_)))
    if elem.is_bool:
        values = [bool(v) for v in values]
    if t.kind == "scalar":
        return ObjectRead(address, elem.name, None, elem.size, values[0])
    return ObjectRead(address, f"{elem.name}[{n}]", None, n * elem.size, values)


def _id_mismatch(rt_id: int, t: Ref, abi, rtti: Rtti | None) -> str | None:
    """A note when the header's rtId is not a class of type ``t``."""
    t = t.non_null()
    builtin = {abi.ids.string: "string", abi.ids.array_buffer: "ArrayBuffer"}
    if rt_id in builtin or t.kind in builtin.values():
        ok = builtin.get(rt_id) == t.kind
        own = builtin.get(rt_id, "class of its own")
        return None if ok else f"the header's rtId {rt_id} is a {own}, not {t.name}; read as {t.name} as asked"
    if rtti is None:
        return None
    if rt_id >= rtti.count:
        return f"the header's rtId {rt_id} is not in the module's RTTI; read as {t.name} as asked"
    try:
        e = expected_flags(t, abi)
    except LayoutError:
        return None
    x = rtti.entries[rt_id]
    if (x.flags & e.mask) == (e.flags & e.mask):
        return None
    return (f"the header's rtId {rt_id} (flags {rtti.describe(x.flags)}) is not {t.name}; "
            f"read as {t.name} as asked")


def target_address(host, target: str) -> tuple[int, str | None]:
    """(address, export name or None) for EXPORT or ADDRESS (decimal or 0x).

    An exported global of that name wins over reading the text as a number.
    """
    import wasmtime

    from ..errors import WasmError

    raw = host.exports.get(target)
    if raw is not None:
        if not isinstance(raw, wasmtime.Global):
            raise WasmError(f"export {target!r} is not a global holding an address")
        t = host.global_type(target)
        if t not in ("i32", "i64"):  # (asked of the module: wasmtime-py may abort on a v128 or GC type)
            from ..binary.types import type_name

            raise WasmError(f"export {target!r} is a global of type {type_name(t)}, not an address "
                            "(an i32, or an i64 for a memory64)")
        # an address is the value read as unsigned
        return raw.value(host.store) & (0xFFFFFFFF if t == "i32" else 0xFFFF_FFFF_FFFF_FFFF), target
    try:
        address = int(target, 0)
    except ValueError:
        pass
    else:
        if address < 0:  # (a usage error, where an address past the memory is "no object there")
            raise WasmError(f"{target} is not an address: addresses are not negative")
        return address, None
    names = sorted(n for n, x in host.exports.items() if isinstance(x, wasmtime.Global))
    raise WasmError(f"no exported global named {target!r} and not an address (decimal or 0x); "
                    f"exported globals: {', '.join(names) or 'none'}")


def module_abi(m, abi_name: str | None, as_version: str | None):
    """(Abi, Rtti or None) of a module: version from the argument, else inferred from its RTTI."""
    from ..layout import abi as abis
    from ..asc import module_rtti

    name = abi_name or "assemblyscript"
    version, rtti = module_rtti(m, name, as_version)
    abi = rtti.abi if rtti is not None else abis.for_version(version, name)
    return abi, rtti


def read_module_object(wasm_bytes: bytes, target: str, *, type_: str | None = None,
                       abi_name: str | None = None, as_version: str | None = None,
                       memory: int | str = 0, timeout: float | None = DEFAULT_TIMEOUT) -> ObjectRead:
    """Instantiate the module (stub imports, as ``validate``; its start function may run
    for ``timeout`` seconds, None: no limit) and decode the object at EXPORT (an exported
    i32 global) or ADDRESS in its memory (``abi_name="c"``: the C data ``type_`` says, read_c)."""
    from .instance import instantiate

    if abi_name == "c":
        if type_ is None:
            raise LayoutError("C data has no header to tell its type: give type_ (cstring, u32, i32[4]...)")
        host = instantiate(wasm_bytes, timeout=timeout)
        address, _ = target_address(host, target)
        return read_c(host.memory(memory), address, type_)
    host = instantiate(wasm_bytes, timeout=timeout)
    address, _ = target_address(host, target)
    # (after the address: a warning that the version is unknown is noise beside "no such export")
    abi, rtti = module_abi(host.parsed, abi_name, as_version)
    return read_at(host.memory(memory), address, abi, rtti, type_)

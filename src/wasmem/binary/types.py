"""Function signatures: the type section's function types and the function section.

The host needs what an exported function takes and returns before it asks wasmtime
to call it: wasmtime-py 50 *aborts the process* (a Rust panic, "support for v128 is
not implemented") when asked the kind of a v128 or GC reference value type, and it
asks for the kind of every parameter it converts. So the types come from the module's
own bytes, read here.

The type section is read in full generality (GC's recursion groups and subtypes,
struct, array and continuation types, custom descriptors, shared types), since a
function type's index counts every type before it.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import DecodeError, UnsupportedError
from .code import RefType, read_valtype, read_valtypes
from .entries import read_payload, vector_end
from .leb import read_count, read_u32
from .opcodes import HEAPTYPE_BYTES
from .valtypes import VALTYPE_BYTES

_REC, _SUB, _SUB_FINAL = 0x4E, 0x50, 0x4F
_DESCRIPTOR, _DESCRIBES, _SHARED = 0x4C, 0x4D, 0x65
_FUNC, _STRUCT, _ARRAY, _CONT = 0x60, 0x5F, 0x5E, 0x5D
_PACKED = (0x78, 0x77)  # i8, i16: struct and array fields only


class Signature(NamedTuple):
    """A function type: its parameter and result types, each a name (``i32``, ``v128``,
    ``funcref``...) or a code.RefType."""

    params: tuple
    results: tuple

    def __str__(self) -> str:
        return f"[{' '.join(map(type_name, self.params))}] -> [{' '.join(map(type_name, self.results))}]"


def type_name(t) -> str:
    """A value type as the text format (and ``wasm-tools print``) writes it: ``i32``,
    ``funcref`` for (ref null func), ``(ref null 3)``, ``(ref any)``."""
    if isinstance(t, RefType):
        if t.nullable and isinstance(t.heap, str):
            return _SHORTHANDS[t.heap]
        return f"(ref {'null ' if t.nullable else ''}{t.heap})"
    return t


# (ref null ht) of an abstract heap type has a one-word name: the byte's own name
_SHORTHANDS = {name: VALTYPE_BYTES[code] for code, name in HEAPTYPE_BYTES.items()}


def global_valtype(vt):
    """A global's value type as entries.read_valtype gives it (a byte, or (0x63/0x64, s33
    heap type)), as a name or RefType."""
    if isinstance(vt, tuple):
        code, heap = vt
        # (an abstract heap type is one byte, read as a negative s33)
        return RefType(code == 0x63, HEAPTYPE_BYTES.get(heap + 0x80, "?") if heap < 0 else heap)
    return VALTYPE_BYTES[vt]


def _field(buf, pos: int) -> int:
    if buf[pos] in _PACKED:
        pos += 1
    else:
        _, pos = read_valtype(buf, pos)
    if buf[pos] > 1:
        raise DecodeError(f"malformed mutability 0x{buf[pos]:02x}", pos)
    return pos + 1


def _comptype(buf, pos: int) -> tuple[Signature | None, int]:
    while True:  # prefixes: custom descriptors' (a type index each), shared-everything's
        b = buf[pos]
        if b == _DESCRIPTOR or b == _DESCRIBES:
            _, pos = read_u32(buf, pos + 1)
        elif b == _SHARED:
            pos += 1
        else:
            break
    form = buf[pos]
    pos += 1
    if form == _FUNC:
        params, pos = read_valtypes(buf, pos)
        results, pos = read_valtypes(buf, pos)
        return Signature(params, results), pos
    if form == _STRUCT:
        n, pos = read_count(buf, pos, 2)
        for _ in range(n):
            pos = _field(buf, pos)
        return None, pos
    if form == _ARRAY:
        return None, _field(buf, pos)
    if form == _CONT:
        _, pos = read_u32(buf, pos)
        return None, pos
    raise UnsupportedError(f"type form 0x{form:02x} is not one this tool reads", pos - 1)


def _subtype(buf, pos: int) -> tuple[Signature | None, int]:
    if buf[pos] in (_SUB, _SUB_FINAL):
        n, pos = read_count(buf, pos + 1, 1)
        for _ in range(n):
            _, pos = read_u32(buf, pos)
    return _comptype(buf, pos)


def read_types(payload, base: int = 0) -> list[Signature | None]:
    """Each type index's Signature (None for a struct, array or continuation type)."""
    return read_payload(_read_types, payload, base, "type")


def _read_types(buf) -> list[Signature | None]:
    out: list[Signature | None] = []
    n, pos = read_count(buf, 0, 1)
    for _ in range(n):
        if buf[pos] == _REC:
            m, pos = read_count(buf, pos + 1, 1)
        else:
            m = 1
        for _ in range(m):
            sig, pos = _subtype(buf, pos)
            out.append(sig)
    vector_end(buf, pos, n, "type")
    return out


def read_function_types(payload, base: int = 0) -> list[int]:
    """The function section: the type index of each defined function."""
    return read_payload(_read_function_types, payload, base, "function")


def _read_function_types(buf) -> list[int]:
    n, pos = read_count(buf, 0, 1)
    out = []
    for _ in range(n):
        t, pos = read_u32(buf, pos)
        out.append(t)
    vector_end(buf, pos, n, "function")
    return out


def function_signatures(module) -> list[Signature | None]:
    """The Signature of each function in ``module``'s function index space (imports
    first); None where the type index is not a function type (an invalid module)."""
    sec = module.section(1)
    types = read_types(sec.payload, sec.offset) if sec is not None else []
    sec = module.section(3)
    defined = read_function_types(sec.payload, sec.offset) if sec is not None else []
    indices = [i.desc for i in module.imports if i.kind == "func"] + defined
    return [types[t] if t < len(types) else None for t in indices]

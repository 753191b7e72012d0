"""The value types a static layout understands, and how scalars are packed.

One parser for every type spelling (``Array<i32>``, ``i32[]``, ``string | null``,
``Int32Array``, the C abi's ``cstring``/``bytes``/``T[]``), one place that
checks and packs scalar values, and the records a layout hands out.
"""

from __future__ import annotations

import math
import struct
from collections import namedtuple

from ..errors import LayoutError


class BadValue(LayoutError):
    """A value does not fit its type; ``path`` says where inside the object."""

    def __init__(self, message: str, *, path: str = "", value=None):
        super().__init__(message)
        self.message = message
        self.path = None  # the CLI's file attribution, kept apart from the element path
        self.where = path
        self.value = value


class Scalar:
    """A machine value type: its size, struct format character and range."""

    __slots__ = ("name", "size", "fmt", "signed", "float", "is_bool", "align_log2", "lo", "hi")

    def __init__(self, name: str, size: int, fmt: str, signed: bool = False, float: bool = False,
                 is_bool: bool = False):
        self.name, self.size, self.fmt = name, size, fmt
        self.signed, self.float, self.is_bool = signed, float, is_bool
        self.align_log2 = size.bit_length() - 1
        self.lo = -(1 << (size * 8 - 1)) if signed else 0
        self.hi = (1 << (size * 8 - (1 if signed else 0))) - 1

    def __repr__(self) -> str:
        return f"Scalar({self.name})"

    def check(self, value, where: str = ""):
        """The value to pack, or BadValue saying why it does not fit."""
        if self.is_bool:
            if type(value) is bool:
                return value
            raise BadValue(f"{_show(value)} is not a bool (true or false)", path=where, value=value)
        if self.float:
            if type(value) is float or type(value) is int:
                v = float(value)
            elif isinstance(value, str) and value.strip().lower() in _FLOAT_WORDS:
                v = _FLOAT_WORDS[value.strip().lower()]
            else:
                raise BadValue(f"{_show(value)} is not a number ({self.name})", path=where, value=value)
            if self.size == 4 and math.isfinite(v) and abs(v) > _F32_MAX:
                try:  # (rounded to the nearest f32, as struct packs it: past FLT_MAX by under half a step is FLT_MAX)
                    _F32.pack(v)
                except OverflowError:
                    raise BadValue(f"{_show(value)} is out of the range of f32", path=where, value=value) from None
            return v
        if type(value) is not int:
            raise BadValue(f"{_show(value)} is not an integer ({self.name})", path=where, value=value)
        if not self.lo <= value <= self.hi:
            raise BadValue(f"{_show(value)} does not fit {self.name} ({self.lo}..{self.hi})",
                           path=where, value=value)
        return value

    def pack(self, values, where: str = "") -> bytes:
        """Little-endian bytes of ``values``; BadValue names the first element that does not fit."""
        n = len(values)
        # Fast path: struct checks ranges itself; the type test (C-speed set of types) keeps
        # bools out of integer arrays (True is an int in Python) and ints out of bool arrays.
        kinds = set(map(type, values))
        if kinds <= (_BOOL_KINDS if self.is_bool else _FLOAT_KINDS if self.float else _INT_KINDS):
            try:
                return struct.pack(f"<{n}{self.fmt}", *values)
            except (struct.error, OverflowError):
                pass
        checked = [self.check(v, f"{where}[{i}]") for i, v in enumerate(values)]
        return struct.pack(f"<{n}{self.fmt}", *checked)


_BOOL_KINDS, _INT_KINDS, _FLOAT_KINDS = {bool}, {int}, {int, float}
_F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
_F32 = struct.Struct("<f")
_FLOAT_WORDS = {"nan": math.nan, "+nan": math.nan, "-nan": -math.nan, "inf": math.inf, "+inf": math.inf,
                "-inf": -math.inf, "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}

SCALARS = {s.name: s for s in (
    Scalar("bool", 1, "?", is_bool=True),
    Scalar("i8", 1, "b", signed=True), Scalar("u8", 1, "B"),
    Scalar("i16", 2, "h", signed=True), Scalar("u16", 2, "H"),
    Scalar("i32", 4, "i", signed=True), Scalar("u32", 4, "I"),
    Scalar("i64", 8, "q", signed=True), Scalar("u64", 8, "Q"),
    Scalar("f32", 4, "f", signed=True, float=True), Scalar("f64", 8, "d", signed=True, float=True),
)}
# isize and usize: on wasm32 packed as i32 and u32, but types of their own to asc, whose
# Array<isize> and Array<i32> are two classes with two runtime ids (asc 0.9-0.28).
SCALAR_ALIASES = {"isize": Scalar("isize", 4, "i", signed=True), "usize": Scalar("usize", 4, "I")}


def scalar(name: str) -> Scalar | None:
    """The scalar type spelled ``name`` (i32, usize...), or None."""
    return SCALARS.get(name) or SCALAR_ALIASES.get(name)

TYPED_ARRAYS = {
    "Int8Array": "i8", "Uint8Array": "u8", "Uint8ClampedArray": "u8", "Int16Array": "i16",
    "Uint16Array": "u16", "Int32Array": "i32", "Uint32Array": "u32", "Int64Array": "i64",
    "Uint64Array": "u64", "Float32Array": "f32", "Float64Array": "f64",
}


class _ByName:
    """A type that is its canonical spelling (``name``): equal, hashed and shown by it."""

    __slots__ = ()

    def __eq__(self, other) -> bool:
        return other.__class__ is self.__class__ and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.name!r})"


class Ref(_ByName):
    """A managed reference type: ``kind`` is string, ArrayBuffer, Array, StaticArray or typed."""

    __slots__ = ("kind", "elem", "nullable", "typed_name", "name")

    def __init__(self, kind: str, elem: "Scalar | Ref | None" = None, nullable: bool = False,
                 typed_name: str | None = None):
        self.kind, self.elem, self.nullable, self.typed_name = kind, elem, nullable, typed_name
        if kind in ("string", "ArrayBuffer"):
            name = kind
        elif kind == "typed":
            name = typed_name
        else:
            name = f"{kind}<{elem.name}>"
        self.name = name + " | null" if nullable else name  # the canonical spelling, a dict key

    def non_null(self) -> "Ref":
        return Ref(self.kind, self.elem, False, self.typed_name) if self.nullable else self


STRING = Ref("string")  # one instance: the builder's bulk path tests identity


class CType(_ByName):
    """A headerless C-abi type: cstring, bytes, a scalar, or an array of scalars."""

    __slots__ = ("kind", "elem", "name", "align")

    def __init__(self, kind: str, elem: Scalar | None = None):
        self.kind, self.elem = kind, elem  # kind: "cstring" | "bytes" | "scalar" | "array"
        self.name = elem.name if kind == "scalar" else f"{elem.name}[]" if kind == "array" else kind
        self.align = elem.size if elem else 1


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def show_value(value) -> str:
    return _show(value)


def parse_type(text: str):
    """Parse an AssemblyScript type spelling into a Scalar or Ref; LayoutError if unknown."""
    if not isinstance(text, str):
        raise LayoutError(f"type must be a string, not {_show(text)}")
    parser = _Parser(text)
    t = parser.union()
    if parser.pos != len(parser.text):
        parser.fail()
    return t


def parse_ctype(text: str) -> CType:
    if not isinstance(text, str):
        raise LayoutError(f"type must be a string, not {_show(text)}")
    t = text.strip()
    if t in ("cstring", "bytes"):
        return CType(t)
    if t.endswith("[]"):
        elem = scalar(t[:-2].strip())
        if elem is not None:
            return CType("array", elem)
    elif (elem := scalar(t)) is not None:
        return CType("scalar", elem)
    raise LayoutError(f"unknown type {text!r} for the c abi "
                      "(cstring, bytes, a scalar such as u32, or an array such as f64[])")


class _Parser:
    """Recursive descent over ``T | null``, ``Array<T>``, ``StaticArray<T>`` and ``T[]``."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self):
        raise LayoutError(
            f"unknown type {self.text!r}: expected string, ArrayBuffer, a typed array (Int32Array...), "
            "Array<T>, StaticArray<T> or T[] with T one of bool i8 u8 i16 u16 i32 u32 i64 u64 isize usize f32 f64 "
            "string or a nested array, optionally `| null` for references")

    def skip(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def word(self) -> str:
        self.skip()
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        return self.text[start:self.pos]

    def eat(self, s: str) -> bool:
        self.skip()
        if self.text.startswith(s, self.pos):
            self.pos += len(s)
            return True
        return False

    def union(self):
        if self.eat("("):
            t = self.union()
            if not self.eat(")"):
                self.fail()
        else:
            t = self.primary()
        while True:
            if self.eat("[]"):
                t = Ref("Array", t)
            elif self.eat("|"):
                if self.word() != "null" or not isinstance(t, Ref):
                    self.fail()  # only references can be null
                t = Ref(t.kind, t.elem, True, t.typed_name)
            else:
                self.skip()
                return t

    def primary(self):
        w = self.word()
        if w in ("Array", "StaticArray"):
            if not self.eat("<"):
                self.fail()
            elem = self.union()
            if not self.eat(">"):
                self.fail()
            return Ref(w, elem)
        if w in ("string", "String"):
            return STRING
        if w == "ArrayBuffer":
            return Ref("ArrayBuffer")
        if w in TYPED_ARRAYS:
            return Ref("typed", SCALARS[TYPED_ARRAYS[w]], typed_name=w)
        t = scalar(w)
        if t is None:
            self.fail()
        return t


class Block:
    """One object in memory: its header fields and where its bytes are."""

    __slots__ = ("address", "block", "mm_info", "gc_info", "rt_id", "size", "type", "label", "value",
                 "seg_size")

    def __init__(self, address, block, mm_info, gc_info, rt_id, size, type, label, value, seg_size):
        self.address = address      # payload address: the pointer the program holds
        self.block = block          # where the object's segment starts
        self.mm_info = mm_info      # None for headerless data
        self.gc_info = gc_info
        self.rt_id = rt_id
        self.size = size            # payload bytes (rtSize)
        self.type = type            # type name
        self.label = label          # name of the object (or parent[index] / parent.buffer)
        self.value = value          # the source value, for previews
        self.seg_size = seg_size    # bytes of the segment (header + payload + padding)


class LaidObject(namedtuple("LaidObject", "name type address block size rt_id")):
    """A named object a caller asked for (what add-data exports): its name, type name, payload
    address, block start, payload size (rtSize) and runtime id (None for headerless data)."""

    __slots__ = ()


# The keys of a layout report's records (StaticLayout.report, CLayout.report): an object's
# are a LaidObject's fields; a segment is a block's start and size.
REPORT_OBJECT_KEYS = LaidObject._fields
REPORT_SEGMENT_KEYS = ("offset", "size")

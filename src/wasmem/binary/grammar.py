"""The grammar of the section entries this project models, in construct.

Every rule of the binary format that wasmem decodes or encodes is written here
once, as a module-level construct built from small named primitives; the same
definition parses and builds. Flags that change the layout (limits flags, data
segment flags) are branched on inside the grammar. ``decode`` is the one
chokepoint that turns construct's errors into :class:`DecodeError` with an
absolute offset.

Hot vectors (data segments) also have a hand-written reader in ``fast.py``;
``tests/test_grammar_fast.py`` proves the two equal.
"""

from __future__ import annotations

import io

from construct import Byte, Computed, Construct, ConstructError, Container, If, Struct, Switch, this
from construct import stream_read as _stream_read

from ..errors import DecodeError
from . import leb
from .valtypes import KIND_CODES, KINDS, VALTYPE_BYTES

# -- primitives ---------------------------------------------------------------


class _Leb(Construct):
    """A LEB128 integer with wasm's limits; errors carry the stream offset."""

    def __init__(self, reader, encoder, what):
        super().__init__()
        self._reader = reader
        self._encoder = encoder
        self._what = what

    def _parse(self, stream, context, path):
        start = stream.tell()
        buf = bytearray()
        while True:
            b = stream.read(1)
            if not b:
                raise DecodeError(f"unexpected end of input while reading {self._what}", stream.tell())
            buf += b
            if b[0] < 0x80 or len(buf) >= 10:
                break
        try:
            value, _ = self._reader(buf, 0)
        except DecodeError as e:
            raise DecodeError(e.message, start + (e.offset or 0)) from None
        return value

    def _build(self, obj, stream, context, path):
        stream.write(self._encoder(obj))
        return obj


VarU32 = _Leb(leb.read_u32, leb.encode_u, "u32 LEB128")
VarU64 = _Leb(leb.read_u64, leb.encode_u, "u64 LEB128")
VarS32 = _Leb(leb.read_s32, leb.encode_s, "s32 LEB128")
VarS33 = _Leb(leb.read_s33, leb.encode_s, "s33 LEB128")
VarS64 = _Leb(leb.read_s64, leb.encode_s, "s64 LEB128")


class _Name(Construct):
    """name ::= vec(byte) holding valid UTF-8."""

    def _parse(self, stream, context, path):
        start = stream.tell()
        n = VarU32._parse(stream, context, path)
        data = stream.read(n)
        if len(data) != n:
            raise DecodeError(f"unexpected end of input: name of {n} bytes runs past the end", start)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError("malformed UTF-8 encoding", start + (stream.tell() - start - n) + e.start) from None

    def _build(self, obj, stream, context, path):
        data = obj.encode("utf-8")
        stream.write(leb.encode_u(len(data)))
        stream.write(data)
        return obj


Name = _Name()


class _Vec(Construct):
    """vec(X) whose count is checked against the bytes left before anything is allocated."""

    def __init__(self, subcon, min_item_size=1):
        super().__init__()
        self.subcon = subcon
        self.min_item_size = min_item_size

    def _parse(self, stream, context, path):
        at = stream.tell()
        count = VarU32._parse(stream, context, path)
        left = _remaining(stream)
        if count * self.min_item_size > left:
            raise DecodeError(f"count {count} is larger than the {left} remaining bytes could hold", at)
        return [self.subcon._parsereport(stream, context, path) for _ in range(count)]

    def _build(self, obj, stream, context, path):
        stream.write(leb.encode_u(len(obj)))
        for item in obj:
            self.subcon._build(item, stream, context, path)
        return obj


def _remaining(stream) -> int:
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end - here


class _Bytes(Construct):
    """vec(byte), returned as bytes."""

    def _parse(self, stream, context, path):
        at = stream.tell()
        n = VarU32._parse(stream, context, path)
        if n > _remaining(stream):
            raise DecodeError(f"unexpected end of input: {n} bytes declared, {_remaining(stream)} remain", at)
        return stream.read(n)

    def _build(self, obj, stream, context, path):
        stream.write(leb.encode_u(len(obj)))
        stream.write(bytes(obj))
        return obj


ByteVec = _Bytes()

# -- types ----------------------------------------------------------------------

# Value types. Reference types with a heap type (0x63 ref null ht, 0x64 ref ht)
# carry an s33 heap type; everything else is one byte, kept as a number so that
# an unknown type passes through.
class _ValType(Construct):
    def _parse(self, stream, context, path):
        at = stream.tell()
        b = _stream_read(stream, 1, path)[0]
        if b in (0x63, 0x64):
            ht = VarS33._parse(stream, context, path)
            return (b, ht)
        if b not in VALTYPES:
            raise DecodeError(f"malformed value type 0x{b:02x}", at)
        return b

    def _build(self, obj, stream, context, path):
        if isinstance(obj, tuple):
            stream.write(bytes((obj[0],)) + leb.encode_s(obj[1]))
        else:
            stream.write(bytes((obj,)))
        return obj


VALTYPES = VALTYPE_BYTES
ValType = _ValType()


class _Flag(Construct):
    """A byte that must be 0 or 1 (global mutability)."""

    def __init__(self, what):
        super().__init__()
        self.what = what

    def _parse(self, stream, context, path):
        at = stream.tell()
        b = _stream_read(stream, 1, path)[0]
        if b > 1:
            raise DecodeError(f"malformed {self.what} 0x{b:02x}", at)
        return bool(b)

    def _build(self, obj, stream, context, path):
        stream.write(b"\x01" if obj else b"\x00")
        return obj


# limits flags: bit 0 max present, bit 1 shared, bit 2 64-bit, bit 3 custom page size
LIMITS_MAX, LIMITS_SHARED, LIMITS_64, LIMITS_PAGE = 1, 2, 4, 8


class _LimitsFlags(Construct):
    def __init__(self, allowed, what):
        super().__init__()
        self.allowed = allowed
        self.what = what

    def _parse(self, stream, context, path):
        at = stream.tell()
        flags = _stream_read(stream, 1, path)[0]  # a byte, not a LEB
        if flags & ~self.allowed:
            raise DecodeError(f"malformed {self.what} limits flags 0x{flags:02x}", at)
        return flags

    def _build(self, obj, stream, context, path):
        stream.write(bytes((obj,)))
        return obj


class _PageSizeLog2(Construct):
    """custom-page-sizes: 2**log2 must fit a u64 (that log2 is 0 or 16 is validation)."""

    def _parse(self, stream, context, path):
        at = stream.tell()
        page = VarU32._parse(stream, context, path)
        if page >= 64:
            raise DecodeError(f"invalid custom page size 2**{page}", at)
        return page

    def _build(self, obj, stream, context, path):
        stream.write(leb.encode_u(obj))
        return obj


def _limits(allowed, what):
    # Wasm 3.0 reads both bounds as u64 whatever the address type; that a
    # 32-bit memory stays within 65536 pages is a validation rule, not syntax.
    return Struct(
        "flags" / _LimitsFlags(allowed, what),
        "min" / VarU64,
        "max" / If(this.flags & LIMITS_MAX, VarU64),
        "page_size_log2" / If(this.flags & LIMITS_PAGE, _PageSizeLog2()),
    )


MemType = _limits(LIMITS_MAX | LIMITS_SHARED | LIMITS_64 | LIMITS_PAGE, "memory")
TableLimits = _limits(LIMITS_MAX | LIMITS_SHARED | LIMITS_64, "table")
TableType = Struct("elem" / ValType, "limits" / TableLimits)
GlobalType = Struct("valtype" / ValType, "mutable" / _Flag("mutability"))
TagType = Struct("attribute" / Byte, "type" / VarU32)


class _ConstExpr(Construct):
    """A constant expression, kept as raw bytes including its final ``end``.

    The instructions allowed in constant expressions (core, extended-const, GC)
    are stepped over here; anything else (an *invalid* module may hold any
    instruction there, and that is not a decoding error) goes to the full
    instruction decoder of ``code.py``, which stops at the matching ``end``.
    """

    def _parse(self, stream, context, path):
        start = stream.tell()
        while True:
            at = stream.tell()
            raw = stream.read(1)
            if not raw:
                raise DecodeError("unexpected end of input in constant expression", at)
            op = raw[0]
            if op == 0x0B:
                break
            imm = CONST_IMMEDIATES.get(op)
            if op == 0xFB or op == 0xFD:
                imm = (CONST_GC if op == 0xFB else CONST_SIMD).get(VarU32._parse(stream, context, path))
            if imm is None:
                stream.seek(at)
                _skip_general_expr(stream)
                break
            for kind in imm:
                if kind == "bytes4":
                    _stream_read(stream, 4, path)
                elif kind == "bytes8":
                    _stream_read(stream, 8, path)
                elif kind == "bytes16":
                    _stream_read(stream, 16, path)
                else:
                    kind._parse(stream, context, path)
        end = stream.tell()
        stream.seek(start)
        return stream.read(end - start)

    def _build(self, obj, stream, context, path):
        stream.write(bytes(obj))
        return obj


def _skip_general_expr(stream) -> None:
    """Step over instructions up to the ``end`` closing the expression."""
    from .code import iter_instructions
    from .opcodes import BLOCK_OPENERS

    at = stream.tell()
    data = stream.getvalue()
    depth = 0
    for ins in iter_instructions(data, 0, at):
        name = ins.name
        if name in BLOCK_OPENERS:
            depth += 1
        elif name == "end":
            if depth == 0:
                stream.seek(ins.end)
                return
            depth -= 1
    raise DecodeError("unexpected end of input in constant expression", len(data))


CONST_IMMEDIATES = {
    0x41: (VarS32,),  # i32.const
    0x42: (VarS64,),  # i64.const
    0x43: ("bytes4",),  # f32.const
    0x44: ("bytes8",),  # f64.const
    0x23: (VarU32,),  # global.get
    0xD0: (VarS33,),  # ref.null heaptype
    0xD2: (VarU32,),  # ref.func
    0x6A: (), 0x6B: (), 0x6C: (),  # i32.add/sub/mul (extended const)
    0x7C: (), 0x7D: (), 0x7E: (),  # i64.add/sub/mul
}
CONST_SIMD = {12: ("bytes16",)}  # v128.const
CONST_GC = {
    0: (VarU32,), 1: (VarU32,),  # struct.new, struct.new_default
    6: (VarU32,), 7: (VarU32,), 8: (VarU32, VarU32),  # array.new, array.new_default, array.new_fixed
    0x1A: (), 0x1B: (), 0x1C: (),  # any.convert_extern, extern.convert_any, ref.i31
}
ConstExpr = _ConstExpr()

# -- section entries ----------------------------------------------------------

IMPORT_KINDS = KINDS


class _Kind(Construct):
    def __init__(self, what):
        super().__init__()
        self.what = what

    def _parse(self, stream, context, path):
        at = stream.tell()
        b = _stream_read(stream, 1, path)[0]
        if b not in IMPORT_KINDS:
            raise DecodeError(f"malformed {self.what} kind 0x{b:02x}", at)
        return IMPORT_KINDS[b]

    def _build(self, obj, stream, context, path):
        stream.write(bytes((KIND_CODES[obj],)))
        return obj


Import = Struct(
    "module" / Name,
    "name" / Name,
    "kind" / _Kind("import"),
    "desc" / Switch(
        this.kind,
        {"func": VarU32, "table": TableType, "memory": MemType, "global": GlobalType, "tag": TagType},
    ),
)

Export = Struct("name" / Name, "kind" / _Kind("export"), "index" / VarU32)

Global = Struct("type" / GlobalType, "init" / ConstExpr)


class _DataFlags(Construct):
    def _parse(self, stream, context, path):
        at = stream.tell()
        flags = VarU32._parse(stream, context, path)
        if flags > 2:
            raise DecodeError(f"malformed data segment flags {flags} (expected 0, 1 or 2)", at)
        return flags

    def _build(self, obj, stream, context, path):
        stream.write(leb.encode_u(obj))
        return obj


DataSegment = Struct(
    "flags" / _DataFlags(),
    "memory" / Switch(this.flags, {2: VarU32}, default=Computed(0)),
    "offset_expr" / If(this.flags != 1, ConstExpr),
    "data" / ByteVec,
)

# -- the name section -------------------------------------------------------------

NameAssoc = Struct("index" / VarU32, "name" / Name)
NameMap = _Vec(NameAssoc, 2)
IndirectNameAssoc = Struct("index" / VarU32, "names" / NameMap)
IndirectNameMap = _Vec(IndirectNameAssoc, 2)
# subsection id -> grammar; unknown ids are kept raw by the view
NAME_SUBSECTIONS = {
    0: ("module", Name),
    1: ("function", NameMap),
    2: ("local", IndirectNameMap),
    3: ("label", IndirectNameMap),
    4: ("type", NameMap),
    5: ("table", NameMap),
    6: ("memory", NameMap),
    7: ("global", NameMap),
    8: ("elem", NameMap),
    9: ("data", NameMap),
    10: ("field", IndirectNameMap),
    11: ("tag", NameMap),
}

# -- the chokepoint -------------------------------------------------------------


class Reader:
    """Parses entries one after the other from a payload, with absolute offsets."""

    def __init__(self, payload, base: int):
        self.stream = io.BytesIO(bytes(payload))
        self.base = base
        self.size = len(payload)

    def tell(self) -> int:
        return self.base + self.stream.tell()

    def at_end(self) -> bool:
        return self.stream.tell() >= self.size

    def parse(self, con: Construct):
        start = self.stream.tell()
        try:
            return con._parsereport(self.stream, _context(self.stream, parsing=True), "(parsing)")
        except DecodeError as e:
            raise DecodeError(e.message, self.base + (e.offset if e.offset is not None else start)) from None
        except ConstructError as e:
            raise DecodeError(
                f"unexpected end of input or malformed entry ({type(e).__name__})", self.base + self.stream.tell()
            ) from e

    def count(self, min_item_size: int = 1) -> int:
        """A vector's count, rejected at once if the remaining bytes cannot hold it."""
        at = self.tell()
        n = self.parse(VarU32)
        left = self.size - self.stream.tell()
        if n * min_item_size > left:
            raise DecodeError(f"count {n} is larger than the {left} remaining bytes could hold", at)
        return n

    def raw_since(self, start_abs: int) -> bytes:
        return self.stream.getvalue()[start_abs - self.base : self.stream.tell()]

    def expect_end(self, what: str) -> None:
        if not self.at_end():
            raise DecodeError(
                f"section size mismatch: {self.size - self.stream.tell()} bytes left over after the {what}",
                self.tell(),
            )


def _context(stream, parsing: bool) -> Container:
    return Container(_io=stream, _params=Container(), _root=None, _parsing=parsing, _building=not parsing,
                     _sizing=False)


def build(con: Construct, obj) -> bytes:
    stream = io.BytesIO()
    con._build(obj, stream, _context(stream, parsing=False), "(building)")
    return stream.getvalue()


def parse_bytes(con: Construct, data, base: int = 0):
    r = Reader(data, base)
    value = r.parse(con)
    return value

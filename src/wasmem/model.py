"""The typed entries of the sections wasmem models.

Plain objects for things with identity (Memory, Import, Global, DataSegment),
immutable values (Limits). Each entry remembers the exact bytes it
was decoded from (``_raw``); changing any encoded field drops them, so an
unchanged entry is written back byte for byte and a changed one is re-encoded
canonically by the grammar. Entries refer to each other by object (a memory
import's ``desc`` *is* the Memory); indices are assigned at write time.
"""

from __future__ import annotations

from .binary import entries as E
from .binary.leb import encode_s, read_s32, read_s64
from .errors import DecodeError


# Constructors set their fields with this, past Entry.__setattr__: a new entry has nothing
# to forget, and the hook costs a Python call per field (add-data makes 220,000 entries
# for 110,000 objects).
_set = object.__setattr__


class Entry:
    """Base of mutable entries: setting an encoded field forgets the raw bytes."""

    __slots__ = ("_raw",)
    _NOT_ENCODED: frozenset = frozenset()

    def __setattr__(self, name, value):
        if name != "_raw" and name not in self._NOT_ENCODED:
            object.__setattr__(self, "_raw", None)
        object.__setattr__(self, name, value)

    def encode(self) -> bytes:
        raw = self._raw
        if raw is not None:
            return raw
        return self._encode()

    def _encode(self) -> bytes:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def changed(self) -> bool:
        return self._raw is None


class Limits:
    """A memory's limits: a value (immutable, compared by fields).

    A plain class rather than a dataclass: ``dataclasses`` costs ~15 ms of
    start-up, a tenth of ``wasmem info``."""

    __slots__ = ("min", "max", "shared", "memory64", "page_size_log2")
    _FIELDS = __slots__

    def __init__(self, min: int, max: int | None = None, shared: bool = False, memory64: bool = False,
                 page_size_log2: int | None = None):
        s = object.__setattr__
        s(self, "min", min)
        s(self, "max", max)
        s(self, "shared", shared)
        s(self, "memory64", memory64)
        s(self, "page_size_log2", page_size_log2)

    def __setattr__(self, name, value):
        raise AttributeError("Limits is immutable: use .replace(...)")

    def _key(self) -> tuple:
        return tuple(getattr(self, f) for f in self._FIELDS)

    def __eq__(self, other):
        return isinstance(other, Limits) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "Limits(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self._FIELDS) + ")"

    def replace(self, **changes) -> "Limits":
        return Limits(**{f: changes.get(f, getattr(self, f)) for f in self._FIELDS})

    @property
    def flags(self) -> int:
        return (
            (E.LIMITS_MAX if self.max is not None else 0)
            | (E.LIMITS_SHARED if self.shared else 0)
            | (E.LIMITS_64 if self.memory64 else 0)
            | (E.LIMITS_PAGE if self.page_size_log2 is not None else 0)
        )

    @property
    def page_size(self) -> int:
        return 1 << (16 if self.page_size_log2 is None else self.page_size_log2)

    @classmethod
    def from_tuple(cls, t) -> "Limits":
        """From entries.read_limits' (flags, min, max, page_size_log2)."""
        flags, lo, hi, page = t
        return cls(lo, hi, bool(flags & E.LIMITS_SHARED), bool(flags & E.LIMITS_64), page)

    def encode(self) -> bytes:
        return E.encode_limits(self.flags, self.min, self.max, self.page_size_log2)


class Memory(Entry):
    """A memory of the module, defined (``import_`` None) or imported."""

    __slots__ = ("limits", "import_")
    _NOT_ENCODED = frozenset(("import_",))

    def __init__(self, limits: Limits, _raw: bytes | None = None):
        _set(self, "limits", limits)
        _set(self, "import_", None)
        _set(self, "_raw", _raw)

    @property
    def imported(self) -> bool:
        return self.import_ is not None

    def _encode(self) -> bytes:
        return self.limits.encode()

    def __repr__(self):
        return f"Memory({self.limits!r}, imported={self.imported})"


class Global(Entry):
    """A global: its type, and for defined globals the raw init expression."""

    __slots__ = ("valtype", "mutable", "init", "import_", "_type_raw")
    _NOT_ENCODED = frozenset(("import_", "_type_raw"))

    def __init__(self, valtype, mutable: bool, init: bytes | None = None, _raw=None, _type_raw=None):
        _set(self, "valtype", valtype)
        _set(self, "mutable", mutable)
        _set(self, "init", init)
        _set(self, "import_", None)
        _set(self, "_type_raw", _type_raw)
        _set(self, "_raw", _raw)

    @property
    def init_value(self) -> int | None:
        """The constant when ``init`` is a single i32.const/i64.const, else None."""
        return const_value(self.init)

    def set_init_value(self, value: int) -> None:
        """Replace a constant initializer, keeping its opcode (i32 or i64)."""
        op = self.init[0] if self.init else (0x42 if self.valtype == 0x7E else 0x41)
        self.init = const_expr(value, op)

    def encode_type(self) -> bytes:
        if self._raw is not None and self._type_raw is not None:
            return self._type_raw
        return E.encode_globaltype(self.valtype, self.mutable)

    def _encode(self) -> bytes:
        return E.encode_globaltype(self.valtype, self.mutable) + bytes(self.init)

    def __repr__(self):
        return f"Global(valtype={self.valtype!r}, mutable={self.mutable}, init_value={self.init_value})"


class Import(Entry):
    """An import. ``desc`` is a type index (func), a Memory, a Global, or a raw
    container (table, tag)."""

    __slots__ = ("module", "name", "kind", "desc", "_group")
    _NOT_ENCODED = frozenset(("_group",))

    def __init__(self, module: str, name: str, kind: str, desc, _raw=None):
        _set(self, "module", module)
        _set(self, "name", name)
        _set(self, "kind", kind)
        _set(self, "desc", desc)
        if isinstance(desc, (Memory, Global)):
            desc.import_ = self
        _set(self, "_raw", _raw)
        _set(self, "_group", None)  # (views.ImportGroup: the compact group it was read from)

    @property
    def changed(self) -> bool:
        # a changed memory or global type under an unchanged import changes the import
        return self._raw is None or (isinstance(self.desc, Entry) and self.desc.changed)

    def encode(self) -> bytes:
        return self._encode() if self.changed else self._raw

    def _encode(self) -> bytes:
        head = E.encode_import_head(self.module, self.name, self.kind)
        d = self.desc
        if isinstance(d, Memory):
            return head + d.encode()
        if isinstance(d, Global):
            return head + d.encode_type()
        if self.kind == "func":
            return head + E.encode_u(d)
        return head + bytes(d)  # table and tag types are kept as their bytes

    def __repr__(self):
        return f"Import({self.module!r}, {self.name!r}, {self.kind!r})"


class Export(Entry):
    __slots__ = ("name", "kind", "index")

    def __init__(self, name: str, kind: str, index: int, _raw=None):
        _set(self, "name", name)
        _set(self, "kind", kind)
        _set(self, "index", index)
        _set(self, "_raw", _raw)

    def _encode(self) -> bytes:
        return E.encode_export(self.name, self.kind, self.index)

    def __repr__(self):
        return f"Export({self.name!r}, {self.kind!r}, {self.index})"


class DataSegment(Entry):
    """A data segment. ``memory`` is an index in the memory space; ``offset``
    the address its offset expression gives, when that is a constant (unsigned:
    ``address_value``; None if not a constant or passive)."""

    __slots__ = ("mode", "memory", "offset_expr", "data", "flags", "file_offset", "_const")
    _NOT_ENCODED = frozenset(("file_offset", "_const"))

    def __init__(self, mode: str, memory: int, offset_expr: bytes | None, data, flags: int | None = None,
                 _raw=None, file_offset: int | None = None):
        _set(self, "mode", mode)
        _set(self, "memory", memory)
        _set(self, "offset_expr", offset_expr)
        _set(self, "_const", address_value(offset_expr))
        _set(self, "data", data)
        _set(self, "flags", flags)
        _set(self, "file_offset", file_offset)
        _set(self, "_raw", _raw)

    @classmethod
    def decoded(cls, flags, memory, offset_expr, data, const, raw, file_offset) -> "DataSegment":
        """Fast constructor for the data view (the constant already decoded)."""
        self = object.__new__(cls)
        _set(self, "mode", "passive" if flags == 1 else "active")
        _set(self, "memory", memory)
        _set(self, "offset_expr", offset_expr)
        _set(self, "data", data)
        _set(self, "flags", flags)
        _set(self, "file_offset", file_offset)
        _set(self, "_const", const)
        _set(self, "_raw", raw)
        return self

    def __setattr__(self, name, value):
        if name == "offset_expr":
            object.__setattr__(self, "_const", address_value(value))
        super().__setattr__(name, value)

    @property
    def offset(self) -> int | None:
        return self._const if self.mode == "active" else None

    @offset.setter
    def offset(self, value: int) -> None:
        op = self.offset_expr[0] if self.offset_expr else 0x41
        self.offset_expr = const_expr(value, op if op in (0x41, 0x42) else 0x41)

    @property
    def size(self) -> int:
        return len(self.data)

    def _encode(self) -> bytes:
        if self.mode == "passive":
            flags = 1
        elif self.memory != 0 or self.flags == 2:
            flags = 2
        else:
            flags = 0
        return E.encode_data_segment(flags, self.memory, self.offset_expr, self.data)

    def __repr__(self):
        return f"DataSegment({self.mode}, memory={self.memory}, offset={self.offset}, size={self.size})"


def const_value(expr) -> int | None:
    """Value of a constant expression that is exactly ``i32.const N end`` or ``i64.const N end``."""
    if not expr or expr[-1] != 0x0B:
        return None
    n = len(expr) - 2  # the immediate's bytes
    if expr[0] == 0x41 and 0 < n <= 4:
        # The usual address or size, without the reader's loop (symbols look at every global
        # of a module with 110,000 of them): 1-4 LEB bytes always fit an i32.
        v = int.from_bytes(expr[1:-1], "little")
        if v & _LEB_BITS[n] != _LEB_BITS[n - 1]:  # continuation bits: on in every byte but the last
            return None
        v = v & 0x7F | v >> 1 & 0x3F80 | v >> 2 & 0x1FC000 | v >> 3 & 0xFE00000
        return v - (1 << 7 * n) if v >> (7 * n - 1) else v
    if expr[0] not in (0x41, 0x42):
        return None
    try:
        value, p = (read_s32 if expr[0] == 0x41 else read_s64)(expr, 1)
    except DecodeError:  # too long, or bits past the integer's width
        return None
    if p != len(expr) - 1:
        return None
    return value


_LEB_BITS = tuple(int.from_bytes(b"\x80" * n, "little") for n in range(5))  # the continuation bits of n bytes
_BITS = {0x41: 32, 0x42: 64}


def address_value(expr) -> int | None:
    """The address a constant offset expression gives: its i32.const or i64.const value
    read as unsigned, as a memory reads it (``i32.const -16`` is 0xFFFFFFF0)."""
    v = const_value(expr)
    return None if v is None else v & ((1 << _BITS[expr[0]]) - 1)


def const_expr(value: int, op: int = 0x41) -> bytes:
    """``i32.const value end`` (or i64 with op 0x42); an address past the signed range is
    written as the negative number of its bits (0xFFFFFFF0 as -16)."""
    bits = _BITS[op]
    if value >= 1 << (bits - 1):
        value -= 1 << bits
    return bytes((op,)) + encode_s(value) + b"\x0b"

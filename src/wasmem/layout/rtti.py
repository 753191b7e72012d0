"""Reading asc's RTTI table and matching requested types to runtime class ids.

The table (assemblyscript-static-data.md section 7) is at ``__rtti_base``:
``count:u32`` then one entry per id, ``{flags:u32, base:u32}`` up to 0.22 and
``flags:u32`` from 0.23. Ids are assigned per compilation, so the only way to
know which id a module gave ``Array<i32>`` is to compute the flags asc gives that
class and look for them. Flags collide for some pairs (Array<u8> / Array<bool>,
Array<string> / Array<Foo>...): then we refuse to guess and say how to choose.
"""

from __future__ import annotations

import struct
from collections import namedtuple

from ..errors import LayoutError
from .abi import Abi
from .types import Ref, Scalar

# No module has anywhere near this many classes; a larger count is not a table.
MAX_RTTI_COUNT = 1 << 16


class Expected(namedtuple("Expected", "flags base mask")):
    """The entry asc writes for a class: flags, base id (8-byte format only, else None) and the
    mask of the bits that are compared."""

    __slots__ = ()


def value_flags(elem, abi: Abi) -> int:
    """The VALUE_* bits asc sets for an element type (builtins.ts compileRTTI)."""
    f = abi.flags
    if isinstance(elem, Scalar):
        bits = f.value_align0 << elem.align_log2
        if elem.signed:  # floats count as signed too
            bits |= f.value_signed
        if elem.float:
            bits |= f.value_float
        return bits
    bits = (f.value_align0 << 2) | f.value_managed  # a wasm32 reference: 4 bytes
    if elem.nullable:
        bits |= f.value_nullable
    return bits


def expected_flags(t: Ref, abi: Abi) -> Expected:
    """The RTTI entry asc writes for class ``t`` (Array, StaticArray or a typed array)."""
    f = abi.flags
    v09 = abi.version < (0, 10, 0)
    legacy = abi.version < (0, 18, 0)
    managed_elem = isinstance(t.elem, Ref)
    base = None if abi.rtti_entry_size == 4 else 0
    mask = 0xFFFFFFFF
    if t.kind == "typed":
        flags = f.arraybufferview | value_flags(t.elem, abi)
        if legacy:
            flags |= f.pointerfree  # ACYCLIC
        if base is not None:
            base = abi.ids.array_buffer_view
    elif t.kind == "Array":
        flags = f.array | value_flags(t.elem, abi)
        if v09:  # in 0.9.x Array extends ArrayBufferView
            flags |= f.arraybufferview
            base = abi.ids.array_buffer_view
        if legacy:
            flags |= f.pointerfree
    elif t.kind == "StaticArray":
        if v09:  # 0.9.x: no STATICARRAY bit and no value bits, just ACYCLIC
            flags = f.pointerfree
        else:
            flags = f.staticarray | value_flags(t.elem, abi)
            if legacy or not managed_elem:  # no managed pointers inside: POINTERFREE (ACYCLIC <0.18)
                flags |= f.pointerfree
    else:
        raise LayoutError(f"{t.name} has a built-in id; it is not looked up in the RTTI")
    if legacy and managed_elem and t.elem.non_null().kind != "string":
        # ACYCLIC of a class holding other containers depends on asc's cycle analysis of
        # the whole program, which we do not redo. Arrays of arrays were ACYCLIC in every
        # fixture (0.10-0.17), which is what ``flags`` says; the match ignores the bit.
        mask &= ~f.pointerfree
    return Expected(flags, base, mask)


class RttiEntry(namedtuple("RttiEntry", "id flags base")):
    __slots__ = ()  # base is None in the 4-byte format (0.23+)


class Rtti:
    """The RTTI table of one module, for one Abi (which fixes the entry format)."""

    def __init__(self, entries: list[RttiEntry], abi: Abi, address: int | None = None):
        self.entries = entries
        self.abi = abi
        self.address = address

    @property
    def count(self) -> int:
        return len(self.entries)

    @classmethod
    def from_bytes(cls, data: bytes, abi: Abi, address: int | None = None) -> "Rtti":
        """Parse a table that starts with its count field."""
        if len(data) < 4:
            raise LayoutError("RTTI table is truncated: no count field")
        (count,) = struct.unpack_from("<I", data)
        cls._check_count(count, address)
        size = abi.rtti_entry_size
        need = 4 + size * count
        if len(data) < need:
            raise LayoutError(f"RTTI table is truncated: {count} entries need {need} bytes, have {len(data)}")
        if size == 8:
            words = struct.unpack_from(f"<{2 * count}I", data, 4)
            entries = [RttiEntry(i, words[2 * i], words[2 * i + 1]) for i in range(count)]
        else:
            words = struct.unpack_from(f"<{count}I", data, 4)
            entries = [RttiEntry(i, w, None) for i, w in enumerate(words)]
        return cls(entries, abi, address)

    @classmethod
    def read(cls, read, rtti_base: int, abi: Abi) -> "Rtti":
        """Read the table through ``read(address, size) -> bytes`` (a module's static image)."""
        head = read(rtti_base, 4)
        (count,) = struct.unpack("<I", head)
        cls._check_count(count, rtti_base)
        return cls.from_bytes(read(rtti_base, 4 + abi.rtti_entry_size * count), abi, rtti_base)

    @staticmethod
    def _check_count(count: int, address: int | None):
        where = f" at {address}" if address is not None else ""
        if count > MAX_RTTI_COUNT:
            raise LayoutError(f"RTTI table{where} claims {count} classes; that is not an RTTI table")
        if count < 3:
            raise LayoutError(f"RTTI table{where} has {count} entries, fewer than asc's built-in classes")

    def describe(self, flags: int) -> str:
        return f"0x{flags:x} {self.abi.flags.names(flags, self.abi.acyclic_bit_name)}"

    def candidates(self, t: Ref) -> list[int]:
        """Ids whose entry matches what asc writes for ``t`` (built-in ids excluded)."""
        e = expected_flags(t, self.abi)
        first = self.abi.ids.count
        return [x.id for x in self.entries[first:]
                if (x.flags & e.mask) == (e.flags & e.mask) and (e.base is None or x.base == e.base)]

    def resolve(self, t: Ref) -> int:
        """The one id of class ``t``; LayoutError naming the ids found when there is not exactly one."""
        t = t.non_null()
        found = self.candidates(t)
        if len(found) == 1:
            return found[0]
        e = expected_flags(t, self.abi)
        want = self.describe(e.flags)
        how = (f"pass the id explicitly: `id = N` on the object, or `ids = {{\"{t.name}\" = N}}` "
               "in the spec (idof<T>() in the program gives N)")
        if not found:
            raise LayoutError(f"no runtime id for {t.name} in the module's RTTI ({self.count} classes): "
                              f"none has the flags {want}; the program never uses that class, so it "
                              f"has no id; {how}")
        listed = ", ".join(f"{i} ({self.describe(self.entries[i].flags)})" for i in found)
        raise LayoutError(f"ambiguous runtime id for {t.name}: ids {listed} all match its flags; {how}")

    def check_id(self, rt_id: int, what: str):
        if rt_id >= self.count:
            raise LayoutError(f"runtime id {rt_id} for {what} is not in the module's RTTI "
                              f"({self.count} classes, ids 0..{self.count - 1})")

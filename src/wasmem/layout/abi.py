"""AssemblyScript's object header variants, built-in ids and RTTI formats, by asc version.

Every fact here is from assemblyscript-static-data.md (sections 1, 2, 3 and 7),
checked against asc 0.9.4 - 0.28.20. This is the one place that knows which asc
release uses which header, so the builder and the RTTI reader only ask an Abi.
"""

from __future__ import annotations

import struct
import warnings
from collections import namedtuple

from ..errors import LayoutError, WasmWarning

NEWEST_VERIFIED = (0, 28, 20)
OLDEST_SUPPORTED = (0, 9, 0)
# "0.17" means its newest patch; 0.17 is the only minor whose patches differ in layout.
NEWEST_PATCH = {9: 4, 10: 2, 16: 1, 17: 14, 20: 19, 23: 1, 28: 20}

ABI_NAMES = ("assemblyscript", "assemblyscript-legacy", "c")
DEFAULT_START = 8  # asc's unoptimized start: the first 8 bytes stay free so that 0 is null


class FlagBits(namedtuple("FlagBits", "arraybufferview array staticarray set map pointerfree value_align0 "
                                       "value_signed value_float value_nullable value_managed")):
    """RTTI flag bits (std/assembly/shared/typeinfo.ts); 0.9.x numbers them one lower from SET up.

    ``staticarray`` is 0 where the version has no such bit (0.9.x); ``pointerfree`` is
    ACYCLIC up to 0.17 and POINTERFREE from 0.18 (the same bit).
    """

    __slots__ = ()

    def names(self, flags: int, acyclic: bool) -> str:
        parts = []
        for label, bit in (("ARRAYBUFFERVIEW", self.arraybufferview), ("ARRAY", self.array),
                           ("STATICARRAY", self.staticarray), ("SET", self.set), ("MAP", self.map),
                           ("ACYCLIC" if acyclic else "POINTERFREE", self.pointerfree)):
            if bit and flags & bit:
                parts.append(label)
        for n in range(5):
            if flags & (self.value_align0 << n):
                parts.append(f"VALUE_ALIGN_{n}")
        for label, bit in (("VALUE_SIGNED", self.value_signed), ("VALUE_FLOAT", self.value_float),
                           ("VALUE_NULLABLE", self.value_nullable), ("VALUE_MANAGED", self.value_managed)):
            if flags & bit:
                parts.append(label)
        if flags >> (self.value_managed.bit_length()):
            parts.append("KEY_...")
        return "|".join(parts) or "0"


FLAGS_10 = FlagBits(1, 2, 4, 8, 16, 32, 1 << 6, 1 << 11, 1 << 12, 1 << 13, 1 << 14)
FLAGS_09 = FlagBits(1, 2, 0, 4, 8, 16, 1 << 5, 1 << 10, 1 << 11, 1 << 12, 1 << 13)


class BuiltinIds(namedtuple("BuiltinIds", "object array_buffer string array_buffer_view")):
    __slots__ = ()

    @property
    def count(self) -> int:  # ids below this are built-ins
        return self.array_buffer_view + 1


class Abi:
    """One header variant of one asc version range."""

    __slots__ = ("version", "header_size", "gc_info", "padded", "ids", "rtti_entry_size", "flags")
    name = "assemblyscript"

    def __init__(self, version: tuple[int, int, int], header_size: int, gc_info: int, padded: bool,
                 ids: BuiltinIds, rtti_entry_size: int, flags: FlagBits):
        self.version = version
        self.header_size = header_size          # 16 (0.9-0.16) or 20
        self.gc_info = gc_info                  # 1 (RC = 1) up to 0.17.x, 0 from 0.18
        self.padded = padded                    # mmInfo = block size; the segment covers the padded block
        self.ids = ids
        self.rtti_entry_size = rtti_entry_size  # 8 (flags, base) up to 0.22, 4 (flags) from 0.23
        self.flags = flags

    def __repr__(self) -> str:
        return f"Abi({self.version_text}, header {self.header_size}, gcInfo {self.gc_info})"

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def acyclic_bit_name(self) -> bool:
        return self.version < (0, 18, 0)

    @property
    def grows_static_arrays(self) -> bool:
        """Whether the runtime grows a static Array's buffer intact (``push`` past its length).
        Before 0.17.9 a static block's mmInfo is its payload size, which TLSF's realloc takes for
        a heap block's: the tag bits of a size that is odd or 2 mod 4 make it abort in tlsf.ts or
        drop the elements (asc's own literals too: measured on 0.9.4 and 0.16.1; on 0.17.1 every
        push dropped them, whatever the size)."""
        return self.padded

    @property
    def block_round(self) -> tuple[int, int]:
        """(add, sub): block start = ((cursor + add) & ~15) - sub.

        16-byte header: the block is 16-aligned. 20-byte header: the payload
        (block + 20) is 16-aligned (program.ts computeBlockStart).
        """
        return (15, 0) if self.header_size == 16 else (19, 4)

    def block_start(self, cursor: int) -> int:
        add, sub = self.block_round
        return ((cursor + add) & ~15) - sub

    def mm_info(self, size: int) -> int:
        if not self.padded:
            return size
        return ((size + 16 + 4 + 15) & ~15) - 4  # computeBlockSize: 4 + mmInfo = align16(size + 20)

    def segment_size(self, size: int) -> int:
        return 4 + self.mm_info(size) if self.padded else self.header_size + size

    def header(self, size: int, rt_id: int) -> bytes:
        if self.header_size == 16:
            return _H16.pack(size, self.gc_info, rt_id, size)
        return _H20.pack(self.mm_info(size), self.gc_info, 0, rt_id, size)

    def sized(self, size: int, rt_id: int) -> tuple[int, int, bytes]:
        """(mmInfo, segment size, header bytes) of a ``size``-byte object: what does not depend on
        where it goes. The builder caches this per size."""
        return self.mm_info(size), self.segment_size(size), self.header(size, rt_id)


_H16 = struct.Struct("<4I")
_H20 = struct.Struct("<5I")


def parse_version(text) -> tuple[int, int, int]:
    """'0.28.20' -> (0, 28, 20); '0.17' -> its newest patch; LayoutError on anything else."""
    if isinstance(text, tuple):
        return text
    parts = str(text).strip().lstrip("v").split(".")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) == 2:
        nums.append(NEWEST_PATCH.get(nums[1], 0) if nums[0] == 0 else 0)
    if len(nums) != 3 or min(nums) < 0:
        raise LayoutError(f"bad asc version {text!r}: expected MAJOR.MINOR[.PATCH], e.g. 0.28.20 or 0.17")
    return tuple(nums)


def for_version(version=None, abi: str = "assemblyscript") -> Abi:
    """The Abi of an asc version (default: the newest verified, or 0.16.1 for the legacy abi)."""
    if abi not in ("assemblyscript", "assemblyscript-legacy"):
        raise LayoutError(f"unknown abi {abi!r}: expected one of {', '.join(ABI_NAMES)}")
    if version is None:
        v = (0, 16, 1) if abi == "assemblyscript-legacy" else NEWEST_VERIFIED
    else:
        v = parse_version(version)
    if v < OLDEST_SUPPORTED:
        raise LayoutError(f"asc {'.'.join(map(str, v))} is older than 0.9.0, whose layout is not modelled")
    if abi == "assemblyscript-legacy" and v >= (0, 17, 0):
        raise LayoutError(f"the assemblyscript-legacy abi is the 16-byte header of asc 0.9-0.16, "
                          f"not {'.'.join(map(str, v))}; use --abi assemblyscript")
    if v[:2] > NEWEST_VERIFIED[:2]:
        warnings.warn(f"asc {'.'.join(map(str, v))} is newer than the newest verified release "
                      f"({'.'.join(map(str, NEWEST_VERIFIED))}); using its layout", WasmWarning, stacklevel=2)
    old_ids = BuiltinIds(None, 0, 1, 2)
    if v < (0, 17, 0):
        return Abi(v, 16, 1, False, old_ids, 8, FLAGS_09 if v < (0, 10, 0) else FLAGS_10)
    if v < (0, 17, 9):
        return Abi(v, 20, 1, False, old_ids, 8, FLAGS_10)
    if v < (0, 18, 0):
        return Abi(v, 20, 1, True, old_ids, 8, FLAGS_10)
    return Abi(v, 20, 0, True, old_ids if v < (0, 24, 0) else BuiltinIds(0, 1, 2, 3),
               8 if v < (0, 23, 0) else 4, FLAGS_10)


def infer_version(rtti_words: list[int], segments=()) -> str | None:
    """A representative asc version for a module, from the start of its RTTI table and its data.

    ``rtti_words`` are the u32 words at ``__rtti_base`` (count first, at least 9 of
    them); ``segments`` are (offset, bytes) data segments, used to tell the header
    variants of 0.10-0.17 apart. None when the module does not say.
    """
    if len(rtti_words) < 9:
        return None
    count, w = rtti_words[0], rtti_words[1:]
    if count < 3:
        return None
    if w[1] == 0 and w[3] == 0:  # 8-byte entries {flags, base}: 0.9 - 0.22
        ab, string, abv = w[0], w[2], w[4]
        if ab == string == abv == 0x10:
            return "0.9.4"
        if ab == string == 0x20 and abv == 0:
            return "0.22.0"
        if ab == string == abv == 0x20:
            return _legacy_header_version(segments)
        return None
    if w[0] == w[1] == 0x20:  # 4-byte entries: 0.23+
        if w[2] == 0:
            return "0.23.1"
        if w[2] == 0x20 and count >= 4 and w[3] == 0:
            return ".".join(map(str, NEWEST_VERIFIED))
    return None


def _legacy_header_version(segments) -> str | None:
    """0.10-0.17: tell the 16-byte, 20-byte and padded 20-byte headers apart by a static object."""
    for offset, data in segments:
        if len(data) >= 20:
            w = struct.unpack_from("<5I", data)
            if offset % 16 == 0 and w[0] == w[3] == len(data) - 16 and w[1] == 1:
                return "0.16.1"
            if offset % 16 == 12 and w[1] == 1 and w[2] == 0:
                if w[0] == w[4] == len(data) - 20:
                    return "0.17.8"
                if w[0] == len(data) - 4:
                    return "0.17.14"
    return None

"""Headerless C data: NUL-terminated UTF-8 strings, raw bytes and scalar arrays.

Each object is placed at the cursor rounded up to its alignment (the element
size, or ``align``) and becomes one segment; there is no header, so the address
is where the bytes start and ``rt_id`` is None.
"""

from __future__ import annotations

import operator

from ..errors import LayoutError
from .types import (REPORT_OBJECT_KEYS, REPORT_SEGMENT_KEYS, SCALARS, BadValue, Block, CType, LaidObject, parse_ctype,
                    scalar, show_value)

DEFAULT_BASE = 1024  # wasm-ld's default --global-base: the first KiB stays free
_U32_MAX = 0xFFFFFFFF


class CLayout:
    """Lay out C-abi data; same outputs as StaticLayout (segments, image, report, end)."""

    abi_name = "c"

    def __init__(self, base: int | None = None):
        if base is not None and (type(base) is not int or not 0 <= base <= _U32_MAX):
            raise LayoutError(f"base must be an address (0..{_U32_MAX}), not {show_value(base)}")
        self.base = DEFAULT_BASE if base is None else base
        self._cursor = self.base
        self._buf = bytearray()
        self.blocks: list[Block] = []
        self.objects: list[LaidObject] = []

    @property
    def end(self) -> int:
        return self._cursor

    def add(self, type, value, name: str | None = None, align: int | None = None) -> int:
        t = parse_ctype(type) if isinstance(type, str) else type
        if align is None:
            align = t.align
        elif type_is_bad_align(align):
            raise LayoutError(f"align must be a power of two (1..65536), not {show_value(align)}")
        payload = _payload(t, value)
        address = (self._cursor + align - 1) & -align
        if address + len(payload) > _U32_MAX + 1:
            raise LayoutError(f"{name or t.name} passes the end of a 32-bit memory")
        self._buf += bytes(address - self.base - len(self._buf))
        self._buf += payload
        self._cursor = address + len(payload)
        self.blocks.append(Block(address, address, None, None, None, len(payload), t.name, name, value,
                                 len(payload)))
        self.objects.append(LaidObject(name, t.name, address, address, len(payload), None))
        return address

    def add_cstring(self, s: str, name: str | None = None, align: int | None = None) -> int:
        return self.add(CType("cstring"), s, name, align)

    def add_bytes(self, data, name: str | None = None, align: int | None = None) -> int:
        return self.add(CType("bytes"), data, name, align)

    def add_array(self, elem: str, values, name: str | None = None, align: int | None = None) -> int:
        t = scalar(elem)
        if t is None:
            raise LayoutError(f"unknown element type {elem!r} for the c abi")
        return self.add(CType("array", t), values, name, align)

    def block_table(self) -> list[tuple]:
        """``blocks`` as tuples of a Block's fields in order (as StaticLayout's)."""
        return list(map(_BLOCK_FIELDS, self.blocks))

    def object_addresses(self) -> list[tuple]:
        """(name, address) of each object added by name, in order."""
        return [(o.name, o.address) for o in self.objects]

    def segments(self) -> list[tuple[int, bytes]]:
        buf, base = self._buf, self.base
        return [(b.block, bytes(buf[b.block - base:b.block - base + b.seg_size])) for b in self.blocks]

    def image(self) -> bytes:
        return bytes(self._buf)

    def image_view(self) -> memoryview:
        """``image()`` without the copy: a read-only view of the layout's own buffer. While
        it is held, adding an object raises BufferError."""
        return memoryview(self._buf).toreadonly()

    def image_parts(self) -> list[memoryview]:
        """``image()`` as pieces to write out, as StaticLayout's: here the one buffer."""
        return [self.image_view()]

    def report(self, columns: bool = False) -> dict:
        """As StaticLayout.report (``rt_id`` is null: no headers)."""
        objects = [{"name": o.name, "type": o.type, "address": o.address, "block": o.block,
                    "size": o.size, "rt_id": None} for o in self.objects]
        segments = [{"offset": b.block, "size": b.seg_size} for b in self.blocks]
        if columns:  # (C layouts are small: made from the records)
            objects, segments = ((keys, [list(map(operator.itemgetter(k), records)) for k in keys])
                                 for keys, records in ((REPORT_OBJECT_KEYS, objects), (REPORT_SEGMENT_KEYS, segments)))
        return {"abi": "c", "base": self.base, "end": self.end, "objects": objects, "segments": segments}


_BLOCK_FIELDS = operator.attrgetter(*Block.__slots__)


def type_is_bad_align(align) -> bool:
    return type(align) is not int or align < 1 or align > 65536 or align & (align - 1)


def _payload(t: CType, value) -> bytes:
    if t.kind == "cstring":
        if not isinstance(value, str):
            raise BadValue(f"{show_value(value)} is not a string", value=value)
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise BadValue(f"{show_value(value)} has a lone surrogate, which UTF-8 cannot hold",
                           value=value) from e
        if b"\0" in data:
            raise BadValue(f"{show_value(value)} holds a NUL, which would end the C string early",
                           value=value)
        return data + b"\0"
    if t.kind == "bytes":
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, (list, tuple)):
            return SCALARS["u8"].pack(value)
        raise BadValue(f"{show_value(value)} is not bytes or a list of byte values", value=value)
    if t.kind == "scalar":
        return t.elem.pack([t.elem.check(value)])
    if not isinstance(value, (list, tuple)):
        raise BadValue(f"{show_value(value)} is not a list of {t.elem.name} values", value=value)
    return t.elem.pack(value)

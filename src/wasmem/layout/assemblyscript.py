"""The AssemblyScript static layout builder: objects with runtime headers, as asc emits them.

Each object becomes one block: header, payload, zero padding (assemblyscript-static-
data.md 2.2), placed at ``abi.block_start(cursor)``; the cursor then moves past the
block. Containers are laid out as the runtime builds them: element objects first,
then the backing ArrayBuffer (ArrayBuffer id), then the view/header object. The
whole image is one bytearray; segments are slices of it.
"""

from __future__ import annotations

import struct

from ..errors import LayoutError
from . import abi as abis
from .rtti import Rtti
from .types import SCALARS, TYPED_ARRAYS, BadValue, Block, LaidObject, Ref, Scalar, parse_type, show_value

_STRING = Ref("string")
_BUFFER = Ref("ArrayBuffer")
_U32_MAX = 0xFFFFFFFF


class StaticLayout:
    """Lay out AssemblyScript objects as a program's static data.

    ``base`` is the cursor where data starts (asc's unoptimized default 8, first
    payload at 32; an existing ``__data_end`` to append after a module's data).
    Runtime ids of non-built-in classes come from ``id=`` on the object, from
    ``type_ids`` ({type name: id}) or from ``rtti`` (a module's :class:`Rtti`).
    """

    def __init__(self, abi: str = "assemblyscript", as_version=None, base: int | None = None,
                 intern: bool = True, rtti: Rtti | None = None, type_ids: dict | None = None):
        self.abi = abis.for_version(as_version, abi)
        self.abi_name = abi
        if base is not None and (type(base) is not int or not 0 <= base <= _U32_MAX):
            raise LayoutError(f"base must be an address (0..{_U32_MAX}), not {show_value(base)}")
        self.base = abis.DEFAULT_START if base is None else base
        # asc never starts below 8 (0 must stay null): compiler.ts uses max(memoryBase, 8).
        self._cursor = max(self.base, abis.DEFAULT_START)
        self.intern = intern
        self.rtti = rtti
        self._type_ids: dict[str, int] = {}
        for name, rid in (type_ids or {}).items():
            t = parse_type(name)
            self._type_ids[t.name if isinstance(t, Ref) else name] = self._check_id(rid, name)
        self._resolved: dict[str, int] = {}
        self._buf = bytearray()  # the image from self.base
        self._strings: dict[str, int] = {}
        self.blocks: list[Block] = []
        self._by_address: dict[int, Block] = {}
        self.objects: list[LaidObject] = []

    # ---- public API -------------------------------------------------------------------
    @property
    def end(self) -> int:
        """The cursor after the last object (asc's __data_end is align4 of it)."""
        return self._cursor

    def add(self, type, value, name: str | None = None, id: int | None = None) -> int:
        """Lay out ``value`` as ``type`` (a type string or parsed type); return its address."""
        t = parse_type(type) if isinstance(type, str) else type
        if not isinstance(t, Ref):
            raise LayoutError(f"{t.name} is not an object type; static objects are strings, buffers and arrays")
        if value is None:
            raise BadValue("null is not an object to lay out (null is only for elements)", value=None)
        state = (len(self._buf), self._cursor, len(self.blocks), dict(self._resolved))
        new_strings: list[str] = []
        try:
            address = self._lay(t.non_null(), value, name, "", id, new_strings)
        except BaseException:
            # Leave the layout as it was before this object (the API stays usable).
            n, self._cursor, nb, self._resolved = state
            del self._buf[n:]
            for b in self.blocks[nb:]:
                del self._by_address[b.address]
            del self.blocks[nb:]
            for s in new_strings:
                self._strings.pop(s, None)
            raise
        b = self._by_address[address]
        self.objects.append(LaidObject(name, t.non_null().name, address, b.block, b.size, b.rt_id))
        return address

    def add_string(self, s: str, name: str | None = None, id: int | None = None) -> int:
        return self.add(_STRING, s, name, id)

    def add_buffer(self, data, name: str | None = None, id: int | None = None) -> int:
        return self.add(_BUFFER, data, name, id)

    def add_array(self, elem_type, values, name: str | None = None, id: int | None = None) -> int:
        return self.add(Ref("Array", _elem(elem_type)), values, name, id)

    def add_static_array(self, elem_type, values, name: str | None = None, id: int | None = None) -> int:
        return self.add(Ref("StaticArray", _elem(elem_type)), values, name, id)

    def add_typed_array(self, kind: str, values, name: str | None = None, id: int | None = None) -> int:
        if kind not in TYPED_ARRAYS:
            raise LayoutError(f"unknown typed array {kind!r}: one of {', '.join(TYPED_ARRAYS)}")
        return self.add(Ref("typed", SCALARS[TYPED_ARRAYS[kind]], typed_name=kind), values, name, id)

    def segments(self) -> list[tuple[int, bytes]]:
        """One (offset, bytes) per object block, exactly as asc emits them."""
        buf, base = self._buf, self.base
        return [(b.block, bytes(buf[b.block - base:b.block - base + b.seg_size])) for b in self.blocks]

    def image(self) -> bytes:
        """The memory from ``base`` to ``end`` (zeros where no object is)."""
        return bytes(self._buf)

    def report(self) -> dict:
        return {
            "abi": self.abi_name,
            "as_version": self.abi.version_text,
            "base": self.base,
            "end": self.end,
            "objects": [{"name": o.name, "type": o.type, "address": o.address, "block": o.block,
                         "size": o.size, "rt_id": o.rt_id} for o in self.objects],
            "segments": [{"offset": b.block, "size": b.seg_size} for b in self.blocks],
        }

    # ---- runtime ids --------------------------------------------------------------------
    def _check_id(self, rid, what) -> int:
        if type(rid) is not int or not 0 <= rid <= _U32_MAX:
            raise LayoutError(f"runtime id for {what} must be an integer 0..{_U32_MAX}, not {show_value(rid)}")
        if self.rtti is not None:
            self.rtti.check_id(rid, what)
        return rid

    def _rt_id(self, t: Ref, explicit) -> int:
        if explicit is not None:
            return self._check_id(explicit, t.name)
        ids = self.abi.ids
        if t.kind == "string":
            return ids.string
        if t.kind == "ArrayBuffer":
            return ids.array_buffer
        key = t.name
        rid = self._type_ids.get(key)
        if rid is None:
            rid = self._resolved.get(key)
        if rid is None:
            if self.rtti is None:
                raise LayoutError(
                    f"no runtime id for {key}: asc numbers classes per module, so give the module "
                    f"(its RTTI is read: --module) or the id (`id = N` on the object, or "
                    f"`ids = {{\"{key}\" = N}}` in the spec; idof<{key}>() in the program gives N)")
            rid = self._resolved[key] = self.rtti.resolve(t)
        return rid

    # ---- placement ------------------------------------------------------------------------
    def _emit(self, rt_id: int, payload: bytes, type_name: str, label, value) -> int:
        a = self.abi
        block = a.block_start(self._cursor)
        size = len(payload)
        seg = a.segment_size(size)
        buf = self._buf
        gap = block - self.base - len(buf)
        if gap:
            buf += bytes(gap)
        buf += a.header(size, rt_id)
        buf += payload
        pad = seg - a.header_size - size
        if pad:
            buf += bytes(pad)
        self._cursor = block + seg
        if self._cursor > _U32_MAX:
            raise LayoutError(f"the layout passes the end of a 32-bit memory at {label}")
        address = block + a.header_size
        b = Block(address, block, a.mm_info(size), a.gc_info, rt_id, size, type_name, label, value, seg)
        self.blocks.append(b)
        self._by_address[address] = b
        return address

    def _lay(self, t: Ref, value, label, where: str, explicit, new_strings) -> int:
        """Lay out one object of type ``t`` (non-null) and return its payload address."""
        kind = t.kind
        if kind == "string":
            if not isinstance(value, str):
                raise BadValue(f"{show_value(value)} is not a string", path=where, value=value)
            rid = self._rt_id(t, explicit)
            if self.intern and explicit is None:
                address = self._strings.get(value)
                if address is not None:
                    return address
            try:
                payload = value.encode("utf-16-le", "surrogatepass")
            except UnicodeEncodeError as e:  # cannot happen for str, kept for clarity
                raise BadValue(str(e), path=where, value=value) from e
            address = self._emit(rid, payload, "string", label, value)
            if self.intern and explicit is None:
                self._strings[value] = address
                new_strings.append(value)
            return address
        if kind == "ArrayBuffer":
            payload = _buffer_bytes(value, where)
            return self._emit(self._rt_id(t, explicit), payload, "ArrayBuffer", label, payload)
        if not isinstance(value, (list, tuple)):
            raise BadValue(f"{show_value(value)} is not a list of values for {t.name}", path=where, value=value)
        rid = self._rt_id(t, explicit)
        elem = t.elem
        if isinstance(elem, Scalar):
            data = elem.pack(value, where)
        else:
            ptrs = []
            for i, v in enumerate(value):
                if v is None:
                    if not elem.nullable:
                        raise BadValue(f"null in {t.name}: the element type {elem.name} is not nullable "
                                       f"(write {elem.name} | null)", path=f"{where}[{i}]", value=v)
                    ptrs.append(0)
                else:
                    ptrs.append(self._lay(elem.non_null(), v, f"{label}[{i}]", f"{where}[{i}]", None,
                                          new_strings))
            data = struct.pack(f"<{len(ptrs)}I", *ptrs)
        if kind == "StaticArray":
            return self._emit(rid, data, t.name, label, value)
        buffer = self._emit(self.abi.ids.array_buffer, data, "ArrayBuffer", f"{label}.buffer", data)
        if kind == "Array":  # buffer, dataStart, byteLength, length_
            header = struct.pack("<IIii", buffer, buffer, len(data), len(value))
        else:  # typed array: the ArrayBufferView fields buffer, dataStart, byteLength
            header = struct.pack("<IIi", buffer, buffer, len(data))
        return self._emit(rid, header, t.name, label, value)


def _elem(elem_type):
    return parse_type(elem_type) if isinstance(elem_type, str) else elem_type


def _buffer_bytes(value, where: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return SCALARS["u8"].pack(value, where)
    raise BadValue(f"{show_value(value)} is not bytes or a list of byte values", path=where, value=value)

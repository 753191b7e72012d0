"""The AssemblyScript static layout builder: objects with runtime headers, as asc emits them.

Each object becomes one block: header, payload, zero padding (assemblyscript-static-
data.md 2.2), placed at ``abi.block_start(cursor)``; the cursor then moves past the
block. Containers are laid out as the runtime builds them: element objects first,
then the backing ArrayBuffer (ArrayBuffer id), then the view/header object. The
whole image is one bytearray; segments are slices of it.
"""

from __future__ import annotations

import functools
import itertools
import operator
import struct

from ..errors import LayoutError, WasmError
from . import abi as abis
from .rtti import Rtti
from .types import (REPORT_OBJECT_KEYS, REPORT_SEGMENT_KEYS, SCALARS, STRING, TYPED_ARRAYS, BadValue, Block, LaidObject,
                    Ref, Scalar, parse_type, show_value)

_STRING = STRING
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
                 intern: bool = True, rtti: Rtti | None = None, type_ids: dict | None = None,
                 auto_ids: bool = False):
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
        # Without RTTI, ``auto_ids`` numbers classes in order of first use after the
        # built-ins, as asc does for a program that declares just these objects.
        self.auto_ids = auto_ids
        self.auto_assigned: dict[str, int] = {}
        self._sized: dict[int, tuple] = {}  # string payload size -> (mmInfo, segment size, header, tail)
        self._units: dict[int, tuple] = {}  # string length -> (size, mmInfo, segment size, header, tail as str)
        self._sized_any: dict[tuple, tuple] = {}  # (payload size, rt id) -> the same
        self._round = self.abi.block_round
        self._header_size = self.abi.header_size
        self._gc_info = self.abi.gc_info
        self._string_id = self.abi.ids.string
        self._buf = bytearray(self._cursor - self.base)  # the image from self.base to the cursor
        # Pieces of the image before _buf, kept as made where copying them into _buf would
        # cost more (a run of strings' 9 MB image): see _add_string_run and _image_buffer.
        self._sealed: list = []
        self._interned: dict[str, int] = {}  # interned string -> index of its block (see _strings)
        # Runs of strings laid out whole whose block tuples, names and interned strings are
        # not written out yet (see _settle): their places in _blocks and _named hold None.
        self._pending: list[_Run] = []
        # Blocks are plain tuples in the Block field order and named objects are
        # (name, block index): 100,000 objects must cost microseconds each.
        self._blocks: list[tuple] = []
        self._named: list[tuple] = []

    def _settle(self) -> None:
        """Write out the pending runs (strings, arrays): their block tuples and names in the
        places kept for them, a string run's strings into the intern dict. A run's image is
        laid out at once; the rest waits until something reads it (``--format bin`` never does)."""
        for run in self._pending:
            run.settle(self)
        self._pending.clear()

    @property
    def _strings(self) -> dict:
        """Interned string -> index of its block (pending runs written out first)."""
        if self._pending:
            self._settle()
        return self._interned

    # ---- public API -------------------------------------------------------------------
    @property
    def end(self) -> int:
        """The cursor after the last object (asc's __data_end is align4 of it)."""
        return self._cursor

    @property
    def blocks(self) -> list[Block]:
        """Every object in memory order (element objects and backing buffers included)."""
        self._settle()
        return [Block(*b) for b in self._blocks]

    def block_table(self) -> list[tuple]:
        """``blocks`` as tuples of a Block's fields in order, without making an object of
        each (a memory map of 120,000 blocks reads them as columns): the layout's own list,
        to read, never change."""
        self._settle()
        return self._blocks

    @property
    def objects(self) -> list[LaidObject]:
        """The objects added by name, in order: (name, type, address, block, size, rt_id)."""
        return [LaidObject(name, *fields) for name, fields in self._named_rows()]

    def object_addresses(self) -> list[tuple]:
        """(name, address) of each object added by name, in order."""
        self._settle()
        named = self._named
        return list(zip(map(_FIRST, named), map(_FIRST, map(self._blocks.__getitem__, map(_SECOND, named)))))

    def _named_rows(self):
        """(name, (type, address, block, size, rt_id)) of each object added by name, in
        order, straight from the block tuples (the one place that maps their fields)."""
        self._settle()
        named = self._named
        return zip(map(_FIRST, named), map(_OBJECT_FIELDS, map(self._blocks.__getitem__, map(_SECOND, named))))

    def add(self, type, value, name: str | None = None, id: int | None = None) -> int:
        """Lay out ``value`` as ``type`` (a type string or parsed type); return its address."""
        t = _parse(type) if type.__class__ is str else type
        if t.__class__ is not Ref:
            raise LayoutError(f"{t.name} is not an object type; static objects are strings, buffers and arrays")
        if value is None:
            raise BadValue("null is not an object to lay out (null is only for elements)", value=None)
        self._settle()
        state = (len(self._buf), self._cursor, len(self._blocks))
        new_strings: list[str] = []
        try:
            index = self._lay(t.non_null(), value, name, "", id, new_strings)
        except BaseException:
            # Leave the layout as it was before this object (the API stays usable).
            n, self._cursor, nb = state  # (resolved ids stay valid: resolution is deterministic)
            del self._buf[n:]
            del self._blocks[nb:]
            for s in new_strings:
                del self._strings[s]
            raise
        self._named.append((name, index))
        return self._blocks[index][0]

    def add_string(self, s: str, name: str | None = None, id: int | None = None) -> int:
        if id is None and s.__class__ is str:  # the common case, kept short
            index = self._strings.get(s) if self.intern else None
            if index is None:
                index = self._emit(self._string_id, s.encode("utf-16-le", "surrogatepass"), "string", name, s)
                if self.intern:
                    self._strings[s] = index
            self._named.append((name, index))
            return self._blocks[index][0]
        return self.add(_STRING, s, name, id)

    def add_many(self, items) -> None:
        """Add (type, value, name, id) items in order: ``add`` of each, in bulk.
        On error the exception gets ``item_index``, the item that failed."""
        items = list(items)
        if set(map(len, items)) - {4}:
            raise TypeError("add_many takes (type, value, name, id) items")
        if items:
            self.add_columns(*map(list, zip(*items)))

    def add_columns(self, types: list, values: list, names: list, ids: list) -> None:
        """``add_many`` of items given as four lists (types parsed): the bulk path of spec files.

        A run of plain strings is laid out whole (_add_string_run), else one by one
        inline here (the steps of _emit, with everything in locals and the
        size-dependent header cached); runs of arrays of scalars take _add_array_run,
        single ones _add_scalar_array; other items go through add().
        """
        r_add, r_sub = self._round
        sized, cache = self.abi.sized, self._sized
        hsize, gc, sid = self._header_size, self._gc_info, self._string_id
        buf, blocks, named, intern = self._buf, self._blocks, self._named, self.intern
        scalar_arrays = _ScalarArrays()
        # Runs of string items are laid out whole by _add_string_run (which checks that
        # they are plain: no id, str values); not_string[k]: item k is not of type string.
        kinds = types
        not_string = list(map(operator.is_not, kinds, itertools.repeat(_STRING)))
        i = 0
        cursor = self._cursor
        count = len(types)
        try:
            while i < count:  # (by index: a run laid out whole is stepped over at once)
                t, value, name, rid = types[i], values[i], names[i], ids[i]
                if t is not _STRING or rid is not None or value.__class__ is not str:
                    self._cursor = cursor
                    if value.__class__ is list and t.__class__ is Ref and t in scalar_arrays:
                        if t.kind != "StaticArray" and (i == 0 or kinds[i - 1] is not t):
                            end = i + 1  # a run of arrays of one type starts
                            while end < count and kinds[end] is t:
                                end += 1
                            if end - i > 1 and self._add_array_run(t, values[i:end], names[i:end], ids[i:end]):
                                cursor = self._cursor
                                i = end
                                continue
                        self._add_scalar_array(t, value, name, rid)
                    else:
                        self.add(t, value, name, rid)
                    cursor = self._cursor
                    i += 1
                    continue
                if i == 0 or not_string[i - 1]:  # a run starts
                    try:
                        end = not_string.index(True, i)
                    except ValueError:
                        end = count
                    self._cursor = cursor
                    if end > i and self._add_string_run(values[i:end], names[i:end], ids[i:end]):
                        cursor = self._cursor
                        i = end
                        continue
                strings = self._strings  # (after a run: its strings join the dict)
                index = strings.get(value) if intern else None
                if index is None:
                    payload = value.encode("utf-16-le", "surrogatepass")
                    size = len(payload)
                    block = ((cursor + r_add) & ~15) - r_sub
                    known = cache.get(size)
                    if known is None:
                        mm, seg, header = sized(size, sid)
                        known = cache[size] = (mm, seg, header, _ZEROS[seg - hsize - size])
                    mm, seg, header, tail = known  # (tail: seg - hsize - size < 16 in every variant)
                    if block + seg > _U32_MAX:
                        raise LayoutError(f"the layout passes the end of a 32-bit memory at {name}")
                    if block != cursor:  # (the image always ends at the cursor)
                        buf += bytes(block - cursor)
                    buf += header
                    buf += payload
                    buf += tail
                    cursor = block + seg
                    index = len(blocks)
                    blocks.append((block + hsize, block, mm, gc, sid, size, "string", name, value, seg))
                    if intern:
                        strings[value] = index
                named.append((name, index))
                i += 1
        except WasmError as e:
            e.item_index = i
            raise
        finally:
            # Every item before the failing one stays laid out (add() undoes its own).
            self._cursor = cursor

    def _add_string_run(self, values: list, names: list, ids: list) -> bool:
        """Lay out a run of string items (three columns), in whole-list steps (map, zip,
        accumulate, one encode: C speed). False, with nothing laid out, when an item has an
        id or a value that is not a str, a string has a
        character beyond U+FFFF (its UTF-16 size is not 2 * len), a string repeats (interning)
        or the run passes the end of memory: then add_columns lays them out one by one."""
        if ids.count(None) != len(ids) or set(map(type, values)) != {str}:
            return False  # an id or a value that is not a str: the general path says what is wrong
        intern = self.intern
        first_index = len(self._blocks)
        if intern:  # no repeats in the run, nor of a string laid out before
            fresh = set(values)
            if (len(fresh) != len(values) or not self._interned.keys().isdisjoint(fresh)
                    or not all(fresh.isdisjoint(run.fresh) for run in self._pending if run.fresh is not None)):
                return False
        lengths = list(map(len, values))  # UTF-16 code units: the payload is twice as many bytes
        distinct = set(lengths)
        cache, hsize, sid = self._sized, self._header_size, self._string_id
        units = self._units
        for n in distinct - units.keys():
            size = n + n
            known = cache.get(size)
            if known is None:
                mm, seg, header = self.abi.sized(size, sid)
                known = cache[size] = (mm, seg, header, _ZEROS[seg - hsize - size])
            mm, seg, header, tail = known
            units[n] = (size, mm, seg, header.decode("utf-16-le", "surrogatepass"),
                        tail.decode("utf-16-le", "surrogatepass"))
        # per distinct length: payload size, mmInfo, segment size, and header and tail as
        # UTF-16 code units (str)
        size_of, mm_of, seg_of, head_of, tail_of = ({n: units[n][k] for n in distinct} for k in range(5))
        segs = list(map(seg_of.__getitem__, lengths))
        r_add, r_sub = self._round
        cursor = self._cursor
        first = ((cursor + r_add) & ~15) - r_sub
        count = len(values)
        if all(seg_of[n] & 15 == 0 for n in distinct):  # every block ends on the grid: no gaps
            parts = [""] * (3 * count)  # header, value, tail of each block, in order
            end = first + sum(segs)
            # (iterators, one item too many: _settle zips them once, if ever)
            starts = itertools.accumulate(segs, initial=first)
            addresses = itertools.accumulate(segs, initial=first + hsize)
        else:
            starts, gaps, end = [], [], cursor
            for seg in segs:
                block = ((end + r_add) & ~15) - r_sub
                starts.append(block)
                gaps.append(block - end)
                end = block + seg
            gaps[0] = 0  # (the bytes before the first block are added below)
            parts = [""] * (4 * count)  # zero units, header, value, tail of each block
            parts[0::4] = map(_PAD_UNITS.__getitem__, gaps)
            addresses = map(operator.add, starts, itertools.repeat(hsize))
        if end > _U32_MAX:
            return False
        # The run's image as one str, encoded once: headers, zero padding and tails are even-
        # sized, so each is the str of its own UTF-16 code units, and UTF-16 of a lone surrogate
        # (surrogatepass) is its one unit even next to another: the bytes come out exactly.
        # The pieces go in by slice assignment, a C-level copy of references.
        step = len(parts) // count
        parts[step - 3::step] = map(head_of.__getitem__, lengths)
        parts[step - 2::step] = values
        parts[step - 1::step] = map(tail_of.__getitem__, lengths)
        text = "".join(parts)
        del parts
        image = text.encode("utf-16-le", "surrogatepass")
        if len(image) != 2 * len(text):  # a character beyond U+FFFF (two units): the sizes above are wrong
            return False
        del text
        buf = self._buf
        buf += _ZEROS[first - cursor]  # (the cursor may be odd; the blocks after it are not)
        if len(image) > len(buf):
            # The image stays the bytes it was encoded to; what the buffer held goes before it,
            # and the buffer (the same object: callers hold it) goes on after it. A copy of the
            # smaller part, where appending would copy the image and fault in its pages again.
            if buf:
                self._sealed.append(bytes(buf))
            self._sealed.append(image)
            del buf[:]
        else:
            buf += image
        run = _Run()
        run.first, run.named = first_index, len(self._named)
        run.fresh = fresh if intern else None
        run.values, run.names, run.lengths, run.segs = values, names, lengths, segs
        run.addresses, run.starts, run.mm_of, run.size_of = addresses, starts, mm_of, size_of
        self._pending.append(run)
        self._blocks.extend(itertools.repeat(None, count))
        self._named.extend(itertools.repeat(None, count))
        self._cursor = end
        return True

    def _add_array_run(self, t: Ref, values: list, names: list, ids: list) -> bool:
        """Lay out a run of items (three columns) of one non-null Array or typed array type of scalars: one
        pack of all their values, then the blocks of each (buffer, then the array) in one
        tight loop. False, with nothing laid out, when an item has an id or a value that is not
        a list, a value does not fit, or the run passes the end of memory: then add_columns
        lays them out one by one (and raises there)."""
        if ids.count(None) != len(ids) or set(map(type, values)) != {list}:
            return False
        elem = t.elem
        try:
            data = elem.pack(list(itertools.chain.from_iterable(values)), "")
        except BadValue:
            return False
        rid = self._rt_id(t, None)  # (its error is the one the first item would raise)
        esize, ab, gc, hsize = elem.size, self.abi.ids.array_buffer, self._gc_info, self._header_size
        is_array = t.kind == "Array"
        head_size = 16 if is_array else 12
        r_add, r_sub = self._round
        cache, sized = self._sized_any, self.abi.sized
        head_known = cache.get((head_size, rid))
        if head_known is None:
            head_known = cache[head_size, rid] = sized(head_size, rid)
        n = len(values[0])
        if list(map(len, values)).count(n) == len(values):
            return self._add_even_array_run(t, values, names, data, n, n * esize, rid, head_size, head_known)
        h_mm, h_seg, h_header = head_known
        h_tail = _ZEROS[h_seg - hsize - head_size]
        view = _ARRAY.pack if is_array else _VIEW.pack
        tname = t.name
        cursor = self._cursor
        pieces, new_blocks, new_named = [], [], []
        put = pieces.append
        index = len(self._blocks)
        at = 0
        for value, name in zip(values, names):
            n = len(value)
            size = n * esize
            known = cache.get((size, ab))
            if known is None:
                known = cache[size, ab] = sized(size, ab)
            mm, seg, header = known
            block = ((cursor + r_add) & ~15) - r_sub
            put(_ZEROS[block - cursor])
            put(header)
            payload = data[at:at + size]
            at += size
            put(payload)
            put(_ZEROS[seg - hsize - size])
            buffer = block + hsize
            new_blocks.append((buffer, block, mm, gc, ab, size, "ArrayBuffer",
                               ("" if name is None else name) + ".buffer", payload, seg))
            cursor = block + seg
            if cursor > _U32_MAX:  # (before the pointers are packed as u32)
                return False
            block = ((cursor + r_add) & ~15) - r_sub
            put(_ZEROS[block - cursor])
            put(h_header)
            put(view(buffer, buffer, size, n) if is_array else view(buffer, buffer, size))
            put(h_tail)
            new_blocks.append((block + hsize, block, h_mm, gc, rid, head_size, tname, name, value, h_seg))
            cursor = block + h_seg
            index += 2
            new_named.append((name, index - 1))
        if cursor > _U32_MAX:
            return False
        self._buf += b"".join(pieces)
        self._blocks.extend(new_blocks)
        self._named.extend(new_named)
        self._cursor = cursor
        return True

    def _add_even_array_run(self, t: Ref, values: list, names: list, data: bytes, n: int, size: int, rid: int,
                            head_size: int, head_known: tuple) -> bool:
        """_add_array_run for arrays of ``n`` elements each (``size`` payload bytes), in whole-list
        steps: each array's two blocks sit one stride after the previous array's, so the image
        is the same few pieces over again, with each array's payload and pointers, and the block
        tuples are made only when read (_ArrayRun.settle). Same result as the loop
        (tests/test_layout_bulk.py)."""
        r_add, r_sub = self._round
        hsize, ab = self._header_size, self.abi.ids.array_buffer
        cache = self._sized_any
        known = cache.get((size, ab))
        if known is None:
            known = cache[size, ab] = self.abi.sized(size, ab)
        mm, seg, header = known
        h_mm, h_seg, h_header = head_known
        cursor = self._cursor
        count = len(values)
        block = ((cursor + r_add) & ~15) - r_sub  # the first buffer's block
        head = ((block + seg + r_add) & ~15) - r_sub  # the first array's block
        stride = ((head + h_seg + r_add) & ~15) - r_sub - block  # (a multiple of 16: both are on the grid)
        end = head + h_seg + (count - 1) * stride
        if end > _U32_MAX:
            return False
        buffers = range(block + hsize, block + hsize + count * stride, stride)
        repeat = itertools.repeat
        if t.kind == "Array":
            views = map(_ARRAY.pack, buffers, buffers, repeat(size, count), repeat(n, count))
        else:
            views = map(_VIEW.pack, buffers, buffers, repeat(size, count))
        # between a payload and its array's pointers: the buffer's tail, the gap, the array's header;
        # between the pointers and the next payload: the array's tail, the gap, the next buffer's header
        inner = _ZEROS[seg - hsize - size] + bytes(head - block - seg) + h_header
        outer = _ZEROS[h_seg - hsize - head_size] + bytes(stride - (head - block) - h_seg) + header
        buf = self._buf
        buf += _ZEROS[block - cursor]
        buf += header
        buf += outer.join(map(inner.join, zip(_chunks(data, size, count), views)))
        buf += _ZEROS[h_seg - hsize - head_size]
        run = _ArrayRun()
        run.first, run.named = len(self._blocks), len(self._named)
        run.values, run.names, run.data, run.stride, run.size = values, names, data, stride, size
        run.buffer, run.head, run.known, run.head_known = block + hsize, head + hsize, known, head_known
        run.rid, run.tname, run.head_size = rid, t.name, head_size
        self._pending.append(run)
        self._blocks.extend(repeat(None, 2 * count))
        self._named.extend(repeat(None, count))
        self._cursor = end
        return True

    def _add_scalar_array(self, t: Ref, value: list, name, rid) -> None:
        """add() of a non-null array of scalars, without its generality: the same blocks,
        image and errors (tests/test_layout_bulk.py compares the two)."""
        data = t.elem.pack(value, "")  # BadValue before anything is laid out, as in _lay
        rid = self._rt_id(t, rid)
        kind = t.kind
        r_add, r_sub = self._round
        hsize = self._header_size
        sized = self.abi.sized
        cursor = self._cursor
        size = len(data)
        block = ((cursor + r_add) & ~15) - r_sub
        if kind == "StaticArray":
            key = (size, rid)
        else:
            key = (size, self.abi.ids.array_buffer)
            head_size = 16 if kind == "Array" else 12
            head_key = (head_size, rid)
        cache = self._sized_any
        known = cache.get(key)
        if known is None:
            known = cache[key] = sized(*key)
        mm, seg, header = known
        end = block + seg
        if kind != "StaticArray":
            head_block = ((end + r_add) & ~15) - r_sub
            head_known = cache.get(head_key)
            if head_known is None:
                head_known = cache[head_key] = sized(*head_key)
            end = head_block + head_known[1]
        if end > _U32_MAX:  # the general path raises (and undoes) exactly as it should
            self.add(t, value, name, rid)
            return
        buf, blocks, gc = self._buf, self._blocks, self._gc_info
        if block != cursor:
            buf += bytes(block - cursor)
        buf += header
        buf += data
        buf += _ZEROS[seg - hsize - size]
        if kind == "StaticArray":
            blocks.append((block + hsize, block, mm, gc, rid, size, t.name, name, value, seg))
        else:
            buffer = block + hsize
            blocks.append((buffer, block, mm, gc, key[1], size, "ArrayBuffer",
                           ("" if name is None else name) + ".buffer", data, seg))
            cursor = block + seg
            if head_block != cursor:
                buf += bytes(head_block - cursor)
            mm, seg, header = head_known
            buf += header
            if kind == "Array":
                buf += _ARRAY.pack(buffer, buffer, size, len(value))
            else:
                buf += _VIEW.pack(buffer, buffer, size)
            buf += _ZEROS[seg - hsize - head_size]
            block = head_block
            blocks.append((block + hsize, block, mm, gc, rid, head_size, t.name, name, value, seg))
        self._cursor = block + seg
        self._named.append((name, len(blocks) - 1))

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
        self._settle()
        buf, base = self._image_buffer(), self.base
        return [(b[1], bytes(buf[b[1] - base:b[1] - base + b[9]])) for b in self._blocks]

    def image(self) -> bytes:
        """The memory from ``base`` to ``end`` (zeros where no object is)."""
        return bytes(self._image_buffer())

    def image_view(self) -> memoryview:
        """``image()`` without the copy (9 MB for 110,000 objects): a read-only view of the
        layout's own buffer. While it is held, adding an object raises BufferError."""
        return memoryview(self._image_buffer()).toreadonly()

    def image_parts(self) -> list[memoryview]:
        """``image()`` as the read-only pieces it is kept in, in order, without joining
        them (for writing out). While they are held, adding an object raises BufferError."""
        return [*map(memoryview, self._sealed), memoryview(self._buf).toreadonly()]

    def _image_buffer(self) -> bytearray:
        """The layout's buffer, holding the whole image: the sealed pieces and the buffer
        joined into one, once (no method is laying out meanwhile, holding the old one)."""
        if self._sealed:  # (one copy of each piece: as appending them would have made)
            self._buf = bytearray().join([*self._sealed, self._buf])
            self._sealed.clear()
        return self._buf

    def report(self, columns: bool = False) -> dict:
        """What was laid out: abi, version, base, end, and a record per object and per
        block ("objects", "segments"). With ``columns``, each of those two is a pair
        (keys, a list of values per key) instead of a list of dicts: what the CLI writes
        as JSON without making a dict per record."""
        self._settle()
        doc = {"abi": self.abi_name, "as_version": self.abi.version_text, "base": self.base, "end": self.end}
        if columns:
            named, blocks = self._named, self._blocks
            rows = list(map(blocks.__getitem__, map(_SECOND, named)))
            doc["objects"] = (REPORT_OBJECT_KEYS, [list(map(_FIRST, named)),
                                                   *(list(map(operator.itemgetter(k), rows)) for k in _OBJECT_INDICES)])
            doc["segments"] = (REPORT_SEGMENT_KEYS, [list(map(_SECOND, blocks)), list(map(_SEG_SIZE, blocks))])
        else:  # (no LaidObject per object: 110,000 rows)
            doc["objects"] = [{"name": name, "type": kind, "address": address, "block": block, "size": size,
                               "rt_id": rid} for name, (kind, address, block, size, rid) in self._named_rows()]
            doc["segments"] = [{"offset": b[1], "size": b[9]} for b in self._blocks]
        return doc

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
        if rid is None and self.rtti is None and self.auto_ids:
            taken = set(self._type_ids.values()) | set(self._resolved.values())
            rid = self.abi.ids.count
            while rid in taken:
                rid += 1
            self._resolved[key] = self.auto_assigned[key] = rid
        if rid is None:
            if self.rtti is None:
                raise LayoutError(
                    f"no runtime id for {key}: asc numbers classes per module, so the id comes from a "
                    f"module's RTTI (`layout --module FILE`, or add-data's module, built with --exportRuntime) "
                    f"or is given (`id = N` on the object, or `ids = {{\"{key}\" = N}}` in the spec; "
                    f"idof<{key}>() in the program gives N)")
            rid = self._resolved[key] = self.rtti.resolve(t)
        return rid

    # ---- placement ------------------------------------------------------------------------
    def _emit(self, rt_id: int, payload: bytes, type_name: str, label, value) -> int:
        """Append one object block at the cursor; return its index."""
        size = len(payload)
        r_add, r_sub = self._round
        block = ((self._cursor + r_add) & ~15) - r_sub  # abi.block_start, inlined (called per object)
        known = self._sized_any.get((size, rt_id))
        if known is None:
            known = self._sized_any[size, rt_id] = self.abi.sized(size, rt_id)
        mm, seg, header = known
        if block + seg > _U32_MAX:
            raise LayoutError(f"the layout passes the end of a 32-bit memory at {label}")
        buf = self._buf
        if block != self._cursor:  # the image ends at the cursor; fill up to the block
            buf += bytes(block - self._cursor)
        buf += header
        buf += payload
        buf += _ZEROS[seg - self._header_size - size]
        self._cursor = block + seg
        blocks = self._blocks
        blocks.append((block + self._header_size, block, mm, self._gc_info, rt_id, size, type_name, label,
                       value, seg))
        return len(blocks) - 1

    def _lay(self, t: Ref, value, label, where: str, explicit, new_strings) -> int:
        """Lay out one object of type ``t`` (non-null), elements first; return its block index."""
        kind = t.kind
        if kind == "string":
            if value.__class__ is not str:
                raise BadValue(f"{show_value(value)} is not a string", path=where, value=value)
            rid = self._rt_id(t, explicit)
            interned = self.intern and explicit is None
            if interned:
                index = self._strings.get(value)
                if index is not None:
                    return index
            index = self._emit(rid, value.encode("utf-16-le", "surrogatepass"), "string", label, value)
            if interned:
                self._strings[value] = index
                new_strings.append(value)
            return index
        if kind == "ArrayBuffer":
            payload = _buffer_bytes(value, where)
            return self._emit(self._rt_id(t, explicit), payload, "ArrayBuffer", label, payload)
        if not isinstance(value, (list, tuple)):
            raise BadValue(f"{show_value(value)} is not a list of values for {t.name}", path=where, value=value)
        elem = t.elem
        lab = "" if label is None else label
        if elem.__class__ is Scalar:
            data = elem.pack(value, where)
        else:
            ptrs = []
            blocks = self._blocks
            inner = elem.non_null()
            for i, v in enumerate(value):
                if v is None:
                    if not elem.nullable:
                        raise BadValue(f"null in {t.name}: the element type {elem.name} is not nullable "
                                       f"(write {elem.name} | null)", path=f"{where}[{i}]", value=v)
                    ptrs.append(0)
                else:
                    index = self._lay(inner, v, f"{lab}[{i}]", f"{where}[{i}]", None, new_strings)
                    ptrs.append(blocks[index][0])
            data = struct.pack(f"<{len(ptrs)}I", *ptrs)
        # after the elements: asc resolves (and numbers) inner classes first
        rid = self._rt_id(t, explicit)
        if kind == "StaticArray":
            return self._emit(rid, data, t.name, label, value)
        index = self._emit(self.abi.ids.array_buffer, data, "ArrayBuffer", lab + ".buffer", data)
        buffer = self._blocks[index][0]
        if kind == "Array":
            header = _ARRAY.pack(buffer, buffer, len(data), len(value))
        else:
            header = _VIEW.pack(buffer, buffer, len(data))
        return self._emit(rid, header, t.name, label, value)


_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)
_OBJECT_INDICES = (6, 0, 1, 5, 4)  # a block tuple's type, address, block, size, rt id
_OBJECT_FIELDS = operator.itemgetter(*_OBJECT_INDICES)
_SEG_SIZE = operator.itemgetter(9)
_ZEROS = tuple(bytes(n) for n in range(16))
_PAD_UNITS = tuple("\0" * (n // 2) for n in range(16))  # even gaps as UTF-16 code units  # padding to the 16-byte block grid
_ARRAY = struct.Struct("<IIii")  # Array<T>: buffer, dataStart, byteLength, length_
_VIEW = struct.Struct("<IIi")    # typed arrays (ArrayBufferView): buffer, dataStart, byteLength


class _Run:
    """A run of strings laid out whole, its block tuples and names not written out yet
    (StaticLayout._settle): the columns they are made of."""

    __slots__ = ("first", "named", "fresh", "values", "names", "lengths", "segs", "addresses", "starts", "mm_of",
                 "size_of")

    def settle(self, lay: StaticLayout) -> None:
        first, n = self.first, len(self.values)
        lay._blocks[first:first + n] = zip(
            self.addresses, self.starts, map(self.mm_of.__getitem__, self.lengths), itertools.repeat(lay._gc_info),
            itertools.repeat(lay._string_id), map(self.size_of.__getitem__, self.lengths),
            itertools.repeat("string"), self.names, self.values, self.segs)
        lay._named[self.named:self.named + n] = zip(self.names, range(first, first + n))
        if self.fresh is not None:
            lay._interned.update(zip(self.values, range(first, first + n)))


class _ArrayRun:
    """A run of arrays of one type and length laid out whole (StaticLayout._add_array_run):
    every array's buffer and header block sit ``stride`` bytes after the previous one's,
    so the block tuples follow from the first array's places."""

    __slots__ = ("first", "named", "values", "names", "data", "stride", "buffer", "head", "size", "known",
                 "head_known", "rid", "tname", "head_size")
    fresh = None  # (no strings to intern)

    def settle(self, lay: StaticLayout) -> None:
        first, count, stride, size = self.first, len(self.values), self.stride, self.size
        hsize, gc = lay._header_size, lay._gc_info
        mm, seg, _ = self.known
        h_mm, h_seg, _ = self.head_known
        buffers = range(self.buffer, self.buffer + count * stride, stride)
        heads = range(self.head, self.head + count * stride, stride)
        repeat = itertools.repeat
        buffer_blocks = zip(buffers, map(operator.sub, buffers, repeat(hsize)), repeat(mm), repeat(gc),
                            repeat(lay.abi.ids.array_buffer), repeat(size), repeat("ArrayBuffer"),
                            [("" if name is None else name) + ".buffer" for name in self.names],
                            _chunks(self.data, size, count), repeat(seg))
        head_blocks = zip(heads, map(operator.sub, heads, repeat(hsize)), repeat(h_mm), repeat(gc), repeat(self.rid),
                          repeat(self.head_size), repeat(self.tname), self.names, self.values, repeat(h_seg))
        end = first + 2 * count
        lay._blocks[first:end:2] = buffer_blocks
        lay._blocks[first + 1:end:2] = head_blocks
        lay._named[self.named:self.named + count] = zip(self.names, range(first + 1, end, 2))


def _chunks(data: bytes, size: int, count: int):
    """The first ``count`` slices of ``size`` bytes of ``data``, in order (C-level steps)."""
    if not size:
        return itertools.repeat(b"", count)
    return map(data.__getitem__, map(slice, range(0, count * size, size), range(size, count * size + 1, size)))


class _ScalarArrays(dict):
    """``t in`` this: is ``t`` a non-null Array, StaticArray or typed array of scalars?
    (add_many's fast path; the answer is kept per type.)"""

    def __missing__(self, t) -> bool:
        ok = self[t] = (t.__class__ is Ref and not t.nullable and t.kind in ("Array", "StaticArray", "typed")
                        and t.elem.__class__ is Scalar)
        return ok

    def __contains__(self, t) -> bool:
        return self[t]


@functools.lru_cache(maxsize=512)
def _parse(text: str):
    return parse_type(text)


def _elem(elem_type):
    return parse_type(elem_type) if isinstance(elem_type, str) else elem_type


def _buffer_bytes(value, where: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return SCALARS["u8"].pack(value, where)
    raise BadValue(f"{show_value(value)} is not bytes or a list of byte values", path=where, value=value)

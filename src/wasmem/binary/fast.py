"""Hand-written readers for hot vectors, equal to the grammar by property test.

esbuild.wasm holds 98,450 data segments: construct decodes them in about 1.2 s,
this loop in a fraction of that. ``tests/test_grammar_fast.py`` checks that
``scan_data`` agrees with ``grammar.DataSegment`` on random and real input,
errors included.
"""

from __future__ import annotations

import operator
import struct
from itertools import repeat

from ..errors import DecodeError
from .entries import at_base, read_const_expr, read_export, read_global, vector_end
from .leb import read_count, read_s32, read_s64, read_u32
from .valtypes import KINDS, VALTYPE_BYTES

_HEAD = struct.Struct("<H7B")  # the first bytes of a usual segment, at most (flags and opcode as one)
_NO_HEAD = (0,) * 8  # in their place near the end of the payload: not a usual segment
_BEYOND = 1 << 64  # above any i64.const
# An i32.const LEB read as a sum of lookups, one table per byte place (a lookup returns
# a cached int where masking and shifting would make new ones; the tables are ranges,
# made at C speed): a continuation byte at place 1 or 2 gives its 7 bits' value (at
# place 1 less the first byte's continuation bit, 0x80, one subtraction fewer); the
# last byte, at place 0 to 3, its value with the sign (bit 6) applied (at place 1, less
# 0x80 too).
_B1 = tuple(range(-0x80, 0x3F80, 0x80)) * 2
_B2 = tuple(range(0, 1 << 21, 1 << 14)) * 2


def _last(shift: int, less: int = 0) -> tuple:
    """Byte x (0..127), the last of a signed LEB, at bit ``shift``, less ``less``; with its
    sign bit set, plus 2**32, so that the sum is the i32 read as unsigned: the address
    a memory takes it for (the bytes before it add less than the sign takes away)."""
    step = 1 << shift
    return (tuple(range(-less, (64 << shift) - less, step))
            + tuple(range((1 << 32) + (-64 << shift) - less, (1 << 32) - less, step)))


_LAST0, _LAST1, _LAST2, _LAST3 = _last(0), _last(7, 0x80), _last(14), _last(21)


class Scan:
    """What ``scan_data`` finds, as columns with one item per segment (lists: an
    append is a third of the cost of packing a record, and the ints exist anyway):

    - ``data_end``: where the segment's bytes end, relative to the payload (and
      ``data_start``, where they start: made from the ends and sizes when first asked
      for, since only some commands read it, and the loop makes one int less so);
    - ``size``: how many bytes;
    - ``const``: its address where the offset is a single i32/i64.const (the constant read
      as unsigned, as the memory does), else None (passive too);
    - ``odd``: {index: (start, expr_start, expr_end, flags, memory)} for each segment
      not in the usual form (flags 0, an i32.const of up to 4 LEB bytes, a canonical
      size of 1 or 2 bytes), whose positions the columns do not imply (``record``).

    And the totals every command asks for, summed in the same pass (a second pass
    over 98,450 segments costs tens of ms): ``first`` and ``end``, the extent of the
    active constant-offset segments of memory 0 (None without any); ``total``, bytes of
    all segments; ``plain``, true when every segment is active in memory 0 with a
    constant offset. (A plain class: typing.NamedTuple would cost 12 ms of every start.)

    And how those segments of memory 0 are ordered, for the gap count without a sort:
    ``runs``, the (first byte, end) of each stretch in which every segment starts at or
    after the end of the one before (so in address order and disjoint), in section
    order, and ``run_starts``, the index of each run's first segment; ``touching``, how
    many segments start exactly where the one before ended. wasm-ld emits one run
    (ffmpeg-core.wasm's 28,951 segments); esbuild.wasm's Go linker emits two that
    interleave, which static_gaps then merges by bisection.
    """

    __slots__ = ("data_end", "_data_start", "size", "const", "odd", "body", "first", "end", "total", "plain",
                 "runs", "run_starts", "touching")

    def __len__(self) -> int:
        return len(self.size)

    @property
    def data_start(self) -> list:
        if self._data_start is None:
            self._data_start = list(map(operator.sub, self.data_end, self.size))
        return self._data_start

    def record(self, i: int) -> tuple:
        """(start, end, flags, memory, expr_start, expr_end, const, data_start, data_end) of segment ``i``."""
        de = self.data_end[i]
        ds = de - self.size[i]
        odd = self.odd.get(i)
        if odd is not None:
            start, es, ee, flags, memory = odd
            return start, de, flags, memory, es, ee, self.const[i], ds, de
        start = self.data_end[i - 1] if i else self.body
        return start, de, 0, 0, start + 1, ds - (1 if self.size[i] < 0x80 else 2), self.const[i], ds, de

    def memory(self, i: int) -> int | None:
        """The memory segment ``i`` writes to (None for a passive one)."""
        odd = self.odd.get(i)
        if odd is None:
            return 0
        return None if odd[3] == 1 else odd[4]

    def spans(self, memory: int = 0):
        """(indices, offsets, sizes) of the active segments of ``memory`` with constant
        offsets, in section order: the scan's own columns when every segment is one."""
        const = self.const
        if self.plain:
            return (range(len(const)), const, self.size) if memory == 0 else ([], [], [])
        odd = self.odd
        if memory == 0:
            index = [i for i, c in enumerate(const) if c is not None and (i not in odd or odd[i][4] == 0)]
        else:  # (a segment of another memory has flags 2: it is odd)
            index = [i for i, o in odd.items() if o[4] == memory and o[3] != 1 and const[i] is not None]
        size = self.size
        return index, [const[i] for i in index], [size[i] for i in index]

    def passive(self) -> int:
        return sum(1 for o in self.odd.values() if o[3] == 1)


def records(scan: Scan):
    """Every segment's ``Scan.record``, in order."""
    return map(scan.record, range(len(scan)))


def scan_data(payload, base: int) -> Scan:
    """Scan a data section payload into columns (see ``Scan``); positions are
    relative to ``payload``, errors carry file offsets (``base`` + position).
    Falls back to the grammar for an expression that is not a plain constant.
    """
    buf = payload
    size = len(buf)
    try:
        count, pos = read_u32(buf, 0)
    except DecodeError as e:
        raise DecodeError(e.message, base + e.offset) from None
    if count > size - pos:  # each segment takes at least one byte
        raise DecodeError(f"count {count} is larger than the {size - pos} remaining bytes could hold", base)
    body = pos
    ends, sizes, consts = [], [], []
    odd = {}
    plain = True
    touching = 0
    reach = _BEYOND  # where the last span of memory 0 ended (at first: beyond any, so a run starts)
    breaks = []  # (index, reach before it) of each span that starts a run
    head = _HEAD.unpack_from
    last = size - _HEAD.size
    b1, b2, s0, s1, s2, s3 = _B1, _B2, _LAST0, _LAST1, _LAST2, _LAST3
    try:
        for _ in repeat(None, count):  # (a lying count ends at the end of the payload)
            # The usual segment (flags 0, i32.const offset of up to 4 LEB bytes, a
            # canonical size of 1 or 2 bytes) from one unpack of its first 9 bytes into
            # locals: byte j is xj (fo holds bytes 0 and 1), so an offset of L bytes has
            # its end opcode in x(L+1) and its size in x(L+2), x(L+3). Each length has its
            # own branch, reading those at fixed places; end is where the data ends.
            # (No test here jumps far: CPython 3.11 specializes a comparison only where
            # its jump fits one byte: two generic ones cost 3% of the scan.)
            fo, x1, x2, x3, x4, x5, x6, x7 = head(buf, pos) if pos <= last else _NO_HEAD
            end = 0
            if fo != 0x4100:  # not flags 0 and i32.const: no branch below takes it
                x1 = x2 = x3 = x4 = 0x80
            if x1 < 0x80:
                if x2 == 0x0B:
                    const = s0[x1]
                    n = x3
                    if n < 0x80:
                        end = pos + (n + 5)
                    elif x4 < 0x80 and x4:
                        n += b1[x4]
                        end = pos + (n + 6)
            elif x2 < 0x80:
                if x3 == 0x0B:
                    const = x1 + s1[x2]
                    n = x4
                    if n < 0x80:
                        end = pos + (n + 6)
                    elif x5 < 0x80 and x5:
                        n += b1[x5]
                        end = pos + (n + 7)
            elif x3 < 0x80:
                if x4 == 0x0B:
                    const = x1 + b1[x2] + s2[x3]
                    n = x5
                    if n < 0x80:
                        end = pos + (n + 7)
                    elif x6 < 0x80 and x6:
                        n += b1[x6]
                        end = pos + (n + 8)
            elif x4 < 0x80 and x5 == 0x0B:
                const = x1 + b1[x2] + b2[x3] + s3[x4]
                n = x6
                if n < 0x80:
                    end = pos + (n + 8)
                elif x7 < 0x80 and x7:
                    n += b1[x7]
                    end = pos + (n + 9)
            if end:
                if end <= size:
                    if const != reach:
                        if const < reach:
                            breaks.append((len(sizes), reach))
                    else:
                        touching += 1
                    reach = const + n
                    ends.append(end)
                    sizes.append(n)
                    consts.append(const)
                    pos = end
                    continue
            start = pos
            flags = buf[pos]
            if flags < 0x80:
                pos += 1
            else:
                flags, pos = read_u32(buf, pos)
            memory = 0
            const = None
            if flags == 1:
                expr_start = expr_end = pos
            elif flags == 0 or flags == 2:
                if flags == 2:
                    memory, pos = read_u32(buf, pos)
                expr_start = pos
                op = buf[pos]
                if op == 0x41:  # (an address: the constant read as unsigned)
                    const, p = read_s32(buf, pos + 1)
                    const &= 0xFFFF_FFFF
                elif op == 0x42:
                    const, p = read_s64(buf, pos + 1)
                    const &= 0xFFFF_FFFF_FFFF_FFFF
                else:
                    p = -1
                if p >= 0 and buf[p] == 0x0B:
                    pos = p + 1
                else:
                    const = None
                    _, pos = read_const_expr(buf, expr_start)
                expr_end = pos
            else:
                raise DecodeError(f"malformed data segment flags {flags} (expected 0, 1 or 2)", start)
            b = buf[pos]
            if b < 0x80:
                n = b
                pos += 1
            else:
                n, pos = read_u32(buf, pos)
            end = pos + n
            if end > size:
                raise DecodeError(f"unexpected end of input: {n} bytes declared, {size - pos} remain", pos)
            odd[len(sizes)] = (start, expr_start, expr_end, flags, memory)
            ends.append(end)
            sizes.append(n)
            consts.append(const)
            if const is None or memory != 0:  # (const is None for a passive segment)
                plain = False
            elif const != reach:
                if const < reach:
                    breaks.append((len(sizes) - 1, reach))
                reach = const + n
            else:
                touching += 1
                reach = const + n
            pos = end
    except IndexError:
        raise DecodeError("unexpected end of input in data segment", base + size) from None
    except DecodeError as e:  # offsets inside the loop are relative to the payload
        raise DecodeError(e.message, base + e.offset) from None
    if pos != size:
        raise DecodeError(f"section size mismatch: {size - pos} bytes left over after the data segments", base + pos)
    scan = Scan()
    scan.data_end, scan._data_start, scan.size, scan.const, scan.odd, scan.body = ends, None, sizes, consts, odd, body
    # run k ends where the span that starts run k + 1 found the reach; the last, at the end
    scan.runs = runs = list(zip([consts[i] for i, _ in breaks], [r for _, r in breaks[1:]] + [reach]))
    scan.run_starts = [i for i, _ in breaks]
    scan.first, scan.end = (min(runs)[0], max(e for _, e in runs)) if runs else (None, None)
    scan.total, scan.plain, scan.touching = sum(sizes), plain, touching
    return scan


# -- exports and globals ---------------------------------------------------------------
# A module made by add-data from a large spec has an export and a global per object
# (110,000 of each): these loops read the usual entry without a call per field and hand
# anything else to the entry reader (entries.py), which reads it or raises its error.

_SIMPLE_INIT = frozenset((0x41, 0x42, 0x23, 0xD2))  # i32/i64.const, global.get, ref.func: one immediate


def read_exports(buf: bytes, base: int, make) -> list:
    """``[make(name, kind, index, raw)]``: what ``entries.read_vector`` with ``read_export``
    reads, errors included. Inline: a name of under 128 bytes, a known kind, a minimal
    index of up to three bytes (below 2**21)."""
    out = []
    kinds = KINDS
    size = len(buf)
    try:
        n, p = read_count(buf, 0)
        for _ in repeat(None, n):
            start = p
            # (Tests as conditional expressions: CPython 3.11 specializes a comparison
            # only where its jump fits one byte.)
            k = p + 1 + buf[p] if p < size and buf[p] < 0x80 else size  # the kind byte, after the name
            kind = kinds.get(buf[k]) if k + 1 < size else None
            if kind is not None:
                i = buf[k + 1]
                if i < 0x80:
                    p = k + 2
                elif k + 2 < size and 0 < buf[k + 2] < 0x80:
                    i += _B1[buf[k + 2]]
                    p = k + 3
                elif k + 3 < size and buf[k + 2] >= 0x80 and 0 < buf[k + 3] < 0x80:
                    i += _B1[buf[k + 2]] + (buf[k + 3] << 14)
                    p = k + 4
                else:
                    kind = None
                if kind is not None:
                    try:
                        out.append(make(buf[start + 1:k].decode(), kind, i, buf[start:p]))
                        continue
                    except UnicodeDecodeError:
                        pass  # (read_export says where)
            (name, kind, i), p = read_export(buf, start)
            out.append(make(name, kind, i, buf[start:p]))
        vector_end(buf, p, n, "exports")
    except DecodeError as e:
        raise at_base(e, base) from None
    return out


def read_globals(buf: bytes, base: int, make) -> list:
    """``[make(valtype, mutable, init, raw, type_raw)]``: what ``entries.read_vector`` with
    ``read_global`` reads, errors included. Inline: a one-byte value type, then an init of
    i32/i64.const, global.get or ref.func with an immediate of 1-4 bytes (always in range)."""
    out = []
    plain = VALTYPE_BYTES  # (without 0x63/0x64, which carry a heap type)
    simple = _SIMPLE_INIT
    size = len(buf)
    try:
        n, p = read_count(buf, 0)
        for _ in repeat(None, n):
            start = p
            if p + 7 < size and buf[p] in plain and buf[p + 1] < 2 and buf[p + 2] in simple:
                q = p + 3  # the immediate's last byte, at most 4 bytes on
                if buf[q] >= 0x80:
                    q += 1
                    if buf[q] >= 0x80:
                        q += 1
                        if buf[q] >= 0x80:
                            q += 1
                            if buf[q] >= 0x80:
                                q = 0
                if q and buf[q + 1] == 0x0B:
                    p = q + 2
                    raw = buf[start:p]
                    out.append(make(raw[0], raw[1] == 1, raw[2:], raw, raw[:2]))
                    continue
            ((valtype, mutable), init), p = read_global(buf, start)
            raw = buf[start:p]
            out.append(make(valtype, mutable, init, raw, raw[:len(raw) - len(init)]))
        vector_end(buf, p, n, "globals")
    except DecodeError as e:
        raise at_base(e, base) from None
    return out

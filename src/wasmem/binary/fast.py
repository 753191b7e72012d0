"""Hand-written readers for hot vectors, equal to the grammar by property test.

esbuild.wasm holds 98,450 data segments: construct decodes them in about 1.2 s,
this loop in a fraction of that. ``tests/test_grammar_fast.py`` checks that
``scan_data`` agrees with ``grammar.DataSegment`` on random and real input,
errors included.
"""

from __future__ import annotations

import struct
from array import array

from ..errors import DecodeError
from .entries import read_const_expr
from .leb import read_s32, read_s64, read_u32


# Fields of one record in the flat array scan_data returns.
FIELDS = 8
NO_CONST = 4  # added to the flags field when the offset is not a plain constant
_RECORD = struct.Struct(f"={FIELDS}q")  # native order and size, as array('q') holds them
_CHUNK = 8192  # records added to the array at a time: a lying count never allocates ahead
_ZEROS = array("q", bytes(_RECORD.size * _CHUNK))
_HEAD = struct.Struct("10B")  # the first bytes of a usual segment, at most
_NONE_LO, _NONE_HI = 1 << 64, -(1 << 64)  # beyond any i64.const


def records(flat):
    """The records of ``scan_data``'s array as tuples
    ``(start, end, flags, memory, expr_start, expr_end, const, data_start, data_end)``,
    ``const`` None where the offset is not a single i32/i64.const."""
    for i in range(0, len(flat), FIELDS):
        start, ds, n, es, ee, const, memory, kind = flat[i:i + FIELDS]
        if kind >= NO_CONST:
            yield start, ds + n, kind - NO_CONST, memory, es, ee, None, ds, ds + n
        else:
            yield start, ds + n, kind, memory, es, ee, const, ds, ds + n


class Scan:
    """What ``scan_data`` finds: the records, and the totals every command asks for,
    summed in the same pass (a second pass over 98,450 records costs 50 ms).
    (A plain class: typing.NamedTuple would cost 12 ms of every start.)"""

    __slots__ = ("flat", "first", "end", "total")

    def __init__(self, flat: array, first: int | None, end: int | None, total: int):
        self.flat = flat
        self.first = first  # lowest offset of the active constant-offset segments of memory 0
        self.end = end  # the end of the highest of them
        self.total = total  # bytes of all segments


def scan_data(payload, base: int) -> Scan:
    """Scan a data section payload into a flat ``array('q')``, ``FIELDS`` numbers
    per segment: start, data_start, size, expr_start, expr_end, const, memory,
    flags (+NO_CONST). Positions are relative to ``payload``. About 70 bytes a
    segment, where tuples of ints took over 300 (esbuild.wasm has 98,450).
    Records are packed into room made a chunk at a time (``pack_into`` is three
    times faster than ``array.extend`` of a tuple).
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
    out = array("q")
    lo, hi, total = _NONE_LO, _NONE_HI, 0
    pack = _RECORD.pack_into
    done = 0  # records so far
    step = _RECORD.size
    left = count
    head = _HEAD.unpack_from
    last = size - _HEAD.size
    try:
        while left:
            chunk = min(left, _CHUNK)
            left -= chunk
            out.extend(_ZEROS[:chunk * FIELDS] if chunk < _CHUNK else _ZEROS)
            for at in range(done * step, (done + chunk) * step, step):  # each record's byte offset in ``out``
                start = pos
                if pos <= last:
                    # The usual segment (flags 0, i32.const offset of up to 4 LEB bytes, a
                    # size of up to 2) from one unpack of its first 10 bytes: small ints in a
                    # tuple, no arithmetic on positions until the end. Else the general path.
                    h = head(buf, pos)
                    if h[0] == 0 and h[1] == 0x41:
                        b = h[2]
                        if b < 0x80:
                            const, k = (b - 0x80 if b & 0x40 else b), 3
                        else:
                            c = h[3]
                            if c < 0x80:
                                v = (b & 0x7F) | (c << 7)
                                const, k = (v - 0x4000 if c & 0x40 else v), 4
                            else:
                                d = h[4]
                                if d < 0x80:
                                    v = (b & 0x7F) | ((c & 0x7F) << 7) | (d << 14)
                                    const, k = (v - 0x200000 if d & 0x40 else v), 5
                                else:
                                    e = h[5]
                                    if e < 0x80:
                                        v = (b & 0x7F) | ((c & 0x7F) << 7) | ((d & 0x7F) << 14) | (e << 21)
                                        const, k = (v - 0x10000000 if e & 0x40 else v), 6
                                    else:
                                        k = 0
                        if k and h[k] == 0x0B:
                            n = h[k + 1]
                            if n < 0x80:
                                d = k + 2
                            else:
                                e = h[k + 2]
                                n = (n & 0x7F) | (e << 7)
                                d = k + 3 if e < 0x80 else 0
                            if d:
                                ds = pos + d
                                end = ds + n
                                if end <= size:
                                    pack(out, at, pos, ds, n, pos + 1, pos + k + 1, const, 0, 0)
                                    total += n
                                    if const < lo:
                                        lo = const
                                    if const + n > hi:
                                        hi = const + n
                                    pos = end
                                    continue
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
                    if op == 0x41:  # (the usual short forms took the fast path above)
                        const, p = read_s32(buf, pos + 1)
                    elif op == 0x42:
                        const, p = read_s64(buf, pos + 1)
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
                total += n
                if const is None:
                    pack(out, at, start, pos, n, expr_start, expr_end, 0, memory, flags + NO_CONST)
                else:
                    pack(out, at, start, pos, n, expr_start, expr_end, const, memory, flags)
                    if memory == 0:  # const is None for a passive segment
                        if const < lo:
                            lo = const
                        if const + n > hi:
                            hi = const + n
                pos = end
            done += chunk
    except IndexError:
        raise DecodeError("unexpected end of input in data segment", base + size) from None
    except DecodeError as e:  # offsets inside the loop are relative to the payload
        raise DecodeError(e.message, base + e.offset) from None
    if pos != size:
        raise DecodeError(f"section size mismatch: {size - pos} bytes left over after the data segments", base + pos)
    if lo is _NONE_LO:
        return Scan(out, None, None, total)
    return Scan(out, lo, hi, total)


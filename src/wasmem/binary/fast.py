"""Hand-written readers for hot vectors, equal to the grammar by property test.

esbuild.wasm holds 98,450 data segments: construct decodes them in about 1.2 s,
this loop in a fraction of that. ``tests/test_grammar_fast.py`` checks that
``scan_data`` agrees with ``grammar.DataSegment`` on random and real input,
errors included.
"""

from __future__ import annotations

from array import array

from ..errors import DecodeError
from .entries import read_const_expr
from .leb import read_s32, read_s64, read_u32


# Fields of one record in the flat array scan_data returns.
FIELDS = 8
NO_CONST = 4  # added to the flags field when the offset is not a plain constant


def records(flat):
    """The records of ``scan_data``'s array as tuples
    ``(start, end, flags, memory, expr_start, expr_end, const, data_start, data_end)``,
    ``const`` None where the offset is not a single i32/i64.const."""
    for i in range(0, len(flat), FIELDS):
        start, ds, end, es, ee, const, memory, kind = flat[i:i + FIELDS]
        if kind >= NO_CONST:
            yield start, end, kind - NO_CONST, memory, es, ee, None, ds, end
        else:
            yield start, end, kind, memory, es, ee, const, ds, end


def scan_data(payload, base: int):
    """Scan a data section payload into a flat ``array('q')``, ``FIELDS`` numbers
    per segment: start, data_start, end, expr_start, expr_end, const, memory,
    flags (+NO_CONST). Positions are relative to ``payload``. About 70 bytes a
    segment, where tuples of ints took over 300 (esbuild.wasm has 98,450).
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
    extend = out.extend
    try:
        for _ in range(count):
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
                if op == 0x41:
                    # i32.const: inline the short forms, the strict reader for the 5-byte one
                    b = buf[pos + 1]
                    if b < 0x80:
                        const, p = (b - 0x80 if b & 0x40 else b), pos + 2
                    else:
                        c = buf[pos + 2]
                        if c < 0x80:
                            v = (b & 0x7F) | (c << 7)
                            const, p = (v - 0x4000 if c & 0x40 else v), pos + 3
                        else:
                            d = buf[pos + 3]
                            if d < 0x80:
                                v = (b & 0x7F) | ((c & 0x7F) << 7) | (d << 14)
                                const, p = (v - 0x200000 if d & 0x40 else v), pos + 4
                            else:
                                e = buf[pos + 4]
                                if e < 0x80:
                                    v = (b & 0x7F) | ((c & 0x7F) << 7) | ((d & 0x7F) << 14) | (e << 21)
                                    const, p = (v - 0x10000000 if e & 0x40 else v), pos + 5
                                else:
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
            if const is None:
                extend((start, pos, end, expr_start, expr_end, 0, memory, flags + NO_CONST))
            else:
                extend((start, pos, end, expr_start, expr_end, const, memory, flags))
            pos = end
    except IndexError:
        raise DecodeError("unexpected end of input in data segment", base + size) from None
    except DecodeError as e:  # offsets inside the loop are relative to the payload
        raise DecodeError(e.message, base + e.offset) from None
    if pos != size:
        raise DecodeError(f"section size mismatch: {size - pos} bytes left over after the data segments", base + pos)
    return out


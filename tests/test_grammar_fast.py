"""The hand-written data-segment scanner equals the construct grammar."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus_files
from wasmem.binary import grammar as g
from wasmem.binary.fast import records, scan_data
from wasmem.binary.leb import encode_s, encode_u, read_s32, read_s64
from wasmem.errors import DecodeError


def grammar_const(flags: int, expr: bytes | None):
    """The address a segment's expression gives when it is a single i32/i64.const (read as
    unsigned, as a memory does), else None."""
    if flags == 1 or expr[0] not in (0x41, 0x42):
        return None
    value, p = (read_s32 if expr[0] == 0x41 else read_s64)(expr, 1)
    bits = 32 if expr[0] == 0x41 else 64
    return value % (1 << bits) if p == len(expr) - 1 else None  # (a single constant, then end)


def by_grammar(payload: bytes, base: int):
    r = g.Reader(payload, base)
    n = r.count()
    out = []
    for _ in range(n):
        c = r.parse(g.DataSegment)
        expr = None if c.offset_expr is None else bytes(c.offset_expr)
        out.append((c.flags, c.memory, expr, grammar_const(c.flags, expr), bytes(c.data)))
    r.expect_end("data segments")
    return out


def by_scan(payload: bytes, base: int):
    return [(f, m, payload[es:ee] if f != 1 else None, c, payload[ds:de])
            for _s, _e, f, m, es, ee, c, ds, de in records(scan_data(payload, base))]


def totals_by_grammar(payload: bytes):
    """(first, end, total) as ``scan_data`` sums them, from the grammar's segments."""
    spans, total = [], 0
    for flags, memory, expr, value, data in by_grammar(payload, 0):
        total += len(data)
        if memory == 0 and value is not None:
            spans.append((value, value + len(data)))
    return (min((a for a, _ in spans), default=None), max((b for _, b in spans), default=None), total)


def runs_by_grammar(payload: bytes):
    """(runs, touching) as ``scan_data`` finds them: stretches of memory 0's constant-offset
    segments each starting at or after the end of the one before, and how many start
    exactly there."""
    runs, touching = [], 0
    for flags, memory, expr, value, data in by_grammar(payload, 0):
        if memory != 0 or value is None:
            continue
        if runs and value >= runs[-1][1]:
            touching += value == runs[-1][1]
            runs[-1] = (runs[-1][0], value + len(data))
        else:
            runs.append((value, value + len(data)))
    return runs, touching


def outcome(fn, payload, base):
    try:
        return ("ok", fn(payload, base))
    except DecodeError as e:
        return ("error", e.offset)


@st.composite
def leb_u(draw, value):
    minimal = len(encode_u(value))
    return encode_u(value, draw(st.integers(minimal, 5)))


@st.composite
def signed_of_each_length(draw, bits: int):
    """A signed ``bits``-bit value whose minimal LEB takes a drawn number of bytes, uniform
    within that length's range: half of them have the length's top bit apart from the
    sign bit, which a decoder that takes the wrong bit for the sign gets wrong."""
    length = draw(st.integers(1, -(-bits // 7)))
    top = min(7 * length - 1, bits - 1)
    return draw(st.integers(-(1 << top), (1 << top) - 1))


@st.composite
def segment(draw):
    # Most draws take the scanner's inline path (flags 0 and an i32.const, both minimal,
    # a minimal size): its every branch must meet values that tell right from wrong.
    flags = draw(st.sampled_from([0, 0, 0, 1, 2]))
    out = draw(st.one_of(st.just(encode_u(flags)), leb_u(flags)))
    if flags == 2:
        out += draw(leb_u(draw(st.integers(0, 3))))
    if flags != 1:
        kind = draw(st.sampled_from(["i32", "i32", "i32", "i64", "global", "add"]))
        if kind == "i32":  # offsets of every LEB length, both signs (1-4 bytes take the inline path)
            value = draw(signed_of_each_length(32))
            out += b"\x41" + encode_s(value, draw(st.one_of(st.none(), st.integers(1, 5)))) + b"\x0b"
        elif kind == "i64":
            out += b"\x42" + encode_s(draw(st.integers(-(1 << 63), (1 << 63) - 1))) + b"\x0b"
        elif kind == "global":
            out += b"\x23" + encode_u(draw(st.integers(0, 5))) + b"\x0b"
        else:  # an extended constant: its first constant is not followed by end
            value = draw(signed_of_each_length(32))
            out += b"\x41" + encode_s(value) + b"\x41\x02\x6a\x0b"
    data = draw(st.one_of(st.binary(max_size=40), st.binary(min_size=120, max_size=300)))  # 1- and 2-byte sizes
    n = len(data)  # its size minimal, or padded (to two bytes: what the inline path must refuse)
    return out + draw(st.sampled_from([encode_u(n), encode_u(n), encode_u(n, max(2, len(encode_u(n)))), encode_u(n, 5)])) + data


@st.composite
def data_payload(draw):
    segs = draw(st.lists(segment(), max_size=6))
    return encode_u(len(segs)) + b"".join(segs)


def check_queries(scan):
    """Scan's per-segment queries agree with its records."""
    recs = list(records(scan))
    # the records tile the payload: each segment starts where the one before it ends
    assert [r[0] for r in recs] == ([scan.body] + [r[1] for r in recs[:-1]] if recs else [])
    assert [scan.memory(i) for i in range(len(scan))] == [None if r[2] == 1 else r[3] for r in recs]
    for memory in range(4):
        index, offsets, sizes = scan.spans(memory)
        want = [(i, r[6], r[8] - r[7]) for i, r in enumerate(recs) if r[2] != 1 and r[3] == memory and r[6] is not None]
        assert list(zip(index, offsets, sizes)) == want
    assert scan.passive() == sum(1 for r in recs if r[2] == 1)
    assert scan.plain == all(r[2] != 1 and r[3] == 0 and r[6] is not None for r in recs)


@settings(max_examples=400)
@given(data_payload(), st.integers(0, 1000))
def test_scan_equals_grammar_on_valid(payload, base):
    assert outcome(by_scan, payload, base) == outcome(by_grammar, payload, base)
    assert outcome(by_scan, payload, base)[0] == "ok"
    scan = scan_data(payload, base)
    assert (scan.first, scan.end, scan.total) == totals_by_grammar(payload)
    assert (scan.runs, scan.touching) == runs_by_grammar(payload)
    check_queries(scan)


@st.composite
def chained_payload(draw):
    """Segments each placed near where the one before ended (touching, apart, overlapping
    by a byte or more, empty), some passive or in memory 1: every way a run goes on or ends."""
    segs, reach = [], draw(st.integers(0, 1 << 20))
    for _ in range(draw(st.integers(1, 12))):
        data = bytes(draw(st.integers(0, 4)))
        kind = draw(st.sampled_from(["active"] * 6 + ["passive", "other"]))
        if kind == "passive":
            segs.append(b"\x01" + encode_u(len(data)) + data)
            continue
        at = max(0, reach + draw(st.sampled_from([0, 0, 1, 7, -1, -2, -100])))
        head = b"\x00" if kind == "active" else b"\x02\x01"
        segs.append(head + b"\x41" + encode_s(at) + b"\x0b" + encode_u(len(data)) + data)
        if kind == "active":
            reach = at + len(data)
    return encode_u(len(segs)) + b"".join(segs)


@settings(max_examples=300)
@given(chained_payload())
def test_scan_runs_equal_the_grammars(payload):
    scan = scan_data(payload, 0)
    assert (scan.runs, scan.touching) == runs_by_grammar(payload)
    assert (scan.first, scan.end, scan.total) == totals_by_grammar(payload)


@settings(max_examples=600)
@given(data_payload(), st.data())
def test_scan_equals_grammar_on_damaged(payload, data):
    """Truncated or corrupted: both accept the same inputs, with the same result."""
    if payload:
        i = data.draw(st.integers(0, len(payload) - 1))
        mode = data.draw(st.sampled_from(["cut", "flip", "insert"]))
        if mode == "cut":
            payload = payload[:i]
        elif mode == "flip":
            payload = payload[:i] + bytes([payload[i] ^ data.draw(st.integers(1, 255))]) + payload[i + 1:]
        else:
            payload = payload[:i] + data.draw(st.binary(min_size=1, max_size=3)) + payload[i:]
    a, b = outcome(by_scan, payload, 100), outcome(by_grammar, payload, 100)
    assert a[0] == b[0], (payload.hex(), a, b)
    if a[0] == "ok":
        assert a == b


def test_scan_equals_grammar_on_corpus(corpus):
    from wasmem.module import Module

    n = 0
    for f in corpus_files("valid"):
        sec = Module.from_bytes(f.read_bytes()).section(11)
        if sec is not None:
            p = bytes(sec.payload)
            assert by_scan(p, sec.offset) == by_grammar(p, sec.offset), f.name
            scan = scan_data(p, sec.offset)
            assert (scan.first, scan.end, scan.total) == totals_by_grammar(p), f.name
            assert (scan.runs, scan.touching) == runs_by_grammar(p), f.name
            check_queries(scan)
            n += 1
    assert n > 200


def test_scan_of_many_segments():
    """16,389 segments of every size class, a seventh of them passive: the same as the
    grammar, and a count that claims more segments than there are fails the same way."""
    import random

    rng = random.Random(7)
    segs = []
    for i in range(2 * 8192 + 5):
        data = bytes(rng.randrange(256) for _ in range(20000 if i == 5 else rng.choice([0, 1, 3, 200])))
        segs.append(b"\x00\x41" + encode_s(rng.randrange(-2**31, 2**31)) + b"\x0b" + encode_u(len(data)) + data
                    if i % 7 else b"\x01" + encode_u(len(data)) + data)
    payload = encode_u(len(segs)) + b"".join(segs)
    assert by_scan(payload, 0) == by_grammar(payload, 0)
    scan = scan_data(payload, 0)
    assert (scan.first, scan.end, scan.total) == totals_by_grammar(payload)
    assert (scan.runs, scan.touching) == runs_by_grammar(payload)
    check_queries(scan)
    lying = encode_u(len(segs) + 1) + b"".join(segs)
    assert outcome(by_scan, lying, 5) == outcome(by_grammar, lying, 5)
    assert outcome(by_scan, lying, 5)[0] == "error"


def test_the_leb_tables_hold_each_byte_place_value():
    """The scan's lookup tables (made from ranges) against the rule they stand for."""
    from wasmem.binary import fast

    assert fast._B1 == tuple(((x & 0x7F) << 7) - 0x80 for x in range(256))
    assert fast._B2 == tuple((x & 0x7F) << 14 for x in range(256))
    for table, shift in zip((fast._LAST0, fast._LAST1, fast._LAST2, fast._LAST3), (0, 7, 14, 21)):
        less = 0x80 if shift == 7 else 0
        # (with the sign bit, plus 2**32: the i32 comes out unsigned, as an address)
        assert table == tuple((x << shift) - ((1 << shift + 7) - (1 << 32) if x & 0x40 else 0) - less
                              for x in range(128))
    value = read_s32(bytes([0x80 | 5, 0x80 | 9, 0x7F]), 0)[0]
    assert value < 0 and value + (1 << 32) == 5 + fast._B1[0x80 | 9] + 0x80 + fast._LAST2[0x7F]


# -- exports and globals: the inline readers equal entries.read_vector with the entry
# readers (themselves equal to the grammar: test_entries_vs_grammar.py), errors included.

from wasmem.binary import entries as E  # noqa: E402
from wasmem.binary.fast import read_exports, read_globals  # noqa: E402


def _by_entries(payload, base, reader, what):
    try:
        return ("ok", [(v, bytes(raw)) for v, raw, _ in E.read_vector(payload, base, reader, what)])
    except DecodeError as e:
        return ("error", e.message, e.offset)


def _by_fast(payload, base, read):
    try:
        return ("ok", read(payload, base, lambda *a: a))
    except DecodeError as e:
        return ("error", e.message, e.offset)


def exports_outcome(payload, base):
    a = _by_entries(payload, base, E.read_export, "exports")
    b = _by_fast(payload, base, read_exports)
    if b[0] == "ok":  # (name, kind, index, raw) -> ((name, kind, index), raw)
        b = ("ok", [((n, k, i), raw) for n, k, i, raw in b[1]])
    return a, b


def globals_outcome(payload, base):
    a = _by_entries(payload, base, E.read_global, "globals")
    b = _by_fast(payload, base, read_globals)
    if b[0] == "ok":  # (valtype, mutable, init, raw, type_raw) -> (((valtype, mutable), init), raw)
        assert all(raw == type_raw + init for _, _, init, raw, type_raw in b[1])
        b = ("ok", [(((v, m), init), raw) for v, m, init, raw, _ in b[1]])
    return a, b


_names = st.one_of(st.text(max_size=6), st.text(min_size=120, max_size=140)).map(lambda s: s.encode())
_bad_names = st.binary(max_size=4)  # often not UTF-8


@st.composite
def export_entry(draw):
    name = draw(st.one_of(_names, _names, _names, _bad_names))
    kind = draw(st.sampled_from([0, 1, 2, 3, 4, 3, 3, 5]))
    index = draw(st.one_of(st.sampled_from([0, 5, 127, 128, 300, 16383, 16384, 2**21 - 1, 2**21, 2**32 - 1]),
                           st.integers(0, 2**22)))
    minimal = encode_u(index)
    return (draw(leb_u(len(name))) + name + bytes([kind])
            + draw(st.one_of(st.just(minimal), st.just(minimal), leb_u(index))))


@st.composite
def global_entry(draw):
    vt = draw(st.sampled_from([b"\x7f", b"\x7e", b"\x7d", b"\x7c", b"\x7b", b"\x70", b"\x6f", b"\x63\x05",
                               b"\x64\x6f", b"\x40"]))
    mut = bytes([draw(st.sampled_from([0, 1, 2]))])
    op = draw(st.sampled_from([0x41, 0x42, 0x23, 0xD2, 0x44]))
    if op == 0x44:
        init = b"\x44" + bytes(8) + b"\x0b"
    elif op in (0x41, 0x42):
        value = draw(signed_of_each_length(32 if op == 0x41 else 64))
        init = bytes([op]) + encode_s(value, draw(st.sampled_from([1, 1, 1, 2, 4, 5, 6]))) + b"\x0b"
    else:
        value = draw(st.one_of(st.integers(0, 127), st.integers(0, 2**28), st.integers(0, 2**32 - 1)))
        init = bytes([op]) + draw(st.one_of(st.just(encode_u(value)), leb_u(value))) + b"\x0b"
    if draw(st.integers(0, 4)) == 0:  # an extended constant expression, or a stray byte after the immediate
        init = init[:-1] + draw(st.sampled_from([b"\x41\x01\x6a\x0b", b"\x6a\x0b", b"\x0b\x0b", b"\x6a"]))
    return vt + mut + init


def _damaged(data, payload):
    if payload and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(payload) - 1))
        mode = data.draw(st.sampled_from(["cut", "flip", "insert"]))
        if mode == "cut":
            return payload[:i]
        if mode == "flip":
            return payload[:i] + bytes([payload[i] ^ data.draw(st.integers(1, 255))]) + payload[i + 1:]
        return payload[:i] + data.draw(st.binary(min_size=1, max_size=3)) + payload[i:]
    return payload


@pytest.mark.parametrize("entry, outcome", [(export_entry, exports_outcome), (global_entry, globals_outcome)],
                         ids=["exports", "globals"])
@settings(max_examples=500)
@given(data=st.data())
def test_reader_equals_the_entry_reader(entry, outcome, data):
    entries = data.draw(st.lists(entry(), max_size=6))
    payload = _damaged(data, encode_u(len(entries)) + b"".join(entries))
    a, b = outcome(payload, 77)
    assert a == b, payload.hex()


def test_export_and_global_readers_on_corpus(corpus):
    from wasmem.module import Module

    n = 0
    for f in corpus_files("valid"):
        m = Module.from_bytes(f.read_bytes())
        for sid, outcome_of in ((6, globals_outcome), (7, exports_outcome)):
            sec = m.section(sid)
            if sec is not None:
                a, b = outcome_of(bytes(sec.payload), sec.offset)
                assert a == b and a[0] == "ok", f.name
                n += 1
    assert n > 300


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="a rule of CPython 3.11's specializing interpreter")
def test_no_comparison_in_the_hot_loops_jumps_far():
    """CPython 3.11 specializes a comparison only where the jump after it fits one byte;
    otherwise (an EXTENDED_ARG between them) every run of it is a generic compare, 3% of
    the scan for two of them. Keep the tests of these loops' bodies near their targets."""
    import dis

    from wasmem.binary import fast

    far = []
    for f in (fast.scan_data, fast.read_exports, fast.read_globals):
        ins = list(dis.get_instructions(f))
        far += [f"{f.__name__} line {a.positions.lineno}" for a, b in zip(ins, ins[1:])
                if a.opname == "COMPARE_OP" and b.opname == "EXTENDED_ARG"]
    assert far == []

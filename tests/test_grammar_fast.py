"""The hand-written data-segment scanner equals the construct grammar."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus_files
from wasmem.binary import grammar as g
from wasmem.binary.fast import records, scan_data
from wasmem.binary.leb import encode_s, encode_u, read_s32, read_s64
from wasmem.errors import DecodeError


def by_grammar(payload: bytes, base: int):
    r = g.Reader(payload, base)
    n = r.count()
    out = []
    for _ in range(n):
        c = r.parse(g.DataSegment)
        out.append((c.flags, c.memory, None if c.offset_expr is None else bytes(c.offset_expr), bytes(c.data)))
    r.expect_end("data segments")
    return out


def by_scan(payload: bytes, base: int):
    return [(f, m, payload[es:ee] if f != 1 else None, payload[ds:de])
            for _s, _e, f, m, es, ee, _c, ds, de in records(scan_data(payload, base))]


def totals_by_grammar(payload: bytes):
    """(first, end, total) as ``scan_data`` sums them, from the grammar's segments."""
    spans, total = [], 0
    for flags, memory, expr, data in by_grammar(payload, 0):
        total += len(data)
        if flags == 1 or memory != 0 or expr[0] not in (0x41, 0x42):
            continue
        value, p = (read_s32 if expr[0] == 0x41 else read_s64)(expr, 1)
        if p == len(expr) - 1:  # a single constant, then end
            spans.append((value, value + len(data)))
    return (min((a for a, _ in spans), default=None), max((b for _, b in spans), default=None), total)


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
def segment(draw):
    flags = draw(st.sampled_from([0, 1, 2]))
    out = draw(leb_u(flags))
    if flags == 2:
        out += draw(leb_u(draw(st.integers(0, 3))))
    if flags != 1:
        kind = draw(st.sampled_from(["i32", "i64", "global", "add"]))
        if kind == "i32":
            out += b"\x41" + encode_s(draw(st.integers(-(1 << 31), (1 << 31) - 1)), draw(st.integers(1, 5))) + b"\x0b"
        elif kind == "i64":
            out += b"\x42" + encode_s(draw(st.integers(-(1 << 63), (1 << 63) - 1))) + b"\x0b"
        elif kind == "global":
            out += b"\x23" + encode_u(draw(st.integers(0, 5))) + b"\x0b"
        else:
            out += b"\x41\x01\x41\x02\x6a\x0b"
    data = draw(st.one_of(st.binary(max_size=40), st.binary(min_size=120, max_size=300)))  # 1- and 2-byte sizes
    return out + draw(leb_u(len(data))) + data


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
    check_queries(scan)


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
    check_queries(scan)
    lying = encode_u(len(segs) + 1) + b"".join(segs)
    assert outcome(by_scan, lying, 5) == outcome(by_grammar, lying, 5)
    assert outcome(by_scan, lying, 5)[0] == "error"

"""The data view answers from its scan and takes appended segments without
making objects of the existing ones; the bytes are the same either way."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, wat
from wasmem.binary.leb import encode_s
from wasmem.errors import DecodeError
from wasmem.model import DataSegment, const_expr
from wasmem.module import Module

MODULE = FIXTURES / "import-memory" / "0.28.20-strings-O3" / "plain.wasm"


def appended(materialize: bool) -> tuple[bytes, Module]:
    m = Module.from_file(MODULE)
    view = m.view(11)
    if materialize:
        m.data  # noqa: B018 - make every segment an object first
    view.append(DataSegment("active", 0, const_expr(4000), b"tail", 0))
    view.append(DataSegment("passive", 0, None, b"later", 1))
    return m.to_bytes(), m


def test_append_without_materializing_writes_the_same_bytes():
    lazy, m = appended(False)
    assert m.view(11)._entries is None  # nothing was materialized
    eager, _ = appended(True)
    assert lazy == eager
    out = Module.from_bytes(lazy)
    assert [(d.mode, d.offset, bytes(d.data)) for d in out.data[-2:]] == [("active", 4000, b"tail"),
                                                                          ("passive", None, b"later")]
    assert out.data_count == Module.from_file(MODULE).data_count  # left for the caller to set


def test_queries_see_appended_segments():
    _, m = appended(False)
    view = m.view(11)
    n = len(Module.from_file(MODULE).data)
    assert len(view) == n + 2
    assert view.spans(0)[-1] == (4000, 4, n)
    index, offsets, sizes = view.span_table(0)
    assert (index[-1], offsets[-1], sizes[-1]) == (n, 4000, 4)
    offsets, sizes = view.span_columns(0)
    assert offsets[-1] == 4000 and sizes[-1] == 4
    assert bytes(view.segment_data(n)) == b"tail"
    assert m.read_static(4000, 4) == b"tail"
    stats = view.stats()
    assert stats["count"] == n + 2 and stats["passive"] == 1


def test_memory64_zero_fill_uses_i64_offsets():
    from wasmem.rewrite.data import static_gaps, zero_fill

    m = Module.from_bytes(wat('(module (memory i64 1) (data (i64.const 0) "ab") (data (i64.const 8) "cd"))'))
    zero_fill(m, 0)
    out = Module.from_bytes(m.to_bytes())
    assert out.data[-1].offset_expr[0] == 0x42 and out.data[-1].offset == 2
    assert static_gaps(out, 0)["count"] == 0


def test_offsets_are_addresses_read_unsigned(capsys, validate_wasm):
    # i32.const -16 is address 0xFFFFFFF0, the top of a 4 GiB memory, and i64.const -8 the top
    # of a memory64's space: they read as signed numbers, and zero-fill once wrote 27 bytes
    # at i32.const -11 (they run past 4 GiB: the output trapped where the input ran)
    from wasmem.rewrite.data import static_gaps, zero_fill

    data = wat('(module (memory 65536) (data (i32.const -256) "a") (data (i32.const -16) "hello"))')
    m = Module.from_bytes(data)
    assert [d.offset for d in m.data] == [0xFFFFFF00, 0xFFFFFFF0]
    assert m.view(11).extent(0) == (0xFFFFFF00, 0xFFFFFFF5)
    assert static_gaps(m, 0, collect=True) == {"count": 1, "bytes": 239, "start": 0xFFFFFF00, "end": 0xFFFFFFF5,
                                               "gaps": [(0xFFFFFF01, 0xFFFFFFF0)]}
    assert zero_fill(m, 0) == {"segments_added": 1, "zero_bytes": 239}
    out = m.to_bytes()
    assert m.data[-1].offset_expr == b"\x41\x81\x7e\x0b"  # i32.const -255: address 0xFFFFFF01
    assert (m.data[-1].offset, bytes(m.data[-1].data)) == (0xFFFFFF01, bytes(239))
    assert validate_wasm(out)[0] and static_gaps(Module.from_bytes(out), 0)["count"] == 0
    m64 = Module.from_bytes(wat('(module (memory i64 1) (data (i64.const -8) "ab") (data (i64.const -4) "c"))'))
    assert [d.offset for d in m64.data] == [(1 << 64) - 8, (1 << 64) - 4]
    zero_fill(m64, 0)
    assert m64.data[-1].offset_expr == b"\x42\x7a\x0b" and m64.data[-1].offset == (1 << 64) - 6
    assert const_expr((1 << 64) - 6, 0x42) == b"\x42\x7a\x0b"
    assert const_expr(0xFFFFFF01) == b"\x41" + encode_s(-255) + b"\x0b"


def test_zero_fill_has_a_limit(tmp_path, capsys):
    from wasmem.cli import main
    from wasmem.rewrite.data import ZERO_FILL_LIMIT

    src = tmp_path / "top.wasm"
    src.write_bytes(wat('(module (memory 65536) (data (i32.const 16) "a") (data (i32.const -16) "hello"))'))
    assert main(["info", str(src), "--json", "--segments"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["data"]["start"], doc["data"]["end"]) == (16, 0xFFFFFFF5)
    assert [s["offset"] for s in doc["segments"]] == [16, 0xFFFFFFF0]
    out = tmp_path / "out.wasm"
    assert main(["import-memory", str(src), "-o", str(out), "--zero-fill"]) == 2
    assert not out.exists()
    assert capsys.readouterr().err == (
        f"wasmem: error: {src}: --zero-fill would write 4294967263 bytes of zeros between 17 and 4294967280, more "
        f"than its limit of {ZERO_FILL_LIMIT >> 20} MiB: convert without it (the host must then provide zeroed "
        "memory there), or fill that memory at start\n")
    assert main(["import-memory", str(src), "-o", str(out)]) == 0
    assert "1 gap, 4294967263 bytes in all, between 16 and 4294967285" in capsys.readouterr().err


@st.composite
def segment_layouts(draw):
    """Active segments of memory 0 (unordered, overlapping, empty), some passive or
    in memory 1, as WAT."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["active"] * 4 + ["passive", "other"]))
        data = "\\00" * draw(st.integers(0, 9))
        if kind == "passive":
            out.append((None, f'(data "{data}")'))
        else:
            off = draw(st.integers(0, 120))
            mem = 1 if kind == "other" else 0
            out.append(((off, len(data) // 3) if mem == 0 else None,
                        f'(data (memory {mem}) (i32.const {off}) "{data}")'))
    return out


@settings(max_examples=200, deadline=None)
@given(segment_layouts())
def test_static_gaps_equal_a_byte_by_byte_count(layout):
    from wasmem.rewrite.data import static_gaps

    m = Module.from_bytes(wat("(module (memory 1) (memory 1) " + " ".join(w for _, w in layout) + ")"))
    written = {a for span in (s for s, _ in layout if s) for a in range(span[0], span[0] + span[1])}
    start, end = (min(written), max(written) + 1) if written else (None, None)
    holes = [a for a in range(start, end) if a not in written] if written else []
    runs = []
    for a in holes:
        if runs and runs[-1][1] == a:
            runs[-1][1] = a + 1
        else:
            runs.append([a, a + 1])
    got = static_gaps(m, 0, collect=True)
    assert got == {"count": len(runs), "bytes": len(holes), "start": start, "end": end,
                   "gaps": [tuple(r) for r in runs]}
    # without the list of holes: from the scan's runs where they are disjoint, else sorted
    assert static_gaps(m, 0) == dict(got, gaps=[])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.binary(max_size=9), st.integers(0, 4)), max_size=10),
       st.integers(0, 50), st.integers(0, 80))
def test_read_static_paints_segments_in_order(segments, address, size):
    """From the scan and from segment objects alike: later segments win, other
    memories and passive segments write nothing."""
    parts = []
    for off, data, kind in segments:
        text = "".join(f"\\{b:02x}" for b in data)
        parts.append(f'(data "{text}")' if kind == 3 else
                     f'(data (memory {1 if kind == 4 else 0}) (i32.const {off}) "{text}")')
    source = "(module (memory 1) (memory 1) " + " ".join(parts) + ")"
    expected = bytearray(size)
    for off, data, kind in segments:
        if kind < 3:
            for k, b in enumerate(data):
                if address <= off + k < address + size:
                    expected[off + k - address] = b
    scanned = Module.from_bytes(wat(source))
    assert scanned.read_static(address, size) == bytes(expected)
    materialized = Module.from_bytes(wat(source))
    materialized.data  # noqa: B018 - segment objects, not the scan
    assert materialized.read_static(address, size) == bytes(expected)


@st.composite
def disjoint_layouts(draw):
    """Non-empty segments that never overlap (touching or apart), in shuffled order: the
    layout of linkers, and the path of static_gaps that sorts starts and ends apart."""
    spans, at = [], draw(st.integers(0, 20))
    for _ in range(draw(st.integers(1, 12))):
        at += draw(st.sampled_from([0, 0, 1, 3, 17]))
        n = draw(st.integers(1, 9))
        spans.append((at, n))
        at += n
    spans = draw(st.permutations(spans))
    return [((off, n), f'(data (i32.const {off}) "{"a" * n}")') for off, n in spans]


@settings(max_examples=200, deadline=None)
@given(disjoint_layouts())
def test_static_gaps_of_disjoint_segments(layout):
    test_static_gaps_equal_a_byte_by_byte_count.hypothesis.inner_test(layout)


@st.composite
def runs_layouts(draw):
    """Disjoint non-empty segments as a few runs in address order, the runs in any order:
    what compilers emit, and what static_gaps counts from the scan's runs alone."""
    spans = [s for s, _ in draw(disjoint_layouts())]
    spans.sort()
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(spans) - 1)), max_size=3)))
    runs = [spans[a:b] for a, b in zip([0, *cuts], [*cuts, len(spans)])]
    return [((off, n), f'(data (i32.const {off}) "{"a" * n}")') for run in draw(st.permutations(runs))
            for off, n in run]


@settings(max_examples=200, deadline=None)
@given(runs_layouts())
def test_static_gaps_of_runs(layout):
    m = Module.from_bytes(wat("(module (memory 1) " + " ".join(w for _, w in layout) + ")"))
    runs, touching, starts = m.view(11).runs(0)
    assert len(runs) >= 1 and touching <= len(layout) - 1 and len(starts) == len(runs) and starts[0] == 0
    test_static_gaps_equal_a_byte_by_byte_count.hypothesis.inner_test(layout)


@st.composite
def two_run_layouts(draw):
    """Non-empty segments in two runs, each in address order, that interleave (as
    esbuild.wasm's Go linker writes them), touching across the runs or apart, and
    sometimes a segment of one run moved onto a segment of the other."""
    spans = sorted(s for s, _ in draw(disjoint_layouts()))
    sides = [draw(st.booleans()) for _ in spans]
    first = [s for s, side in zip(spans, sides) if side]
    second = [s for s, side in zip(spans, sides) if not side]
    if first and second and draw(st.booleans()):  # an overlap across the runs
        k = draw(st.integers(0, len(first) - 1))
        target = draw(st.sampled_from(second))
        moved = (target[0] + draw(st.integers(-2, target[1] - 1)), first[k][1])
        if (k == 0 or first[k - 1][0] + first[k - 1][1] <= moved[0]) and (
                k == len(first) - 1 or moved[0] + moved[1] <= first[k + 1][0]) and moved[0] >= 0:
            first[k] = moved  # (still in address order within its run)
    return [((off, n), f'(data (i32.const {off}) "{"a" * n}")') for off, n in first + second]


@settings(max_examples=300, deadline=None)
@given(two_run_layouts())
def test_static_gaps_of_two_interleaved_runs(layout):
    test_static_gaps_equal_a_byte_by_byte_count.hypothesis.inner_test(layout)


def test_two_interleaved_runs_are_merged_by_bisection(monkeypatch):
    """The esbuild.wasm shape takes the bisection path, not the sort."""
    from wasmem.rewrite import data

    layout = [((off, 2), f'(data (i32.const {off}) "aa")') for off in [0, 10, 20, 30, 4, 14, 16, 40]]
    m = Module.from_bytes(wat("(module (memory 1) " + " ".join(w for _, w in layout) + ")"))
    assert m.view(11).runs(0)[2] == [0, 4]
    calls = []
    real = data._two_runs_touching
    monkeypatch.setattr(data, "_two_runs_touching", lambda *a: calls.append(a[2:]) or real(*a))
    # 8 spans of 2 bytes; 14..16 and 16..18 touch (within the second run): 6 holes
    assert data.static_gaps(m, 0) == {"count": 6, "bytes": 42 - 16, "start": 0, "end": 42, "gaps": []}
    assert calls == [(4, 1)]  # (split at 4, one touching pair from the scan)


@settings(max_examples=100, deadline=None)
@given(segment_layouts(), st.booleans())
def test_segment_rows_from_the_scan_equal_the_segment_objects(layout, global_offset):
    extra = ' (global $g i32 (i32.const 64)) (data (offset (global.get $g)) "x")' if global_offset else ""
    source = "(module (memory 1) (memory 1)" + extra + " " + " ".join(w for _, w in layout) + ")"
    scanned = Module.from_bytes(wat(source)).view(11, create=True)
    materialized = Module.from_bytes(wat(source))
    expected = [(d.mode, d.memory if d.mode == "active" else None, d.offset, d.size) for d in materialized.data]
    assert scanned.segment_rows() == expected
    assert materialized.view(11).segment_rows() == expected
    scanned.append(DataSegment("passive", 0, None, b"later", 1))
    assert scanned.segment_rows() == expected + [("passive", None, None, 5)]


def _const_value_by_reader(expr):
    """const_value as first written: the LEB readers, then exactly one end."""
    from wasmem.binary.leb import read_s32, read_s64

    if not expr or expr[0] not in (0x41, 0x42) or expr[-1] != 0x0B:
        return None
    try:
        value, p = (read_s32 if expr[0] == 0x41 else read_s64)(expr, 1)
    except DecodeError:
        return None
    return value if p == len(expr) - 1 else None


@given(st.one_of(
    st.binary(max_size=8),
    st.tuples(st.sampled_from([b"\x41", b"\x42", b"\x23"]), st.binary(max_size=6)).map(lambda t: t[0] + t[1] + b"\x0b"),
    st.tuples(st.sampled_from([0x41, 0x42]), st.integers(-(1 << 63), (1 << 63) - 1), st.integers(1, 11)).map(
        lambda t: bytes([t[0]]) + encode_s(t[1], t[2]) + b"\x0b")))
def test_const_value_equals_the_leb_readers(expr):
    from wasmem.model import const_value

    assert const_value(expr) == _const_value_by_reader(expr)
    assert const_value(memoryview(expr)) == _const_value_by_reader(expr)


def test_entries_appended_as_encodings_are_read_back_on_demand():
    """Globals and exports appended as bytes (add-data's bulk path) write the same module
    as appended objects, and become objects when someone asks for the entries."""
    from wasmem.binary.entries import encode_export
    from wasmem.model import Export, Global

    m, by_objects = Module.from_file(MODULE), Module.from_file(MODULE)
    globals_before, exports_before, first = len(m.defined_globals), len(m.exports), len(m.globals)
    values = [100, 2**31 - 1, 0]
    by_objects.defined_globals.extend(Global(0x7F, False, const_expr(v)) for v in values)
    by_objects.exports.extend(Export(f"x{i}", "global", first + i) for i in range(3))
    gview, eview = m.view(6), m.view(7)
    gview.extend_encoded([b"\x7f\x00" + const_expr(v) for v in values])
    eview.extend_encoded([encode_export(f"x{i}", "global", first + i) for i in range(3)])
    assert len(gview) == globals_before + 3 and len(eview) == exports_before + 3
    assert gview.changed and eview.changed and gview._tail  # (still bytes)
    assert m.to_bytes() == by_objects.to_bytes()
    # asking for the entries reads the bytes back into objects
    assert [(e.name, e.kind, e.index) for e in m.exports[exports_before:]] == [
        ("x0", "global", first), ("x1", "global", first + 1), ("x2", "global", first + 2)]
    assert [(g.valtype, g.mutable, g.init_value) for g in m.defined_globals[globals_before:]] == [
        (0x7F, False, v) for v in values]
    assert not gview._tail and not eview._tail
    assert m.to_bytes() == by_objects.to_bytes()
    m.exports[-1].name = "renamed"  # and they are entries like any other
    assert Module.from_bytes(m.to_bytes()).exports[-1].name == "renamed"


def merged_by_rule(gaps, room):
    """zero_fill's merging, one gap at a time: join across the smallest stretches of data
    between gaps (the earlier one first on a tie) until ``room`` runs remain."""
    runs = [list(g) for g in gaps]
    if len(runs) <= room:
        return [tuple(r) for r in runs]
    between = sorted(range(len(runs) - 1), key=lambda k: runs[k + 1][0] - runs[k][1])
    join = set(between[:len(runs) - room])
    merged = [runs[0]]
    for k in range(1, len(runs)):
        if k - 1 in join:
            merged[-1][1] = runs[k][1]
        else:
            merged.append(runs[k])
    return [tuple(r) for r in merged]


@settings(max_examples=200, deadline=None)
@given(disjoint_layouts(), st.integers(1, 6))
def test_zero_fill_under_a_segment_limit(layout, room):
    """Past the segment limit, zero-fill merges gaps by the rule; the memory image stays
    the same bytes, and no gap is left."""
    import wasmem.rewrite.data as data
    from wasmem.rewrite.data import static_gaps, zero_fill

    source = "(module (memory 1) " + " ".join(w for _, w in layout) + ")"
    m = Module.from_bytes(wat(source))
    gaps = static_gaps(m, 0, collect=True)
    before = m.read_static(gaps["start"], gaps["end"] - gaps["start"])
    saved = data.MAX_SEGMENTS
    data.MAX_SEGMENTS = len(layout) + room
    try:
        report = zero_fill(m, 0)
    finally:
        data.MAX_SEGMENTS = saved
    runs = merged_by_rule(gaps["gaps"], room)
    out = Module.from_bytes(m.to_bytes())
    added = [(d.offset, d.offset + d.size) for d in out.data[len(layout):]]
    assert added == runs and report["segments_added"] == len(runs)
    assert report["zero_bytes"] == gaps["bytes"]
    assert out.read_static(gaps["start"], gaps["end"] - gaps["start"]) == before
    assert static_gaps(out, 0)["count"] == 0


def test_exports_are_rows_until_objects_are_asked_for():
    """info and the symbol search read export rows; Export objects are made only when
    ``exports`` is asked for, and either way the section is written as read."""
    data = wat('(module (memory 1) (global $g i32 (i32.const 7)) (func $f)'
               ' (export "mem" (memory 0)) (export "g" (global $g)) (export "f" (func $f)) (export "m2" (memory 0)))')
    m = Module.from_bytes(data)
    view = m.view(7)
    rows = m.export_rows()
    assert [r[:3] for r in rows] == [("mem", "memory", 0), ("g", "global", 0), ("f", "func", 0), ("m2", "memory", 0)]
    assert view._entries is None and not view.changed and len(view) == 4
    assert m.exports_of("memory", 0) == ["mem", "m2"] and m.info()["exports"][1] == {"name": "g", "kind": "global",
                                                                                       "index": 0}
    assert view._entries is None  # (still rows)
    view.extend_encoded([b"\x01x\x03\x00"])  # export "x" of global 0, as bytes
    assert len(view) == 5 and view.changed
    appended = m.to_bytes()
    assert Module.from_bytes(appended).export_rows()[-1][:3] == ("x", "global", 0)
    assert [e.name for e in m.exports] == ["mem", "g", "f", "m2", "x"]  # objects now, the tail read back
    assert m.to_bytes() == appended and [r[:3] for r in m.export_rows()][-1] == ("x", "global", 0)
    m.exports[0].name = "memory"
    assert Module.from_bytes(m.to_bytes()).exports_of("memory", 0) == ["memory", "m2"]
    assert Module.from_bytes(data).to_bytes() == data


def test_globals_are_rows_until_objects_are_asked_for():
    """The symbol search reads global rows (imported globals first, init None); Global
    objects are made only when ``globals`` is asked for."""
    data = wat('(module (import "env" "g" (global i32)) (memory 1) (global $a i32 (i32.const 8))'
               ' (global $b (mut i32) (i32.const 16)) (global $c i64 (i64.const -1)))')
    m = Module.from_bytes(data)
    rows = m.global_rows()
    assert [r[:3] for r in rows] == [(0x7F, False, None), (0x7F, False, b"\x41\x08\x0b"),
                                     (0x7F, True, b"\x41\x10\x0b"), (0x7E, False, b"\x42\x7f\x0b")]
    view = m.view(6)
    assert view._entries is None and not view.changed and len(view) == 3
    m.symbols()
    assert view._entries is None  # (still rows)
    assert [g.init_value for g in m.globals] == [None, 8, 16, -1]
    assert [r[:3] for r in m.global_rows()] == [r[:3] for r in rows]
    m.defined_globals[0].set_init_value(40)
    assert Module.from_bytes(m.to_bytes()).global_rows()[1][2] == b"\x41\x28\x0b"
    assert Module.from_bytes(data).to_bytes() == data

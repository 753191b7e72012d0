"""The layout builder API: the worked examples of assemblyscript-static-data.md section 5 (cross-checked
against the asc fixture), typed and nested arrays, base cursors, C data, and the failure modes."""

from __future__ import annotations

import json
import math
import pathlib
import struct

import pytest
from hypothesis import example, given, strategies as st

from wasmem.errors import LayoutError, WasmWarning
from wasmem.layout.assemblyscript import StaticLayout
from wasmem.layout.c import CLayout
from wasmem.layout.types import SCALARS, BadValue

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "layout"
IDS = {"Array<i32>": 4, "StaticArray<i32>": 5, "Array<string>": 6}


def h(text: str) -> bytes:
    """Hex as the asc doc writes it: groups, '|' between header and payload."""
    return bytes.fromhex(text.replace("|", " "))


def worked(version, base=None, ids=IDS):
    lay = StaticLayout(as_version=version, base=base, type_ids=ids)
    addrs = [lay.add_string("hello", "greeting"), lay.add_array("i32", [1, 2, 3], "nums"),
             lay.add_static_array("i32", [7, 8, 9], "sa"), lay.add_array("string", ["ab", "cde"], "strs")]
    return lay, addrs


DOC_0_28_20 = [
    (12, "1c000000 00000000 00000000 02000000 0a000000 | 68006500 6c006c00 6f000000"),
    (44, "1c000000 00000000 00000000 01000000 0c000000 | 01000000 02000000 03000000"),
    (76, "2c000000 00000000 00000000 04000000 10000000 | 40000000 40000000 0c000000 03000000 00000000 00000000 00000000"),
    (124, "1c000000 00000000 00000000 05000000 0c000000 | 07000000 08000000 09000000"),
    (156, "1c000000 00000000 00000000 02000000 04000000 | 61006200 00000000 00000000"),
    (188, "1c000000 00000000 00000000 02000000 06000000 | 63006400 65000000 00000000"),
    (220, "1c000000 00000000 00000000 01000000 08000000 | b0000000 d0000000 00000000"),
    (252, "2c000000 00000000 00000000 06000000 10000000 | f0000000 f0000000 08000000 02000000 00000000 00000000 00000000"),
]


def test_worked_example_0_28_20():
    lay, addrs = worked("0.28.20")
    assert addrs == [32, 96, 144, 272]
    assert lay.end == 300
    assert lay.segments() == [(off, h(x)) for off, x in DOC_0_28_20]
    # the doc's hex is what asc 0.28.20 emitted (the fixture is the ground truth)
    exp = json.loads((FIXTURES / "worked-0.28.20" / "expected.json").read_text())
    assert [(s["offset"], bytes.fromhex(s["hex"])) for s in exp["segments"][:8]] == lay.segments()
    assert [exp["globals"][n] for n in ("greeting", "nums", "sa", "strs")] == addrs


def test_worked_example_legacy_headers():
    ids = {k: v - 1 for k, v in IDS.items()}  # ids are one lower before 0.24
    seg = dict(worked("0.17.14", ids=ids)[0].segments())
    assert seg[12] == h("1c000000 01000000 00000000 01000000 0a000000 | 68006500 6c006c00 6f000000")
    assert seg[76] == h("2c000000 01000000 00000000 03000000 10000000 | 40000000 40000000 0c000000 03000000") + bytes(12)
    seg = dict(worked("0.17.1", ids=ids)[0].segments())
    assert seg[12] == h("0a000000 01000000 00000000 01000000 0a000000 | 68006500 6c006c00 6f00")
    assert seg[76] == h("10000000 01000000 00000000 03000000 10000000 | 40000000 40000000 0c000000 03000000")
    lay, addrs = worked("0.9.4", ids=ids)
    seg = dict(lay.segments())
    assert seg[16] == h("0a000000 01000000 01000000 0a000000 | 68006500 6c006c00 6f00")
    assert seg[80] == h("10000000 01000000 03000000 10000000 | 40000000 40000000 0c000000 03000000")
    assert seg[112] == h("0c000000 01000000 04000000 0c000000 | 07000000 08000000 09000000")
    assert addrs[1:3] == [96, 128]
    # the legacy abi name is the 16-byte header (0.16.1 by default)
    legacy = StaticLayout(abi="assemblyscript-legacy")
    assert legacy.add_string("hello") == 32 and legacy.segments()[0][0] == 16


def test_worked_example_more_objects():
    lay = StaticLayout()
    assert [lay.add_string(s) for s in ("", "😀", "a\ud800")] == [32, 64, 96]
    assert lay.segments() == [
        (12, h("1c000000 00000000 00000000 02000000 00000000") + bytes(12)),
        (44, h("1c000000 00000000 00000000 02000000 04000000 | 3dd800de 00000000 00000000")),
        (76, h("1c000000 00000000 00000000 02000000 04000000 | 610000d8 00000000 00000000")),
    ]
    for elem, values, payload in (("f64", [1.5], "00000000 0000f83f 00000000"),
                                  ("bool", [True, False], "0100" + "00" * 10),
                                  ("i64", [-1], "ffffffff ffffffff 00000000")):
        lay = StaticLayout(type_ids={f"Array<{elem}>": 4})
        lay.add_array(elem, values)
        size = {"f64": 8, "bool": 2, "i64": 8}[elem]
        assert lay.segments()[0][1] == h(f"1c000000 00000000 00000000 01000000 {size:02x}000000 | {payload}")
    lay = StaticLayout(base=428, type_ids={"Array<i32>": 4})
    assert lay.add_array("i32", []) == 480
    assert lay.segments() == [(428, h("1c000000 00000000 00000000 01000000 00000000") + bytes(12)),
                              (460, h("2c000000 00000000 00000000 04000000 10000000 | c0010000 c0010000 00000000 00000000") + bytes(12))]
    lay = StaticLayout(base=108)
    assert lay.add_typed_array("Int32Array", [5, -6, 7, 100], "t", id=7) == 176
    assert lay.segments() == [
        (108, h("2c000000 00000000 00000000 01000000 10000000 | 05000000 faffffff 07000000 64000000") + bytes(12)),
        (156, h("1c000000 00000000 00000000 07000000 0c000000 | 80000000 80000000 10000000"))]


def test_nested_arrays_are_laid_out_inside_out():
    lay = StaticLayout(type_ids={"Array<string>": 4, "Array<Array<string>>": 5})
    outer = lay.add("Array<Array<string>>", [["a", "b"], [], ["a"]], "grid")
    labels = [b.label for b in lay.blocks]
    assert labels == ["grid[0][0]", "grid[0][1]", "grid[0].buffer", "grid[0]", "grid[1].buffer", "grid[1]",
                      "grid[2].buffer", "grid[2]", "grid.buffer", "grid"]
    blocks = {b.label: b for b in lay.blocks}
    image, base = lay.image(), lay.base

    def word(addr, i):
        return struct.unpack_from("<I", image, addr - base + 4 * i)[0]
    assert outer == blocks["grid"].address and blocks["grid"].rt_id == 5 and blocks["grid[0]"].rt_id == 4
    buf = word(outer, 0)
    assert buf == word(outer, 1) == blocks["grid.buffer"].address and word(outer, 3) == 3
    inner = [word(buf, i) for i in range(3)]
    assert inner == [blocks["grid[0]"].address, blocks["grid[1]"].address, blocks["grid[2]"].address]
    # "a" is interned: grid[2][0] points at grid[0][0]
    assert word(word(inner[2], 0), 0) == blocks["grid[0][0]"].address


def test_nullable_elements_and_interning_off():
    lay = StaticLayout(intern=False, type_ids={"Array<string | null>": 4})
    lay.add("Array<string|null>", ["x", None, "x"], "n")
    strings = [b for b in lay.blocks if b.type == "string"]
    assert len(strings) == 2  # no interning: two "x" objects
    buf = [b for b in lay.blocks if b.type == "ArrayBuffer"][0]
    ptrs = struct.unpack_from("<3I", lay.image(), buf.address - lay.base)
    assert ptrs == (strings[0].address, 0, strings[1].address)
    with pytest.raises(BadValue, match=r"null in Array<string>: the element type string is not nullable"):
        StaticLayout(type_ids={"Array<string>": 4}).add_array("string", ["x", None])


def test_base_is_a_cursor_for_appending():
    # add-data appends after __data_end = 300 of the worked example: first block at blockStart(300)
    lay = StaticLayout(base=300, type_ids=IDS)
    assert lay.add_string("more", "m") == 320
    assert lay.objects[0] == type(lay.objects[0])("m", "string", 320, 300, 8, 2)
    assert lay.image()[:4] == h("1c000000") and lay.end == 332
    lay = StaticLayout(base=301)
    assert lay.add_string("x") == 336 and lay.image()[:15] == bytes(15)


def test_report_shape():
    lay, addrs = worked("0.28.20")
    r = lay.report()
    assert r["abi"] == "assemblyscript" and r["base"] == 8 and r["end"] == 300
    assert r["objects"][1] == {"name": "nums", "type": "Array<i32>", "address": 96, "block": 76, "size": 16, "rt_id": 4}
    assert r["segments"][0] == {"offset": 12, "size": 32} and len(r["segments"]) == 8
    # as columns: the same records
    c = lay.report(columns=True)
    assert {k: v for k, v in c.items() if k not in ("objects", "segments")} == {
        k: v for k, v in r.items() if k not in ("objects", "segments")}
    for key in ("objects", "segments"):
        keys, columns = c[key]
        assert [dict(zip(keys, row)) for row in zip(*columns)] == r[key]


def test_c_report_as_columns():
    from wasmem.layout.c import CLayout

    lay = CLayout(1024)
    lay.add_cstring("hi", "greeting")
    lay.add_array("i32", [1, 2], "nums")
    r, c = lay.report(), lay.report(columns=True)
    assert r["objects"][1] == {"name": "nums", "type": "i32[]", "address": 1028, "block": 1028, "size": 8,
                               "rt_id": None}
    for key in ("objects", "segments"):
        keys, columns = c[key]
        assert [dict(zip(keys, row)) for row in zip(*columns)] == r[key]


def test_failed_add_leaves_layout_unchanged():
    lay = StaticLayout(type_ids={"Array<string>": 4})
    lay.add_string("keep")
    before = (lay.image(), lay.end, len(lay.blocks))
    with pytest.raises(BadValue):
        lay.add_array("string", ["new", 5])
    assert (lay.image(), lay.end, len(lay.blocks)) == before
    assert lay.add_string("new") == 64  # "new" was not left interned at a dropped address


def test_ids_needed_without_rtti():
    with pytest.raises(LayoutError, match=r"no runtime id for Array<i32>: .*--module.*id = N"):
        StaticLayout().add_array("i32", [1])
    with pytest.raises(LayoutError, match="unknown type 'Array<i33>'"):
        StaticLayout().add("Array<i33>", [1])
    with pytest.raises(LayoutError, match="asc 0.8.0 is older than 0.9.0"):
        StaticLayout(as_version="0.8")
    with pytest.warns(WasmWarning, match="newer than the newest verified"):
        StaticLayout(as_version="0.29.0")


def test_version_rules():
    from wasmem.layout.abi import for_version
    assert for_version("0.17").version == (0, 17, 14)
    assert (for_version("0.17.8").padded, for_version("0.17.9").padded) == (False, True)
    assert for_version("0.23.1").ids.string == 1 and for_version("0.24.0").ids.string == 2
    assert for_version("0.22.0").rtti_entry_size == 8 and for_version("0.23.0").rtti_entry_size == 4


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([[], ["NaN"]]))
@example(3.4028235e38, ["NaN"])  # FLT_MAX as float32 tools print it: rounds to FLT_MAX, fits
@example(3.4028235677973366e38, [])  # FLT_MAX + half a step: rounds to infinity
def test_f32_values_fit_where_they_round_to_a_finite_f32(value, more):
    # The whole-array fast path (struct) and the element check agree: the check runs when
    # another element (the string "NaN") is not a plain number.
    fits = True
    try:
        expected = struct.pack("<f", value)
    except OverflowError:
        fits = False
    for values in ([value], [value, *more]):
        if fits:
            assert SCALARS["f32"].pack(values)[:4] == expected
        else:
            with pytest.raises(BadValue, match="out of the range of f32"):
                SCALARS["f32"].pack(values)


def test_values_are_checked():
    lay = StaticLayout(type_ids={"Array<u8>": 4, "Array<f32>": 5, "Array<i32>": 6, "Array<bool>": 7})
    with pytest.raises(BadValue, match=r"300 does not fit u8 \(0\.\.255\)") as e:
        lay.add_array("u8", [1, 300])
    assert e.value.where == "[1]"
    with pytest.raises(BadValue, match="out of the range of f32"):
        lay.add_array("f32", [1e39])
    with pytest.raises(BadValue, match="True is not an integer"):
        lay.add_array("i32", [True])
    with pytest.raises(BadValue, match="1 is not a bool"):
        lay.add_array("bool", [1])
    a = lay.add_array("f32", [math.nan, "inf", -math.inf])
    buf = struct.unpack_from("<3f", lay.image(), [b for b in lay.blocks if b.address < a][-1].address - lay.base)
    assert math.isnan(buf[0]) and buf[1:] == (math.inf, -math.inf)


def test_c_abi():
    lay = CLayout()
    assert lay.add("cstring", "héllo", "s") == 1024
    assert lay.add("u32[]", [1, 2], "a") == 1032  # 1024 + 7 bytes, aligned to 4
    assert lay.add("bytes", b"\xff", "b") == 1040
    assert lay.add("f64[]", [0.5], "d", align=16) == 1056
    assert lay.segments() == [(1024, "héllo".encode() + b"\0"), (1032, h("01000000 02000000")),
                              (1040, b"\xff"), (1056, struct.pack("<d", 0.5))]
    assert lay.image()[:8] == "héllo".encode() + b"\0" + b"\0" and lay.end == 1064
    assert lay.report()["objects"][1] == {"name": "a", "type": "u32[]", "address": 1032, "block": 1032,
                                          "size": 8, "rt_id": None}
    with pytest.raises(BadValue, match="holds a NUL"):
        lay.add("cstring", "a\0b")
    with pytest.raises(LayoutError, match="power of two"):
        lay.add("bytes", b"", align=3)
    with pytest.raises(LayoutError, match="unknown type 'Array<i32>' for the c abi"):
        lay.add("Array<i32>", [1])


from hypothesis import given, settings, strategies as st  # noqa: E402

_text = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x1F6FF), max_size=40)
_objects = st.lists(st.one_of(
    st.tuples(st.just("string"), _text),
    st.tuples(st.just("Array<i32>"), st.lists(st.integers(-2**31, 2**31 - 1), max_size=20)),
    st.tuples(st.just("Array<string>"), st.lists(_text, max_size=6)),
    st.tuples(st.just("StaticArray<u16>"), st.lists(st.integers(0, 65535), max_size=20)),
), max_size=12)


@settings(max_examples=150, deadline=None)
@given(_objects, st.sampled_from(["0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.20.19", "0.23.1", "0.28.20"]),
       st.integers(0, 5000), st.booleans())
def test_headers_and_payloads_read_back(objects, version, base, intern):
    ids = {"Array<i32>": 10, "Array<string>": 11, "StaticArray<u16>": 12}
    lay = StaticLayout(as_version=version, base=base, intern=intern, type_ids=ids)
    addrs = [lay.add(t, v, f"o{i}") for i, (t, v) in enumerate(objects)]
    image, base, abi = lay.image(), lay.base, lay.abi

    def u32(addr):
        return struct.unpack_from("<I", image, addr - base)[0]

    def payload(addr):
        return image[addr - base:addr - base + u32(addr - 4)]
    prev_end = max(base, 8)
    for b in lay.blocks:
        assert b.block >= prev_end and b.address == b.block + abi.header_size
        assert u32(b.address - 4) == b.size and u32(b.address - 8) == b.rt_id
        assert u32(b.block) == (abi.mm_info(b.size))
        prev_end = b.block + b.seg_size
    assert prev_end == lay.end == base + len(image)
    strings = {}
    for (t, v), a in zip(objects, addrs):
        if t == "string":
            assert payload(a).decode("utf-16-le", "surrogatepass") == v
            strings.setdefault(v, a)
            if intern:
                assert strings[v] == a
        elif t == "StaticArray<u16>":
            assert list(struct.unpack(f"<{len(v)}H", payload(a))) == v and u32(a - 8) == 12
        else:
            buf, start, nbytes, length = struct.unpack("<IIii", payload(a))
            assert buf == start and length == len(v) and nbytes == 4 * len(v) and u32(buf - 8) == abi.ids.array_buffer
            words = struct.unpack(f"<{len(v)}" + ("i" if t == "Array<i32>" else "I"), payload(buf))
            if t == "Array<i32>":
                assert list(words) == v
            else:
                assert [payload(p).decode("utf-16-le", "surrogatepass") for p in words] == v


def test_a_run_of_strings_image_is_kept_as_encoded_and_joined_once():
    # A run of strings' image (9 MB for 100,000) stays the bytes it was encoded to, between
    # what came before and what comes after; image_parts gives the pieces unjoined (what
    # `layout --format bin` writes), and the first image/image_view/segments joins them.
    from wasmem.layout.types import STRING

    lay = StaticLayout()
    lay.add_string("before", "b")
    lay.add_many([(STRING, f"s{i}\u00e9", f"s{i}", None) for i in range(5)])
    lay.add_array("i32", [1, 2, 3], "a", id=9)
    pieces = [p.tobytes() for p in lay.image_parts()]
    whole = lay.image()
    blocks = {b.label: b for b in lay.blocks}
    start, end = blocks["s0"].block - lay.base, blocks["s4"].block + blocks["s4"].seg_size - lay.base
    assert pieces == [whole[:start], whole[start:end], whole[end:]] and len(whole) == lay.end - lay.base
    assert [p.tobytes() for p in lay.image_parts()] == [whole]  # joined by image(): one piece from now on
    s3 = blocks["s3"].address - lay.base
    assert whole[s3 - 4:s3] == (6).to_bytes(4, "little") and whole[s3:s3 + 6] == "s3\u00e9".encode("utf-16-le")


def test_image_view_is_the_image_without_a_copy():
    from wasmem.layout.types import parse_ctype

    for lay in (StaticLayout(), CLayout(64)):
        if isinstance(lay, StaticLayout):
            lay.add_string("héllo")
            lay.add_array("i32", [1, 2, 3], id=9)
        else:
            lay.add(parse_ctype("cstring"), "hi", "s")
        view = lay.image_view()
        assert view.readonly and view.tobytes() == lay.image() and len(view) == lay.end - lay.base
        with pytest.raises(BufferError):  # (the layout cannot move its buffer under the view)
            lay.add_string("more") if isinstance(lay, StaticLayout) else lay.add(parse_ctype("cstring"), "x", "t")
        view.release()

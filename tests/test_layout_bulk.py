"""StaticLayout.add_many (the spec path, with its inlined strings, one batch UTF-16
encoding and the scalar-array fast path) must equal add() item by item: the same
image, blocks, report, runtime ids and, on a bad item, the same error at the same
item with the same layout left behind."""

from __future__ import annotations

import functools

from hypothesis import given, settings, strategies as st

from wasmem.errors import WasmError
from wasmem.layout.assemblyscript import StaticLayout
from wasmem.layout.types import SCALARS, parse_type

_parsed = functools.lru_cache(maxsize=None)(parse_type)
_text = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x1F6FF), max_size=12)
# mostly in range; sometimes a value that must be refused (too big, a bool, a float, a string)
_odd = st.one_of(st.integers(-2**65, 2**65), st.booleans(), st.floats(allow_nan=False), st.just("x"))


def _scalar_values(name):
    s = SCALARS[name]
    if s.is_bool:
        good = st.booleans()
    elif s.float:
        good = st.one_of(st.floats(width=32 if s.size == 4 else 64), st.integers(-2**20, 2**20))
    else:
        good = st.integers(s.lo, s.hi)
    return st.lists(st.one_of(good, good, good, good, good, good, good, good, good, _odd), max_size=6)


_ARRAY_TYPES = ([f"{k}<{e}>" for k in ("Array", "StaticArray") for e in ("i32", "u8", "i64", "f32", "f64", "bool", "u16")]
                + ["Int32Array", "Float64Array", "Uint8Array", "Array<i32> | null", "i16[]"])
_item = st.one_of(
    st.tuples(st.just("string"), _text, st.sampled_from([None, None, None, 2, 7])),
    st.sampled_from(_ARRAY_TYPES).flatmap(
        lambda t: st.tuples(st.just(t), _scalar_values(parse_type(t).elem.name), st.sampled_from([None, None, 9]))),
    st.tuples(st.just("Array<string>"), st.lists(_text, max_size=3), st.just(None)),
    st.tuples(st.just("Array<i32>"), st.just(None), st.just(None)),
)


def _state(lay):
    parts = b"".join(lay.image_parts())  # (before image() joins the pieces a run of strings left)
    return (parts, lay.image(), lay.end, lay.report(), [vars_(b) for b in lay.blocks], lay.objects,
            dict(lay.auto_assigned), lay.segments())


def vars_(block):
    return tuple(getattr(block, f) for f in block.__slots__)


@settings(max_examples=300, deadline=None)
@given(st.lists(_item, max_size=14), st.sampled_from(["0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.28.20"]),
       st.integers(0, 300), st.booleans(), st.booleans())
def test_add_many_equals_add_one_by_one(objects, version, base, intern, near_top):
    _compare(objects, version, base, intern, near_top)


def _values_of(t):
    if t == "string":
        return _text
    values = _scalar_values(parse_type(t).elem.name)
    return st.one_of(values, values, values, values.map(tuple))  # a tuple is laid out the general way


# runs of one type, as specs usually have them (add_many lays a run out whole)
_run = st.sampled_from(_ARRAY_TYPES + ["string"]).flatmap(lambda t: st.lists(
    st.tuples(st.just(t), _values_of(t), st.sampled_from([None] * 8 + [9])), min_size=1, max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(_run, max_size=5), st.sampled_from(["0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.28.20"]),
       st.integers(0, 300), st.booleans(), st.booleans())
def test_runs_of_one_type_equal_add_one_by_one(runs, version, base, intern, near_top):
    _compare([o for run in runs for o in run], version, base, intern, near_top)


# runs of arrays of one length (add_many lays those out in whole-list steps, _add_even_array_run)
_even_run = st.tuples(st.sampled_from([t for t in _ARRAY_TYPES if not t.startswith("StaticArray")]),
                      st.integers(0, 5), st.integers(1, 7)).flatmap(
    lambda tnk: st.lists(_scalar_values(parse_type(tnk[0]).elem.name).filter(lambda v: len(v) == tnk[1])
                         if tnk[1] <= 2 else st.lists(st.integers(0, 100), min_size=tnk[1], max_size=tnk[1]),
                         min_size=tnk[2], max_size=tnk[2]).map(
        lambda values: [(tnk[0], v, None) for v in values]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_even_run, _run), max_size=4), st.sampled_from(["0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.28.20"]),
       st.integers(0, 300), st.booleans(), st.booleans())
def test_runs_of_arrays_of_one_length_equal_add_one_by_one(runs, version, base, intern, near_top):
    _compare([o for run in runs for o in run], version, base, intern, near_top)


def _compare(objects, version, base, intern, near_top):
    if near_top:  # so that some layouts pass the end of 32-bit memory
        base = 0xFFFFFFFF - 40 * base
    kw = dict(as_version=version, base=base, intern=intern, auto_ids=True)
    # one parsed type per spelling, as parse_spec gives (runs are items of the same type object)
    items = [(_parsed(t), v, f"o{i}", rid) for i, (t, v, rid) in enumerate(objects)]
    bulk, one = StaticLayout(**kw), StaticLayout(**kw)
    failed = None
    for i, (t, v, name, rid) in enumerate(items):
        try:
            one.add(t, v, name, rid)
        except WasmError as e:
            failed = (i, type(e), str(e))
            break
    try:
        bulk.add_many(items)
    except WasmError as e:
        assert failed == (e.item_index, type(e), str(e))
    else:
        assert failed is None
    assert _state(bulk) == _state(one)


def test_astral_and_lone_surrogate_strings_in_bulk():
    # A character beyond U+FFFF is a surrogate pair (4 bytes): the batch encoding must not be sliced.
    values = ["a", "\U0001F600x", "\ud800", "bc", "a"]
    items = [(parse_type("string"), v, f"s{i}", None) for i, v in enumerate(values)]
    bulk, one = StaticLayout(), StaticLayout()
    bulk.add_many(items)
    for t, v, name, rid in items:
        one.add(t, v, name, rid)
    assert _state(bulk) == _state(one)
    sizes = [o.size for o in bulk.objects]
    assert sizes == [2, 6, 2, 4, 2] and bulk.objects[4].address == bulk.objects[0].address


def test_lone_surrogates_in_a_run_encode_alone():
    # Laid out as one str: a lone high surrogate then a low one must stay two units, not pair up.
    values = ["\ud800", "\udc00", "x\udbff", "\udfffy", "\ud800"]
    items = [(parse_type("string"), v, f"s{i}", None) for i, v in enumerate(values)]
    for version in ("0.16.1", "0.28.20"):
        for intern in (True, False):
            bulk, one = StaticLayout(as_version=version, intern=intern), StaticLayout(as_version=version, intern=intern)
            bulk.add_many(items)
            for t, v, name, rid in items:
                one.add(t, v, name, rid)
            assert _state(bulk) == _state(one)
            a = bulk.objects[2].address - bulk.base
            assert bulk.image()[a:a + 4] == b"x\x00\xff\xdb"

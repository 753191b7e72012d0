"""The whole-list fast path of parse_spec (_plain_columns) must give exactly the items
that checking each object gives, and must give up (None) on anything that check refuses."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from wasmem.errors import SpecError
from wasmem.layout import spec as specs

_value = st.one_of(st.none(), st.text(max_size=4), st.lists(st.integers(-3, 3), max_size=3), st.integers(0, 3))
_type = st.sampled_from(["string", "Array<i32>", "i32[]", "ArrayBuffer", "bytes", "cstring", "u32[]", "i32",
                         "Nope", "Float64Array", "StaticArray<u8>"])
_name = st.one_of(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]), st.just(""), st.integers(0, 2))
_object = st.one_of(
    st.fixed_dictionaries({"name": _name, "type": _type, "value": _value}),
    st.fixed_dictionaries({"name": _name, "type": _type, "value": _value},
                          optional={"id": st.integers(0, 5), "hex": st.just("00ff"), "extra": st.just(1)}),
    st.fixed_dictionaries({"name": _name, "type": st.just(["string"]), "value": _value}),
    st.just([1, 2, 3]), st.just("abc"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_object, max_size=8), st.booleans())
def test_plain_items_equal_the_checked_items(objects, c_abi):
    try:
        spec = specs.Spec()
        specs._check_objects(objects, None, c_abi, spec)
        checked = spec.items
    except SpecError:
        checked = None
    fast = specs._plain_columns(objects, c_abi)
    if fast is not None:
        assert fast[4] == len(set(fast[2]))  # the distinct names
        fast = list(zip(*fast[:4]))
        assert fast == checked
        assert [tuple(map(id, f[:3])) for f in fast] == [tuple(map(id, c[:3])) for c in checked]


def test_plain_items_take_the_usual_spec():
    objects = [{"name": f"s{i}", "type": "string", "value": f"v{i}"} for i in range(3)]
    objects.append({"name": "a", "type": "Array<i32>", "value": [1, 2]})
    *columns, distinct = specs._plain_columns(objects, False)
    assert distinct == 4
    items = zip(*columns)
    assert [(t.name, v, n, x) for t, v, n, x in items] == [
        ("string", "v0", "s0", None), ("string", "v1", "s1", None), ("string", "v2", "s2", None),
        ("Array<i32>", [1, 2], "a", None)]
    assert specs._plain_columns(objects + [{"name": "b", "type": "ArrayBuffer", "value": [1]}], False) is None

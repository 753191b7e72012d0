"""JSON output: indented by 2, the long record lists of info and layout one record a line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from wasmem.cli.jsonout import Records, compact_encoder, indented, json_text

DOCS = [
    ({"a": 1, "segments": []}, ("segments",)),
    ({"segments": [{"x": 1}, {"y": "é\ud800"}]}, ("segments",)),
    ({"a": {"b": [1, 2], "c": None}, "objects": [{"x": 1.5}], "segments": [{"o": True}]}, ("objects", "segments")),
    ({"a": "line\nbreak", "objects": [{"n": "tab\there"}]}, ("objects",)),
    ({}, ("segments",)),
]


@pytest.mark.parametrize("doc,rows", DOCS)
def test_json_text_is_the_same_document(doc, rows):
    text = json_text(doc, rows)
    assert json.loads(text) == doc
    for key in rows:  # one record a line
        for item in doc.get(key, []):
            assert "\n    " + json.dumps(item, ensure_ascii=False) in text


@pytest.mark.parametrize("doc,rows", DOCS)
def test_without_rows_it_is_jsons_own_indent(doc, rows):
    assert json_text(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


def test_segments_print_a_line_each():
    text = json_text({"size": 8, "segments": [{"index": 0, "size": 2}, {"index": 1, "size": 3}]}, ("segments",))
    assert text == ('{\n  "size": 8,\n  "segments": [\n    {"index": 0, "size": 2},\n'
                    '    {"index": 1, "size": 3}\n  ]\n}')


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=8))
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                      max_leaves=8)


@given(_value)
def test_compact_encoder_equals_the_json_encoder(value):
    assert compact_encoder()(value) == json.JSONEncoder(ensure_ascii=False).encode(value)


_keyed = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-5, 5), st.booleans(), st.none(), st.floats()),
                    inner, max_size=3)), max_leaves=10)


@given(_keyed)
def test_indented_equals_jsons_indent(value):
    assert indented(value, compact_encoder()) == json.dumps(value, indent=2, ensure_ascii=False)


@given(st.dictionaries(st.text(max_size=4), _keyed, max_size=4))
def test_json_text_without_rows_equals_jsons_indent(doc):
    assert json_text(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


def test_an_unknown_type_is_refused_as_json_refuses_it():
    with pytest.raises(TypeError, match="Object of type bytes is not JSON serializable"):
        json_text({"a": [b"x"]})


def test_json_output_does_not_import_json_or_re():
    import subprocess
    import sys

    code = ("import sys; from wasmem.cli.jsonout import json_text; json_text({'a': [1, {'b': 2.5}]}, ('a',)); "
            "print(sorted({'json', 're'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_a_str_subclass_key_is_a_string_key():
    class Name(str):
        pass

    assert json_text({Name("k"): {Name("j"): 1}}) == json.dumps({"k": {"j": 1}}, indent=2)


# -- text tables: whole-column steps, the same text as the row-by-row rule they replace


def table_by_rows(rows, headers):
    """The rule, one cell at a time: numbers (blanks allowed) right-aligned, None blank."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [bool(rows) and all(isinstance(r[i], int) or r[i] in ("", None) for r in rows)
               for i in range(len(headers))]
    return "\n".join("  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     .rstrip() for r in cells)


_cell = st.one_of(st.integers(-10**12, 10**12), st.booleans(), st.none(), st.just(""), st.text(max_size=6),
                  st.floats(allow_nan=True), st.sampled_from(["é", "😀", " x ", "\t"]))


@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(st.lists(_cell, min_size=n, max_size=n), max_size=8),
    st.lists(st.text(min_size=0, max_size=7), min_size=n, max_size=n))))
def test_table_equals_the_row_by_row_rule(case):
    from wasmem.cli._common import table

    rows, headers = case
    assert table(rows, headers) == table_by_rows(rows, headers)


def test_table_aligns_numbers_right_and_text_left():
    from wasmem.cli._common import table

    assert table([[1, "a", None], [200, "bcd", 5]], ["n", "name", "x"]) == (
        "  n  name  x\n  1  a\n200  bcd   5")
    assert table([], ["id", "section"]) == "id  section"


_scalar = st.one_of(st.integers(-2**70, 2**70), st.booleans(), st.none(), st.floats(), st.text(max_size=6),
                    st.sampled_from(["\ud800", "%s", '"', "é😀"]))
_key = st.one_of(st.text(max_size=5), st.sampled_from(["%", "%s", "a\"b", "index"]))


@st.composite
def record_lists(draw):
    """Lists of records: mostly one set of keys in one order (the fast path), sometimes
    not (other keys, another order, a non-dict, a non-str key)."""
    keys = draw(st.lists(_key, max_size=5, unique=True))
    column_kind = {k: draw(st.sampled_from(["int", "str", "mixed"])) for k in keys}
    value = {"int": st.integers(-2**40, 2**40), "str": st.text(max_size=5), "mixed": _scalar}
    records = [{k: draw(value[column_kind[k]]) for k in keys} for _ in range(draw(st.integers(0, 6)))]
    odd = draw(st.sampled_from([None, None, "reorder", "extra", "list", "intkey"]))
    if records and odd:
        i = draw(st.integers(0, len(records) - 1))
        if odd == "reorder":
            records[i] = dict(reversed(list(records[i].items())))
        elif odd == "extra":
            records[i] = dict(records[i], zz=1)
        elif odd == "list":
            records[i] = [1, "a"]
        else:
            records[i] = {7: "x"}
    return records


@given(record_lists())
def test_record_rows_equal_jsons_own_compact_records(records):
    doc = {"n": 1, "segments": records}
    text = json_text(doc, ("segments",))
    lines = text.split("\n")[3:-2] if records else []
    assert [line.strip().rstrip(",") for line in lines] == [json.dumps(r, ensure_ascii=False) for r in records]


@given(record_lists())
def test_records_as_columns_write_as_the_dicts_do(records):
    """Records given as columns (what layout's JSON report holds) come out as the same
    records given as dicts; and Records.dicts() gives those dicts back."""
    if not records or not all(type(r) is dict and r and list(r) == list(records[0]) for r in records) or not all(
            type(k) is str for k in records[0]):
        return  # (columns hold records of one set of str keys in one order)
    keys = list(records[0])
    table = Records(keys, [[r[k] for r in records] for k in keys])
    assert len(table) == len(records) and table.dicts() == records
    assert json_text({"n": 1, "objects": table}, ("objects",)) == json_text({"n": 1, "objects": records}, ("objects",))
    assert json_text({"objects": Records(keys, [[] for _ in keys])}, ("objects",)) == '{\n  "objects": []\n}'

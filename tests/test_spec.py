"""The spec file: TOML and JSON, validation of every value, errors that name object, index and value."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, strategies as st

from wasmem.errors import SpecError
from wasmem.layout.spec import _read_json, build_layout, load_spec, loads_spec, parse_spec


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def layout_of(doc, **kw):
    return build_layout(parse_spec(doc), **kw)


def test_toml_and_json_give_the_same_layout(tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"\x01\x02\x03")
    toml = write(tmp_path, "s.toml", """
as_version = "0.28.20"
base = 1024
ids = {"Array<i32>" = 4, "StaticArray<string>" = 7}
[[object]]
name = "greeting"
type = "string"
value = "hello"
[[object]]
name = "primes"
type = "Array<i32>"
value = [2, 3, 5, 7]
[[object]]
name = "blob"
type = "ArrayBuffer"
file = "payload.bin"
[[object]]
name = "words"
type = "StaticArray<string>"
value = ["ab", "cde"]
id = 9
""")
    doc = {"as_version": "0.28.20", "base": 1024, "ids": {"Array<i32>": 4},
           "object": [{"name": "greeting", "type": "string", "value": "hello"},
                      {"name": "primes", "type": "Array<i32>", "value": [2, 3, 5, 7]},
                      {"name": "blob", "type": "ArrayBuffer", "hex": "010203"},
                      {"name": "words", "type": "StaticArray<string>", "value": ["ab", "cde"], "id": 9}]}
    js = write(tmp_path, "s.json", json.dumps(doc))
    a, b = build_layout(load_spec(toml)), build_layout(load_spec(js))
    assert a.segments() == b.segments() and a.report() == b.report()
    r = a.report()
    assert [o["address"] for o in r["objects"]] == [1056, 1136, 1184, 1280]
    assert r["objects"][3]["rt_id"] == 9 and r["objects"][2]["size"] == 3
    assert dict(a.segments())[1164][20:23] == b"\x01\x02\x03"


def test_a_spec_from_bytes_is_the_spec_from_its_file(tmp_path, monkeypatch):
    (tmp_path / "payload.bin").write_bytes(b"\x01\x02\x03")
    text = b'[[object]]\nname = "blob"\ntype = "ArrayBuffer"\nfile = "payload.bin"\n'
    want = build_layout(load_spec(write(tmp_path, "s.toml", text.decode()))).segments()
    # TOML or JSON told apart by the first character (a TOML table header starts with "[");
    # files named from the folder given, else the current one
    assert build_layout(loads_spec(text, folder=tmp_path)).segments() == want
    as_json = b'  {"object": [{"name": "blob", "type": "ArrayBuffer", "file": "payload.bin"}]}'
    assert build_layout(loads_spec(as_json, folder=str(tmp_path))).segments() == want
    monkeypatch.chdir(tmp_path)
    assert build_layout(loads_spec(text)).segments() == want
    with pytest.raises(SpecError, match=r"spec is not UTF-8 text \(byte 1\)"):
        loads_spec(b"[\xff")


def test_json_lone_surrogates_and_floats(tmp_path):
    p = write(tmp_path, "s.json", '{"ids": {"Array<f64>": 4, "Array<f32>": 5}, "object": ['
              '{"name": "s", "type": "string", "value": "a\\ud800"},'
              '{"name": "d", "type": "Array<f64>", "value": [NaN, Infinity, -Infinity, -0.0]},'
              '{"name": "f", "type": "Array<f32>", "value": [0.1, "nan", "-inf"]}]}')
    lay = build_layout(load_spec(p))
    seg = lay.segments()
    assert seg[0][1][20:26] == b"a\x00\x00\xd8\x00\x00"
    d = struct.unpack("<4d", seg[1][1][20:52])
    assert math.isnan(d[0]) and d[1:] == (math.inf, -math.inf, -0.0) and math.copysign(1, d[3]) == -1
    f = struct.unpack("<3f", seg[3][1][20:32])
    assert f[0] == struct.unpack("<f", struct.pack("<f", 0.1))[0] and math.isnan(f[1]) and f[2] == -math.inf


@pytest.mark.parametrize("obj, parts", [
    ({"name": "small", "type": "Array<u8>", "value": [1, 300]},
     ['object 0 "small" (Array<u8>)', "value[1]", "300 does not fit u8 (0..255)"]),
    ({"name": "words", "type": "Array<string>", "value": ["a", 5]},
     ['object 0 "words" (Array<string>)', "value[1]", "5 is not a string"]),
    ({"name": "deep", "type": "Array<Array<i8>>", "value": [[1], [2, -129]]},
     ['object 0 "deep" (Array<Array<i8>>)', "value[1][1]", "-129 does not fit i8 (-128..127)"]),
    ({"name": "blob", "type": "ArrayBuffer", "hex": "01zz"},
     ['object 0 "blob"', "hex: '01zz' is not hexadecimal"]),
    ({"name": "t", "type": "Array<i33>", "value": [1]},
     ['object 0 "t"', "unknown type 'Array<i33>'"]),
    ({"type": "string", "value": "x"}, ["object 0: missing name"]),
    ({"name": "x", "type": "string"}, ['object 0 "x": missing value']),
    ({"name": "x", "value": "x"}, ['object 0 "x": missing type']),
    ({"name": "x", "type": "string", "value": "x", "colour": 1}, ['object 0 "x": unknown key \'colour\'']),
    ({"name": "x", "type": "i32", "value": 1}, ["'i32' is a scalar, not an object type"]),
    ({"name": "b", "type": "StaticArray<bool>", "value": [0]}, ["value[0]", "0 is not a bool"]),
    ({"name": "s", "type": "string", "hex": "00"}, ["hex is only for ArrayBuffer and bytes objects"]),
    ({"name": "big", "type": "Array<u64>", "value": [-1]}, ["-1 does not fit u64"]),
])
def test_errors_name_object_index_and_value(obj, parts):
    doc = {"ids": {"Array<u8>": 4, "Array<string>": 5, "Array<Array<i8>>": 6, "Array<i8>": 7,
                   "StaticArray<bool>": 8, "Array<u64>": 9},
           "object": [obj]}
    with pytest.raises(SpecError) as e:
        layout_of(doc)
    for part in parts:
        assert part in str(e.value)


def test_second_object_index_and_duplicate_names():
    with pytest.raises(SpecError, match=r'object 1 "a": the name is already used by object 0'):
        parse_spec({"object": [{"name": "a", "type": "string", "value": ""}] * 2})
    with pytest.raises(SpecError, match=r'object 1 "n" \(string\): value: 7 is not a string'):
        layout_of({"object": [{"name": "m", "type": "string", "value": ""},
                              {"name": "n", "type": "string", "value": 7}]})


def test_top_level_checks(tmp_path):
    with pytest.raises(SpecError, match="unknown key 'objects'"):
        parse_spec({"objects": []})
    with pytest.raises(SpecError, match="abi: 'rust' is not one of"):
        parse_spec({"abi": "rust"})
    with pytest.raises(SpecError, match="as_version: bad asc version 'x.y'"):
        parse_spec({"as_version": "x.y"})
    with pytest.raises(SpecError, match=r"base: -1 is not an address"):
        parse_spec({"base": -1})
    with pytest.raises(SpecError, match=r"bad JSON at line 1 column 2"):
        load_spec(write(tmp_path, "bad.json", "{,}"))
    with pytest.raises(SpecError, match="bad TOML"):
        load_spec(write(tmp_path, "bad.toml", "object = ["))
    with pytest.raises(SpecError, match="file 'missing.bin'"):
        load_spec(write(tmp_path, "f.toml", '[[object]]\nname="b"\ntype="ArrayBuffer"\nfile="missing.bin"\n'))


def test_c_abi_spec():
    lay = layout_of({"abi": "c", "base": 64, "object": [
        {"name": "s", "type": "cstring", "value": "hi"},
        {"name": "a", "type": "i16[]", "value": [1, -1]},
        {"name": "b", "type": "bytes", "hex": "ff", "align": 8}]})
    assert lay.segments() == [(64, b"hi\0"), (68, b"\x01\x00\xff\xff"), (72, b"\xff")]
    with pytest.raises(SpecError, match='object 0 "a": id is for AssemblyScript objects'):
        parse_spec({"abi": "c", "object": [{"name": "a", "type": "u8[]", "value": [1], "id": 3}]})
    with pytest.raises(SpecError, match=r'object 0 "a" \(u8\[\]\): value\[0\]: 256 does not fit u8'):
        layout_of({"abi": "c", "object": [{"name": "a", "type": "u8[]", "value": [256]}]})


# The spec's JSON goes through json's C scanner directly (no json import on the layout
# path): it must read exactly what json.loads reads and refuse exactly what it refuses.
_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=12)


@given(_json_values, st.sampled_from(["", " ", "\n\t", "\r\n "]))
def test_spec_json_reads_as_json_loads_reads(value, blank):
    text = blank + json.dumps(value, indent=None if len(blank) % 2 else 1) + blank
    assert repr(_read_json(text)) == repr(json.loads(text))  # (repr: NaN is not equal to itself)


@given(st.text(alphabet='{}[]",:0123456789.eE+-tfnrul \\\n\ufeffaxNIn', max_size=24))
def test_spec_json_refuses_what_json_loads_refuses(text):
    try:
        expected = json.loads(text)
    except json.JSONDecodeError as e:
        with pytest.raises(SpecError) as caught:
            _read_json(text)
        assert str(caught.value) == f"bad JSON at line {e.lineno} column {e.colno}: {e.msg}"
    else:
        assert repr(_read_json(text)) == repr(expected)


def test_spec_json_does_not_import_json_or_re():
    import subprocess
    import sys

    code = ("import sys; from wasmem.layout.spec import _read_json; "
            "assert _read_json(' {\"object\": [{\"name\": \"a\", \"value\": [1.5, NaN, true]}]} ')['object'][0]['name'] == 'a'; "
            "print(sorted({'json', 're'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


# Bad JSON in each place the C scanner reports through json.decoder's JSONDecodeError,
# which it looks up only among the imported modules: read by an interpreter where json is
# not imported (the CLI's case: the layout path does not import it), each text afresh.
_BAD_JSON = ['{"a": 1,}', '{"a" 1}', '{"a": 1 "b": 2}', '{1: 2}', '[1, 2,]', '[1 2]', '{"a": [1, }',
             '"abc', '"\\x"', '"\\u12"', '"a\x01"', '{"a": 1} x', '', '  ', '[', '{"a": tru}', '-', '1e']


def test_spec_json_errors_in_a_process_without_json():
    import subprocess
    import sys

    code = ("import sys\nfrom wasmem.errors import SpecError\nfrom wasmem.layout.spec import _read_json\n"
            f"for text in {_BAD_JSON!r}:\n"
            "    for name in [n for n in sys.modules if n.partition('.')[0] == 'json']: del sys.modules[name]\n"
            "    try: _read_json(text)\n"
            "    except SpecError as e: print(e)\n"
            "    else: print('read')\n"
            "print(sorted({'json', 'json.decoder'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    expected = []
    for text in _BAD_JSON:
        with pytest.raises(json.JSONDecodeError) as e:
            json.loads(text)
        expected.append(f"bad JSON at line {e.value.lineno} column {e.value.colno}: {e.value.msg}")
    assert (out.returncode, out.stderr, out.stdout.splitlines()) == (0, "", [*expected, "['json', 'json.decoder']"])


@pytest.mark.parametrize("name,text", [("deep.json", "[" * 100_000 + "]" * 100_000),
                                       ("deep2.json", '{"object": ' + "[" * 100_000 + "]" * 100_000 + "}"),
                                       ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000)])
def test_a_spec_nested_past_the_recursion_limit_is_a_spec_error(tmp_path, name, text):
    with pytest.raises(SpecError, match="nested too deeply to read"):
        load_spec(write(tmp_path, name, text))

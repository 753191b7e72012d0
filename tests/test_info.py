"""`wasmem info` against expected JSON derived from wasm-tools and asc (fixtures/info/*)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FIXTURES, wat
from fixtures_index import modules as fixture_modules
from wasmem.cli import main

CASES = sorted(p for p in (FIXTURES / "info").glob("*") if (p / "module.wasm").is_file())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_info_json_matches_oracle(case, capsys):
    assert main(["info", "--json", "--segments", str(case / "module.wasm")]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == json.loads((case / "expected-info.json").read_text())


def test_info_cases_cover_versions_and_symbol_sources():
    sources = set()
    versions = set()
    for case in CASES:
        doc = json.loads((case / "expected-info.json").read_text())
        sources |= {s["source"] for s in doc["symbols"].values()}
        versions.add(json.loads((case / "build.json").read_text())["asc"])
    assert sources == {"export", "name", "position"}
    assert {"0.28.20", "0.17.14", "0.9.4"} <= versions


def test_human_output_is_aligned_tables(capsys):
    case = FIXTURES / "info" / "0.28.20-strings-exportRuntime" / "module.wasm"
    assert main(["info", str(case)]) == 0
    out = capsys.readouterr().out
    assert "memory  origin   pages  exports" in out
    assert "__heap_base      33632      21  position" in out
    assert "__rtti_base        832      18  export" in out
    assert "data: 19 segments (19 active, 0 passive), 812 bytes, static range 12..864" in out


def test_human_output_shows_a_custom_page_size(capsys, tmp_path):
    path = tmp_path / "m.wasm"
    path.write_bytes(wat('(module (memory 5 10 (pagesize 1)) (data (i32.const 2) "ab"))'))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "     0  defined  5..10 page=1" in out  # 5 to 10 pages of one byte, not of 64 KiB
    assert "data: 1 segment (1 active, 0 passive), 2 bytes, static range 2..4" in out


def test_info_of_wat_module_with_every_import_kind(capsys, tmp_path):
    data = wat("""(module
      (import "m" "f" (func))
      (import "m" "t" (table 2 funcref))
      (import "m" "mem" (memory i64 1 2 shared))
      (import "m" "g" (global (mut i32)))
      (import "m" "e" (tag))
      (memory 0)
      (data "passive")
      (data (memory 1) (i32.const 5) "xy")
      (func (data.drop 0)))""")
    f = tmp_path / "m.wasm"
    f.write_bytes(data)
    assert main(["info", "--json", "--segments", str(f)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in doc["imports"]] == ["func", "table", "memory", "global", "tag"]
    assert doc["memories"][0] == {"index": 0, "imported": True, "module": "m", "name": "mem", "exports": [],
                                  "min": 1, "max": 2, "shared": True, "memory64": True}
    assert doc["data"] == {"count": 2, "active": 1, "passive": 1, "bytes": 9, "start": None, "end": None}
    assert doc["segments"] == [
        {"index": 0, "mode": "passive", "memory": None, "offset": None, "size": 7},
        {"index": 1, "mode": "active", "memory": 1, "offset": 5, "size": 2},
    ]
    assert [s["name"] for s in doc["sections"]][-2:] == ["datacount", "code"] or "data" in [
        s["name"] for s in doc["sections"]]


@pytest.mark.parametrize("content,message", [
    (b"", "offset 0x0: unexpected end of input: file too short"),
    (b"\x00asm\x01\x00\x00\x00\x05\x80", "offset 0xa: unexpected end of input while reading u32 LEB128"),
    (b"\x00asm\x0d\x00\x01\x00", "offset 0x4: this is a WebAssembly component"),
    (b"\x00asm\x01\x00\x00\x00\x05\x03\x01\x10\x00", "offset 0xb: malformed memory limits flags 0x10"),
    (b"\x00asm\x01\x00\x00\x00\x02\x06\xff\xff\xff\xff\x0f\x00",
     "offset 0xa: count 4294967295 is larger than the 1 remaining bytes could hold"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, content, message, capsys):
    f = tmp_path / "bad.wasm"
    f.write_bytes(content)
    assert main(["info", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"wasmem: error: {f}: ")
    assert message in err


def test_missing_file_and_process_entry_point(tmp_path):
    p = subprocess.run([sys.executable, "-m", "wasmem", "info", str(tmp_path / "nope.wasm")],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr == f"wasmem: error: {tmp_path / 'nope.wasm'}: No such file or directory\n"


def test_info_does_not_import_wasmtime():
    case = FIXTURES / "info" / "0.28.20-strings" / "module.wasm"
    code = ("import sys; from wasmem.cli import main; main(['info', '--json', %r]); "
            "assert 'wasmtime' not in sys.modules, 'wasmtime imported'" % str(case))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_info_reads_a_pipe_as_it_maps_a_file():
    # info maps regular files read-only; a pipe cannot be mapped and is read instead
    case = FIXTURES / "info" / "0.28.20-strings" / "module.wasm"
    from_file = subprocess.run([sys.executable, "-m", "wasmem", "info", "--json", str(case)],
                               capture_output=True, text=True)
    piped = subprocess.run([sys.executable, "-m", "wasmem", "info", "--json", "/dev/stdin"],
                           input=case.read_bytes(), capture_output=True)
    assert from_file.returncode == piped.returncode == 0
    assert json.loads(piped.stdout) == json.loads(from_file.stdout)


# -- symbols: the whole-list check of add-data's appended globals equals the row-by-row rule

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from wasmem.binary.fast import read_globals  # noqa: E402
from wasmem.binary.leb import encode_s, encode_u  # noqa: E402
from wasmem.symbols import _before_appended, _immutable_i32_constants, _is_const_i32  # noqa: E402


def _leb_padded(value: int, extra: int) -> bytes:
    """A signed LEB of ``value`` with ``extra`` redundant bytes (up to 5 in all)."""
    b = bytearray(encode_s(value))
    fill = 0x7F if value < 0 else 0
    for _ in range(min(extra, 5 - len(b))):
        b[-1] |= 0x80
        b.append(fill)
    return bytes(b)


_INITS = st.one_of(
    st.builds(lambda v, x: b"\x41" + _leb_padded(v, x) + b"\x0b", st.integers(-2**31, 2**31 - 1), st.integers(0, 2)),
    st.builds(lambda v: b"\x42" + encode_s(v) + b"\x0b", st.integers(-2**40, 2**40)),  # i64.const
    st.builds(lambda g: b"\x23" + encode_u(g) + b"\x0b", st.integers(0, 300)),  # global.get
    st.builds(lambda a, b: b"\x41" + encode_s(a) + b"\x41" + encode_s(b) + b"\x6a\x0b",  # extended const
              st.integers(-300, 300), st.integers(-300, 300)),
    st.just(b"\xd2\x00\x0b"),  # ref.func
)
_GLOBALS = st.tuples(st.sampled_from([b"\x7f", b"\x7e", b"\x70", b"\x63\x70"]), st.sampled_from([b"\x00", b"\x01"]),
                     _INITS)


def _rows(globals_) -> list:
    payload = encode_u(len(globals_)) + b"".join(t + m + init for t, m, init in globals_)
    return read_globals(payload, 0, lambda *r: r)


def _before_appended_by_rule(gl, exported) -> int:
    last = len(gl) - 1
    while last > 0 and last in exported and _is_const_i32(gl[last], False):
        last -= 1
    return last


@settings(max_examples=500, deadline=None)
@given(st.lists(_GLOBALS, min_size=1, max_size=12), st.integers(0, 12), st.booleans(), st.data())
def test_the_appended_globals_are_found_as_by_the_rule(globals_, plain_tail, hole, data):
    # the last `plain_tail` globals as add-data writes them (sometimes one exported index missing)
    k = min(plain_tail, len(globals_))
    for i in range(len(globals_) - k, len(globals_)):
        globals_[i] = (b"\x7f", b"\x00", b"\x41" + _leb_padded(data.draw(st.integers(0, 2**31 - 1)), 0) + b"\x0b")
    rows = _rows(globals_)
    exported = set(range(len(rows) - k - data.draw(st.integers(0, 2)), len(rows)))
    if hole and exported:
        exported.discard(data.draw(st.sampled_from(sorted(exported))))
    assert _before_appended(rows, exported) == _before_appended_by_rule(rows, exported)


@settings(max_examples=400, deadline=None)
@given(st.lists(_GLOBALS, min_size=1, max_size=12))
def test_the_whole_list_check_holds_only_where_the_rule_does(globals_):
    rows = _rows(globals_)
    if _immutable_i32_constants(rows):
        assert all(_is_const_i32(r, False) for r in rows)
    plain = [(b"\x7f", b"\x00", init) for _, _, init in globals_ if init[0] == 0x41 and init.endswith(b"\x0b")
             and init.count(b"\x41") == 1]
    if plain:  # (i32.const N end in every form, padded LEBs too: the check takes them all)
        assert _immutable_i32_constants(_rows(plain))


@pytest.mark.parametrize("path", fixture_modules()[::7], ids=lambda p: p.name)
def test_info_columns_hold_the_same_records(path):
    from wasmem.module import Module

    m = Module.from_file(path)
    records, columns = m.info(segments=True), m.info(segments=True, columns=True)
    for key in ("exports", "segments"):
        keys, values = columns.pop(key)
        assert [dict(zip(keys, row)) for row in zip(*values)] == records.pop(key)
    assert columns == records


def test_addresses_past_2_gib_are_unsigned(capsys, tmp_path):
    # an i32.const is an address read as unsigned: i32.const -2147418112 is 0x80010000
    path = tmp_path / "high.wasm"
    path.write_bytes(wat("""(module (memory (export "memory") 40000)
      (global $__stack_pointer (mut i32) (i32.const -2147418112))
      (global (export "__heap_base") i32 (i32.const -2147418112))
      (global (export "__data_end") i32 (i32.const 0x80000034))
      (data (i32.const 0x80000000) "abc"))"""))
    assert main(["info", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["data"]["start"], doc["data"]["end"]) == (0x80000000, 0x80000003)
    assert {k: v["value"] for k, v in doc["symbols"].items()} == {
        "__heap_base": 0x80010000, "__data_end": 0x80000034, "__stack_pointer": 0x80010000}


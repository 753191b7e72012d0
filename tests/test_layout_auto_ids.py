"""Without a module or ids, `wasmem layout` numbers classes in order of first use,
as asc does for a program that declares just those objects: the strings program
(tools/asc-sources/strings.ts) comes out as asc built it."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from wasmem.cli import main
from wasmem.module import Module

SPEC = {"object": [
    {"name": "greeting", "type": "string", "value": "hello"},
    {"name": "nums", "type": "Array<i32>", "value": [1, 2, 3]},
    {"name": "sa", "type": "StaticArray<i32>", "value": [7, 8, 9]},
    {"name": "strs", "type": "Array<string>", "value": ["ab", "cde"]},
]}


def layout(tmp_path, capsys, version: str):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**SPEC, "as_version": version}))
    assert main(["layout", str(spec), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "runtime ids given in order of first use" in captured.err
    assert main(["layout", str(spec), "--format", "bin", "-o", str(tmp_path / "img.bin")]) == 0
    return json.loads(captured.out), (tmp_path / "img.bin").read_bytes()


def asc_module(version: str) -> tuple[Module, dict]:
    m = Module.from_file(FIXTURES / "import-memory" / f"{version}-strings" / "plain.wasm")
    return m, {e.name: m.globals[e.index].init_value for e in m.exports if e.kind == "global"}


@pytest.mark.parametrize("version", ["0.28.20", "0.17.14", "0.9.4"])
def test_auto_ids_are_ascs(version, tmp_path, capsys):
    report, _ = layout(tmp_path, capsys, version)
    asc, exported = asc_module(version)
    for o in report["objects"]:
        header_id = int.from_bytes(asc.read_static(exported[o["name"]] - 8, 4), "little")
        assert o["rt_id"] == header_id, o["name"]


def test_auto_ids_reproduce_asc_bytes_and_addresses(tmp_path, capsys):
    report, image = layout(tmp_path, capsys, "0.28.20")
    asc, exported = asc_module("0.28.20")
    assert {o["name"]: o["address"] for o in report["objects"]} == {
        k: v for k, v in exported.items() if k in ("greeting", "nums", "sa", "strs")}
    base = report["base"]
    for s in report["segments"]:
        assert image[s["offset"] - base:s["offset"] - base + s["size"]] == asc.read_static(s["offset"], s["size"])


@pytest.mark.filterwarnings("ignore:asc .* runtime does not grow a static Array:wasmem.WasmWarning")  # (the old versions' warning: test_layout_fixtures checks it)
@pytest.mark.parametrize("version", ["0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.20.19", "0.23.1", "0.28.20"])
def test_auto_ids_tell_isize_and_usize_from_i32_and_u32(version):
    """asc gives Array<isize> a class of its own beside Array<i32> (and usize beside u32):
    numbered in order of first use, each gets asc's idof<T>(), and the bytes are asc's."""
    from test_layout_fixtures import load, user_segments
    from wasmem.layout.spec import build_layout

    spec, expected = load(f"aliases-{version}")
    layout = build_layout(spec, auto_ids=True)
    assert len(set(expected["ids"].values())) == 6
    assert layout.auto_assigned == expected["ids"]
    assert layout.segments() == user_segments(expected)

"""RTTI tables of real asc builds: flags we compute for a type equal asc's, resolution picks asc's ids
(idof<T>() exported by the fixture source), ambiguous pairs are refused with the ids and flags found."""

from __future__ import annotations

import json
import struct

import pytest

from test_layout_fixtures import CASES, ROOT, image_reader, load, user_segments
from wasmem.errors import LayoutError
from wasmem.layout import abi as abis
from wasmem.layout.assemblyscript import StaticLayout
from wasmem.layout.rtti import Rtti, expected_flags
from wasmem.layout.spec import build_layout
from wasmem.layout.types import parse_type


def fixture_rtti(case):
    spec, expected = load(case)
    abi = abis.for_version(spec.as_version)
    return spec, expected, Rtti.read(image_reader(expected), expected["globals"]["__rtti_base"], abi)


@pytest.mark.parametrize("case", CASES)
def test_computed_flags_equal_asc_flags(case):
    spec, expected, rtti = fixture_rtti(case)
    for tname, rid in expected["ids"].items():
        e = expected_flags(parse_type(tname), rtti.abi)
        entry = rtti.entries[rid]
        assert (entry.flags, entry.base) == (e.flags, e.base), tname


def test_rtti_0_28_20_resolves_asc_ids():
    spec, expected, rtti = fixture_rtti("rtti-0.28.20")
    ids = expected["ids"]
    assert rtti.count == 16 and rtti.abi.rtti_entry_size == 4
    for t in ("Array<i32>", "StaticArray<f64>", "Int32Array", "Float64Array", "Uint8Array",
              "StaticArray<StaticArray<i32>>"):
        assert rtti.resolve(parse_type(t)) == ids[t]
    assert (ids["Array<i32>"], ids["StaticArray<f64>"], ids["Array<string>"], ids["Int32Array"]) == (4, 5, 6, 9)
    # Array<string> and arrays of arrays are all ARRAY|ALIGN_2|MANAGED: refused, with every id listed
    for t in ("Array<string>", "Array<Array<i32>>", "Array<Array<string>>"):
        with pytest.raises(LayoutError, match=r"ids 6 \(0x4102 ARRAY\|VALUE_ALIGN_2\|VALUE_MANAGED\), 12 \(0x4102 .*\), "
                                              r"13 \(0x4102"):
            rtti.resolve(parse_type(t))
    for t in ("Array<u8>", "Array<bool>"):
        with pytest.raises(LayoutError) as e:
            rtti.resolve(parse_type(t))
        msg = str(e.value)
        assert f"ambiguous runtime id for {t}" in msg
        assert "7 (0x42 ARRAY|VALUE_ALIGN_0), 8 (0x42 ARRAY|VALUE_ALIGN_0)" in msg
        assert "id = N" in msg and "idof<T>()" in msg


@pytest.mark.parametrize("version", ["0.9.4", "0.17.1", "0.20.19"])
def test_rtti_legacy_formats(version):
    spec, expected, rtti = fixture_rtti(f"rtti-{version}")
    assert rtti.abi.rtti_entry_size == 8
    ti = rtti.resolve(parse_type("Int32Array"))
    assert ti == expected["ids"]["Int32Array"]
    assert rtti.entries[ti].base == rtti.abi.ids.array_buffer_view  # typed arrays extend ABV
    assert rtti.resolve(parse_type("Array<i32>")) == expected["ids"]["Array<i32>"]


def test_0_9_static_arrays_are_all_alike():
    spec, expected, rtti = fixture_rtti("static-0.9.4")
    with pytest.raises(LayoutError, match=r"ambiguous runtime id for StaticArray<i32>: ids 3 \(0x10 ACYCLIC\)"):
        rtti.resolve(parse_type("StaticArray<i32>"))


def test_missing_class_is_reported():
    spec, expected, rtti = fixture_rtti("worked-0.28.20")
    with pytest.raises(LayoutError) as e:
        rtti.resolve(parse_type("Float64Array"))
    assert "no runtime id for Float64Array" in str(e.value)
    assert "0x1a01 ARRAYBUFFERVIEW|VALUE_ALIGN_3|VALUE_SIGNED|VALUE_FLOAT" in str(e.value)


@pytest.mark.filterwarnings("ignore:asc .* runtime does not grow a static Array:wasmem.WasmWarning")  # (the old versions' warning: test_layout_fixtures checks it)
@pytest.mark.parametrize("case", CASES)
def test_layout_with_ids_from_rtti_only(case):
    spec, expected, rtti = fixture_rtti(case)
    ambiguous = [t for t in expected["ids"] if len(rtti.candidates(parse_type(t))) > 1]
    if ambiguous:
        with pytest.raises(LayoutError) as e:
            build_layout(spec, rtti=rtti)
        assert "ambiguous runtime id" in str(e.value) and "object " in str(e.value)
        assert any(a in str(e.value) for a in ambiguous)
    else:
        layout = build_layout(spec, rtti=rtti)
        assert layout.segments() == user_segments(expected)
        assert {o.name: o.address for o in layout.objects} == {
            o["name"]: expected["globals"][o["name"]] for o in json.loads((ROOT / case / "spec.json").read_text())["object"]}


def test_ambiguity_is_where_expected():
    # Resolution by RTTI alone works for the plain cases, and the u8/bool pairs are refused.
    plain = [c for c in CASES if c.startswith(("worked", "arrays", "strings"))]
    assert len(plain) >= 21
    for c in plain:
        spec, expected, rtti = fixture_rtti(c)
        assert all(len(rtti.candidates(parse_type(t))) == 1 for t in expected["ids"]), c


@pytest.mark.parametrize("case", CASES)
def test_version_inferred_from_module_has_the_same_layout(case):
    spec, expected, rtti = fixture_rtti(case)
    read = image_reader(expected)
    words = list(struct.unpack("<10I", read(expected["globals"]["__rtti_base"], 40)))
    segs = [(s["offset"], bytes.fromhex(s["hex"])) for s in expected["segments"]]
    inferred = abis.for_version(abis.infer_version(words, segs))
    actual = abis.for_version(spec.as_version)
    assert (inferred.header_size, inferred.gc_info, inferred.padded, inferred.ids, inferred.rtti_entry_size,
            inferred.flags) == (actual.header_size, actual.gc_info, actual.padded, actual.ids,
                                actual.rtti_entry_size, actual.flags)


def test_explicit_id_must_exist_in_rtti():
    spec, expected, rtti = fixture_rtti("worked-0.28.20")
    lay = StaticLayout(rtti=rtti)
    with pytest.raises(LayoutError, match=r"runtime id 99 for Array<i32> is not in the module's RTTI \(7 classes, ids 0\.\.6\)"):
        lay.add_array("i32", [1], "x", id=99)


def test_bad_tables():
    abi = abis.for_version("0.28.20")
    with pytest.raises(LayoutError, match="claims 16777216 classes"):
        Rtti.from_bytes(struct.pack("<I", 1 << 24), abi)
    with pytest.raises(LayoutError, match="truncated: 5 entries need 24 bytes, have 12"):
        Rtti.from_bytes(struct.pack("<3I", 5, 0x20, 0x20), abi)
    with pytest.raises(LayoutError, match="fewer than asc's built-in classes"):
        Rtti.from_bytes(struct.pack("<2I", 1, 0x20), abi)
    with pytest.raises(LayoutError, match="no count field"):
        Rtti.from_bytes(b"\x01", abi)


def test_a_module_without_rtti_warns_only_that_the_version_is_unknown():
    import warnings

    from wasmem import Module
    from wasmem.asc import module_rtti
    from wasmem.errors import WasmWarning

    m = Module.from_file(ROOT.parent / "cli" / "warnings" / "module.wasm")
    assert "__rtti_base" not in m.symbols()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert module_rtti(m, "assemblyscript") == (None, None)
        assert module_rtti(m, "assemblyscript", "0.20.19") == ("0.20.19", None)
        assert module_rtti(m, "assemblyscript-legacy") == (None, None)
    assert [(w.category, str(w.message)) for w in seen] == [
        (WasmWarning, "no __rtti_base found (build with --exportRuntime), so the asc version is not known; "
                      "assuming 0.28.20 (give --as-version)")]

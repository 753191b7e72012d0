"""asc's own output is the ground truth: every fixture folder under fixtures/layout/ holds an asc
build (module.wasm), what its data segments and exported globals were (expected.json, read by
tools/gen-layout-fixtures.py through `wasm-tools print`) and the spec describing the same values.
Laying out the spec must give the user's segments byte for byte at asc's addresses."""

from __future__ import annotations

import json
import pathlib
import warnings

import pytest

from wasmem.errors import LayoutError
from wasmem.layout import abi as abis
from wasmem.layout.rtti import Rtti
from wasmem.layout.spec import build_layout, load_spec
from wasmem.layout.types import parse_type

ROOT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "layout"
CASES = sorted(p.name for p in ROOT.iterdir() if (p / "expected.json").exists())


def load(case):
    folder = ROOT / case
    expected = json.loads((folder / "expected.json").read_text())
    spec = load_spec(folder / "spec.json")
    return spec, expected


def image_reader(expected):
    """read(address, size) over the module's initial memory, as Module.read_static gives it."""
    mem = {}
    for s in expected["segments"]:
        mem[s["offset"]] = bytes.fromhex(s["hex"])

    def read(address, size):
        out = bytearray(size)
        for off, data in mem.items():
            lo, hi = max(off, address), min(off + len(data), address + size)
            if lo < hi:
                out[lo - address:hi - address] = data[lo - off:hi - off]
        return bytes(out)
    return read


def user_segments(expected):
    u = expected["user"]
    return [(s["offset"], bytes.fromhex(s["hex"])) for s in expected["segments"][u["first"]:u["first"] + u["count"]]]


def test_fixture_set_covers_the_pinned_versions():
    versions = {c.rsplit("-", 1)[1] for c in CASES}
    assert {"0.9.4", "0.16.1", "0.17.1", "0.17.14", "0.20.19", "0.23.1", "0.28.20"} <= versions
    kinds = {c.rsplit("-", 1)[0] for c in CASES}
    assert {"strings", "arrays", "static", "worked", "worked-membase1000", "rtti", "aliases"} <= kinds


@pytest.mark.parametrize("case", CASES)
def test_layout_matches_asc(case):
    spec, expected = load(case)
    spec.ids = dict(expected["ids"])  # the ids asc gave (idof<T>()), so this test is about bytes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layout = build_layout(spec)
    # before 0.17.9, a warning that asc's runtime cannot grow a static Array (its own neither)
    holds_array = any("Array<" in t.name.replace("StaticArray<", "") for t in spec.types)
    prefix = f"asc {layout.abi.version_text}'s runtime does not grow a static Array intact,"
    assert [str(w.message)[:len(prefix)] for w in caught] == (
        [prefix] if holds_array and layout.abi.version < (0, 17, 9) else [])
    assert layout.segments() == user_segments(expected)
    for o in layout.objects:
        assert o.address == expected["globals"][o.name], o.name
    # the image is the segments placed from base, zeros between
    image = layout.image()
    for off, data in layout.segments():
        assert image[off - layout.base:off - layout.base + len(data)] == data
    assert layout.end == layout.segments()[-1][0] + len(layout.segments()[-1][1])


@pytest.mark.parametrize("case", CASES)
def test_rtti_of_fixture_contains_asc_ids(case):
    spec, expected = load(case)
    abi = abis.for_version(spec.as_version)
    rtti = Rtti.read(image_reader(expected), expected["globals"]["__rtti_base"], abi)
    for tname, rid in expected["ids"].items():
        t = parse_type(tname)
        found = rtti.candidates(t)
        assert rid in found, (tname, rid, found, [hex(e.flags) for e in rtti.entries])
        if len(found) == 1:
            assert rtti.resolve(t) == rid
        else:
            with pytest.raises(LayoutError) as e:
                rtti.resolve(t)
            for other in found:
                assert f"{other} (0x" in str(e.value)


@pytest.mark.parametrize("case", CASES)
def test_fixture_spec_describes_the_source(case):
    """spec.json and source.ts come from one description: same names, types and order."""
    import re

    folder = ROOT / case
    source = (folder / "source.ts").read_text(encoding="utf-8")
    declared = re.findall(r"^export const (\w+): (.+?) = ", source, re.M)
    objects = [(n, t) for n, t in declared if not n.startswith("idof_")]
    spec = json.loads((folder / "spec.json").read_text())
    assert objects == [(o["name"], o["type"]) for o in spec["object"]]
    build = json.loads((folder / "build.json").read_text())
    assert build["asc"] == spec["as_version"] == case.rsplit("-", 1)[1]
    assert "-O" not in " ".join(build["command"])  # unoptimized builds only

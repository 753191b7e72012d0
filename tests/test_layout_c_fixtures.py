"""clang and wasm-ld are the ground truth of the c abi: every folder under fixtures/layout-c/
holds their build of C globals (module.wasm, from source.c), what its data segment and
exported addresses were (expected.json, read by tools/gen-c-layout-fixtures.py through
`wasm-tools print`) and the spec describing the same objects. Laying out the spec must give
the linker's memory byte for byte, every object at the linker's address."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from test_layout_fixtures import image_reader
from wasmem import Module
from wasmem.layout.spec import build_layout, load_spec

ROOT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "layout-c"
CASES = sorted(p.name for p in ROOT.iterdir() if (p / "expected.json").exists())


def test_the_fixtures_cover_each_c_type_both_bases_and_align():
    assert {"scalars-global-base", "scalars-stack-first", "aligned-global-base",
            "clang-alignment-global-base"} <= set(CASES)
    types = set()
    for case in CASES:
        for o in json.loads((ROOT / case / "spec.json").read_text())["object"]:
            types.add(o["type"])
    assert types >= {"cstring", "bytes", "bool[]", *(f"{t}[]" for t in
                                                     "i8 u8 i16 u16 i32 u32 i64 u64 f32 f64".split())}


@pytest.mark.parametrize("case", CASES)
def test_layout_matches_wasm_ld(case):
    folder = ROOT / case
    expected = json.loads((folder / "expected.json").read_text())
    layout = build_layout(load_spec(folder / "spec.json"))
    assert {o.name: o.address for o in layout.objects} == expected["globals"]
    # the linker's memory over the layout's span is the layout's image, and it wrote nothing beyond
    read = image_reader(expected)
    assert read(layout.base, layout.end - layout.base) == layout.image()
    ends = [s["offset"] + len(s["hex"]) // 2 for s in expected["segments"]]
    assert min(s["offset"] for s in expected["segments"]) == layout.base and max(ends) == layout.end
    # and the module's own reading of its data agrees with the oracle's
    m = Module.from_file(folder / "module.wasm")
    assert m.read_static(layout.base, layout.end - layout.base) == layout.image()


def test_layout_command_writes_the_linkers_image(tmp_path):
    folder = ROOT / "scalars-stack-first"
    out = tmp_path / "image.bin"
    done = subprocess.run([sys.executable, "-m", "wasmem", "layout", str(folder / "spec.json"), "--format", "bin",
                           "-o", str(out)], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    m = Module.from_file(folder / "module.wasm")
    assert out.read_bytes() == m.read_static(65536, len(out.read_bytes())) and len(out.read_bytes()) == 256


@pytest.mark.parametrize("case", CASES)
def test_read_c_reads_back_every_object_the_linker_laid_out(case):
    """`read --abi c` over clang's data: each object, typed as the spec says (with its count),
    reads back as the spec's value (f32 as the nearest float32, as laid out)."""
    import math
    import struct

    from wasmem.host.instance import instantiate
    from wasmem.host.read import read_c

    folder = ROOT / case
    host = instantiate((folder / "module.wasm").read_bytes())
    mem = host.memory(0)
    expected = json.loads((folder / "expected.json").read_text())
    for o in json.loads((folder / "spec.json").read_text())["object"]:
        address = expected["globals"][o["name"]]
        t = o["type"]
        if t == "cstring":
            got = read_c(mem, address, "cstring")
            assert (got.value, got.size, got.rt_id) == (o["value"], len(o["value"].encode()) + 1, None)
        elif t == "bytes":
            data = bytes.fromhex(o["hex"])
            assert read_c(mem, address, f"bytes[{len(data)}]").value == data
        else:
            elem, values = t[:-2], o["value"]
            got = read_c(mem, address, f"{elem}[{len(values)}]")
            if elem == "f32":
                values = [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]
            assert [repr(v) if isinstance(v, float) and math.isnan(v) else v for v in got.value] == \
                [repr(v) if isinstance(v, float) and math.isnan(v) else v for v in values], o["name"]
            assert got.type == f"{elem}[{len(values)}]"

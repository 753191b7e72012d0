"""import-memory against asc's own --importMemory output (fixtures/import-memory/*).

Each folder holds plain.wasm (asc without --importMemory), expected.wasm (asc
with it and the matching flags), args.json (our options) and compare.json:
"bytes" (unoptimized: byte for byte), "memory-image" (-O3: after --zero-fill the
memory image equals asc's), or "validate-only" (with the reason).
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from wasmem.cli import main
from wasmem.module import Module

CASES = sorted(p for p in (FIXTURES / "import-memory").glob("*") if (p / "plain.wasm").is_file())


def image(m: Module, memory: int = 0) -> bytes:
    """The memory image the active segments write, from 0 to the last written
    byte, trailing zeros trimmed."""
    end = max((off + n for off, n, _ in m.view(11, create=True).spans(memory)), default=0)
    return m.read_static(0, end, memory).rstrip(b"\x00")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_import_memory_matches_asc(case, tmp_path, validate_wasm, capsys):
    args = json.loads((case / "args.json").read_text())
    compare = json.loads((case / "compare.json").read_text())
    out = tmp_path / "out.wasm"
    extra = ["--zero-fill"] if compare.get("zero_fill") else []
    assert main(["import-memory", str(case / "plain.wasm"), "-o", str(out), *args, *extra]) == 0
    got = out.read_bytes()
    expected = (case / "expected.wasm").read_bytes()
    ok, err = validate_wasm(got)
    assert ok, err
    if compare["mode"] == "bytes":
        assert got == expected
    elif compare["mode"] == "memory-image":
        gm, em = Module.from_bytes(got), Module.from_bytes(expected)
        assert image(gm) == image(em)
        # and everything but the data is asc's too
        assert gm.info()["imports"] == em.info()["imports"]
        assert gm.info()["memories"] == em.info()["memories"]
    else:
        assert compare["mode"] == "validate-only", compare


def test_cases_cover_the_pinned_versions():
    versions = {json.loads((c / "build.json").read_text())["asc"] for c in CASES}
    assert {"0.28.20", "0.17.14", "0.9.4"} <= versions


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_output_runs_against_a_host_memory(case, tmp_path):
    """Every output instantiates in wasmtime with a host memory of the imported
    type (shared ones included); the seed program behaves as the asc doc says."""
    from wasmem.host.instance import instantiate

    args = json.loads((case / "args.json").read_text())
    out = tmp_path / "out.wasm"
    assert main(["import-memory", str(case / "plain.wasm"), "-o", str(out), *args, "--zero-fill"]) == 0
    inst = instantiate(out.read_bytes())
    mem = inst.memory(0)
    assert mem is inst.imported_memories[0]
    limits = Module.from_bytes(out.read_bytes()).memories[0].limits
    assert mem.pages() >= limits.min
    if "seed" in case.name:
        # start grew memory by 2 pages and stored 21, 99 at 0 and 1
        assert mem.pages() == limits.min + 2
        assert mem.read(0, 3) == bytes([21, 99, 0])
        mem.write(2, b"\x2a")
        assert inst.call("readMemory", 2) == [42]
        assert inst.call("readMemory", 1) == [99]

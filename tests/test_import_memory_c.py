"""import-memory against wasm-ld's own --import-memory (fixtures/import-memory-c/, from
tools/gen-c-fixtures.py). wasm-ld zeroes a C program's .bss at start when its memory is
imported (a start function with memory.fill); wasmem's --zero-fill writes those zeros as a
data segment, up to the __data_end the module exports. Under a dirty host memory, the two
modules must leave the same static data and behave the same."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from wasmem.host.instance import DIRTY_BYTE as DIRTY, instantiate
from wasmem.module import Module
from wasmem.rewrite.memory import import_memory

ROOT = FIXTURES / "import-memory-c"
CASES = sorted(p.name for p in ROOT.iterdir() if (p / "args.json").exists())


def _options(case) -> dict:
    args = json.loads((ROOT / case / "args.json").read_text())
    return {"zero_fill": "--zero-fill" in args}


def _after_start(wasm: bytes, start: int, end: int):
    host = instantiate(wasm, dirty_memory=True)
    image = host.memory(0).read(start, end - start)
    return image, host.call("alloc", 8), host.call("c_strlen", host.call("greet")[0])


@pytest.mark.parametrize("case", CASES)
def test_import_memory_leaves_what_wasm_ld_leaves_in_a_dirty_memory(case):
    m = Module.from_file(ROOT / case / "plain.wasm")
    report = import_memory(m, **_options(case))
    expected = Module.from_file(ROOT / case / "expected.wasm")
    assert [(i.module, i.name, i.desc.limits) for i in m.imports if i.kind == "memory"] == \
        [(i.module, i.name, i.desc.limits) for i in expected.imports if i.kind == "memory"]
    data_end = expected.symbols()["__data_end"]["value"]
    assert report["gaps"]["end"] == data_end and report["zero_filled"]["zero_bytes"] > 0
    start = report["gaps"]["start"]
    mine, theirs = _after_start(m.to_bytes(), start, data_end), _after_start(expected.to_bytes(), start, data_end)
    assert mine[1:] == theirs[1:] == ([66608], [len("static data of the C program")])
    # every byte wasm-ld's build sets, ours has the same; the rest, the alignment padding
    # between .data and .bss that wasm-ld leaves as the host gave it, ours zeroes
    dirty = [k for k, b in enumerate(theirs[0]) if b == DIRTY]
    assert dirty and all(mine[0][k] == 0 for k in dirty)
    assert [b for k, b in enumerate(mine[0]) if k not in dirty] == [b for k, b in enumerate(theirs[0]) if k not in dirty]


def test_without_zero_fill_the_bss_is_warned_of_and_dirty():
    m = Module.from_file(ROOT / "classic-heap-export-zero-fill" / "plain.wasm")
    with pytest.warns(match=r"1 gap, 7 bytes in all, between 1024 and 1060 that no data segment writes "
                            r"\(the last up to __data_end: zero-initialized data\)"):
        report = import_memory(m)
    assert report["gaps"] == {"count": 1, "bytes": 7, "start": 1024, "end": 1060}
    image, alloc, _ = _after_start(m.to_bytes(), 1024, 1060)
    assert alloc != [66608]  # the allocator's pointer, in the .bss, is whatever the host memory held


@pytest.mark.parametrize("case", CASES)
def test_the_pair_is_the_generators_build(case):
    import hashlib

    build = json.loads((ROOT / case / "build.json").read_text())
    for name in ("plain.wasm", "expected.wasm"):
        assert hashlib.sha256((ROOT / case / name).read_bytes()).hexdigest() == build["sha256"][name]
    assert build["expected_args"] == ["-Wl,--import-memory"]
    # the same program and arguments as the add-data fixture it names, so the same bytes
    plain_of = (ROOT / case / build["source"]).parent / "module.wasm"
    assert (ROOT / case / "plain.wasm").read_bytes() == plain_of.read_bytes()


@pytest.mark.parametrize("case, end", [("classic", 1053), ("stack-first", 65565)])
def test_a_build_that_does_not_give_data_end_is_warned_of(case, end):
    # wasm-ld names __stack_pointer; without -Wl,--export=__data_end, where the .bss ends is
    # not known (classic-heap-export, the same program with it, has its .bss zero-filled above)
    m = Module.from_file(FIXTURES / "add-data-c" / case / "module.wasm")
    with pytest.warns(match=rf"memory 0: the module names __stack_pointer but not __data_end, so where its "
                            rf"zero-initialized data \(C's \.bss\) ends is not known \(past the last segment, at "
                            rf"{end}\): an imported memory may not be zero there, and --zero-fill cannot cover it "
                            r"\(.*: link with that, or with -Wl,--export=__data_end for --zero-fill to cover it\)$"):
        report = import_memory(m, zero_fill=True)
    assert report["gaps"]["end"] == end


def test_builds_that_say_where_their_data_ends_are_not_warned_of(recwarn):
    for path in (FIXTURES / "add-data-c" / "classic-heap-export" / "module.wasm",
                 FIXTURES / "import-memory" / "0.28.20-strings" / "plain.wasm"):  # (asc: no .bss)
        import_memory(Module.from_file(path), zero_fill=True)
    assert [str(w.message) for w in recwarn] == []

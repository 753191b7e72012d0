"""Multi-memory WAT fixtures (fixtures/wat/multi-*.wat): every defined memory
converted in turn; the output validates and behaves like the original in
wasmtime (the same calls give the same results and leave the same bytes in the
same exported memories)."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from wasmem.errors import WasmError
from wasmem.module import Module
from wasmem.rewrite.memory import define_memory, import_memory

CASES = sorted((FIXTURES / "wat").glob("multi-*.wasm"))
ARGS = {"i32": [16, 7, 3, 2], "i64": [16, 7, 3, 2], "f32": [1.5] * 4, "f64": [2.25] * 4}


def behaviour(data: bytes):
    from wasmem.host.instance import instantiate

    inst = instantiate(data)
    module = Module.from_bytes(data)
    funcs = sorted(e.name for e in module.exports if e.kind == "func")
    mems = sorted(e.name for e in module.exports if e.kind == "memory")
    results = {}
    for name in funcs:
        types = inst.param_types(name)
        if any(t not in ARGS for t in types):
            continue
        args = [ARGS[t][i % 4] for i, t in enumerate(types)]
        try:
            results[name] = inst.call(name, *args)
        except WasmError as e:
            results[name] = f"trap: {type(e).__name__}"
    memories = {}
    for name in mems:
        mem = inst.memory(name)
        memories[name] = (mem.pages(), bytes(mem.read(0, 256)))
    return results, memories


def conversions():
    for case in CASES:
        m = Module.from_bytes(case.read_bytes())
        for index, mem in enumerate(m.memories):
            if not mem.imported:
                yield pytest.param(case, index, id=f"{case.stem}-memory{index}")


@pytest.mark.parametrize("case,index", list(conversions()))
def test_convert_each_memory(case, index, validate_wasm):
    data = case.read_bytes()
    m = Module.from_bytes(data)
    target = m.memories[index]
    import_memory(m, memory=index, name=f"mem{index}")
    out = m.to_bytes()
    ok, err = validate_wasm(out)
    assert ok, err
    converted = Module.from_bytes(out)
    assert target in m.memories and converted.memories[m.memories.index(target)].imported
    assert behaviour(out) == behaviour(data)
    # and back to a defined memory
    define_memory(converted, memory=m.memories.index(target))
    back = converted.to_bytes()
    assert validate_wasm(back)[0]
    assert behaviour(back) == behaviour(data)


def test_fixtures_cover_two_and_three_memories():
    counts = sorted(len(Module.from_bytes(c.read_bytes()).memories) for c in CASES)
    assert 2 in counts and 3 in counts
    assert len(list(conversions())) >= 5

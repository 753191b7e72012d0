"""add-data's heap placement on each asc runtime generation (fixtures/add-data-versions/):
the appended objects read right through the program's own code, and stay intact while
its allocator works (0.9-0.17: reference counting over TLSF, which starts the heap at
the moved __heap_base; 0.20 and 0.28: the incremental GC)."""

from __future__ import annotations

import json
import tomllib

import pytest

from fixtures_index import cases
from wasmem.host.instance import instantiate
from wasmem.layout.spec import load_spec, parse_spec
from wasmem.module import Module
from wasmem.rewrite.add_data import add_data


@pytest.mark.filterwarnings("ignore:asc .* runtime does not grow a static Array:wasmem.WasmWarning")  # (the old versions' warning: test_layout_fixtures checks it)
@pytest.mark.parametrize("case", cases("add-data-versions"), ids=lambda p: p.name)
def test_appended_objects_survive_the_programs_allocations(case, validate_wasm):
    build = json.loads((case / "build.json").read_text())
    m = Module.from_file(case / "module.wasm")
    heap_before = m.symbols()["__heap_base"]["value"]
    report = add_data(m, load_spec(case / "spec.toml"), as_version=build["asc"])
    assert report["placement"] == "heap" and report["heap_base"]["old"] == heap_before
    assert report["heap_base"]["new"] >= max(report["end"], heap_before + report["end"] - report["base"])
    data = m.to_bytes()
    ok, message = validate_wasm(data)
    assert ok, message

    host = instantiate(data)
    memory = host.memory()
    image = memory.read(report["base"], report["end"] - report["base"])
    values = {o["name"]: o["value"] for o in tomllib.loads((case / "spec.toml").read_text())["object"]}
    address = {o["name"]: o["address"] for o in report["objects"]}

    def check():
        for name in ("greeting", "empty"):
            units = values[name].encode("utf-16-le", "surrogatepass")
            assert host.call("strLen", address[name]) == [len(units) // 2]
            assert [host.call("strCode", address[name], i)[0] for i in range(len(units) // 2)] == \
                [int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2)]
        primes = values["primes"]
        assert host.call("arrLen", address["primes"]) == [len(primes)]
        assert [host.call("arrGet", address["primes"], i)[0] for i in range(len(primes))] == primes

    check()
    for _ in range(4):  # the heap grows past the old __heap_base, over where the objects are
        host.call("churn", 2000)
    check()
    assert memory.read(report["base"], report["end"] - report["base"]) == image
    assert host.global_value("greeting") & 0xFFFFFFFF == address["greeting"]


@pytest.mark.filterwarnings("ignore:asc .* runtime does not grow a static Array:wasmem.WasmWarning")  # (the old versions' warning: test_layout_fixtures checks it)
@pytest.mark.parametrize("case", cases("add-data-versions"), ids=lambda p: p.name)
def test_add_data_twice(case):
    # The output's runtime symbols are found again (by position in these nameless builds),
    # so a second add-data moves the heap once more, past both sets of objects.
    build = json.loads((case / "build.json").read_text())
    m = Module.from_file(case / "module.wasm")
    first = add_data(m, load_spec(case / "spec.toml"), as_version=build["asc"])
    m = Module.from_bytes(m.to_bytes())
    second = add_data(m, parse_spec({"object": [{"name": "again", "type": "string", "value": "second ✓"}]}),
                      as_version=build["asc"])
    assert second["placement"] == "heap" and second["heap_base"]["old"] == first["heap_base"]["new"]
    assert second["base"] >= first["end"]
    host = instantiate(m.to_bytes())
    greeting, again = host.global_value("greeting") & 0xFFFFFFFF, host.global_value("again") & 0xFFFFFFFF
    for _ in range(4):
        host.call("churn", 2000)
    assert host.call("strLen", greeting) == [17] and host.call("strLen", again) == [8]
    assert host.call("strCode", again, 7) == [0x2713]

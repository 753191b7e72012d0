"""add-data, proven at run time (issue 4): objects appended to asc 0.28.20 modules
are used by the module's own code exactly like the same values built by the
module at run time, through push and forced GC cycles.

Fixtures: fixtures/add-data/<case>/ from tools/gen-add-data-fixtures.py (asc
0.28.20 --exportRuntime; unoptimized, --memoryBase 2048, -O3). The source's
make_<name>() functions build the spec's values at run time; id_<n>() give
idof<T>() for every class the spec uses (recorded in build.json).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from conftest import FIXTURES, tool_script, wat
from wasmem.cli import main
from wasmem.errors import LayoutError, RewriteError
from wasmem.host.instance import instantiate
from wasmem.host.objects import read_string
from wasmem.host.read import module_abi, read_at
from wasmem.layout.types import parse_type
from wasmem.module import Module

CASES = FIXTURES / "add-data"
PLAIN = CASES / "0.28.20-objects"
BASED = CASES / "0.28.20-objects-memoryBase2048"
O3 = CASES / "0.28.20-objects-O3"
RUNTIME_SYMBOLS = ("__data_end", "__stack_pointer", "__heap_base")


def spec_objects(case) -> dict:
    doc = tomllib.loads((case / "spec.toml").read_text())
    return {o["name"]: (o["type"], o["value"]) for o in doc["object"]}


def add_data(capsys, case, out, *extra):
    code = main(["add-data", str(case / "module.wasm"), str(case / "spec.toml"), "-o", str(out), "--json", *extra])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


# -- the fixtures are what the generator and asc made ------------------------------

@pytest.mark.parametrize("case", [PLAIN, BASED, O3], ids=lambda p: p.name)
def test_fixture_matches_generator_and_build(case):
    gen = tool_script("gen-add-data-fixtures.py")
    build = json.loads((case / "build.json").read_text())
    data = (case / "module.wasm").read_bytes()
    assert build["asc"] == "0.28.20" and build["args"] == gen.CASES[case.name]
    assert (len(data), hashlib.sha256(data).hexdigest()) == (build["size"], build["sha256"])
    assert (case / "source.ts").read_text() == gen.source()
    explicit = {c: build["ids"][c] for c in gen.CLASSES if c in build["explicit_ids"]}
    assert (case / "spec.toml").read_text() == gen.spec_toml(explicit)
    assert sorted(explicit) == ["Array<Array<string>>", "Array<string>"]  # same flags, so given by idof


def test_rtti_resolution_picks_asc_ids():
    """Every class the spec leaves to the RTTI resolves to the id idof<T>() gave."""
    build = json.loads((PLAIN / "build.json").read_text())
    _, rtti = module_abi(Module.from_file(PLAIN / "module.wasm"), None, None)
    for cls, rid in build["ids"].items():
        if cls == "string":
            continue
        found = rtti.candidates(parse_type(cls))
        if cls in build["explicit_ids"]:
            assert rid in found and len(found) > 1, cls  # ambiguous: Array<string> vs Array<Array<string>>
        else:
            assert found == [rid], cls


# -- what the module's code sees ----------------------------------------------------

def _bits(v):
    return struct.pack("<d", v) if isinstance(v, float) else v


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def expected_observations(values: dict) -> dict:
    """What each function must return for the spec's values (computed in Python)."""
    obs = {}
    for name in ("greeting", "plain", "nothing", "alpha"):
        s = values[name]
        units = struct.unpack(f"<{_utf16_len(s)}H", s.encode("utf-16-le", "surrogatepass"))
        obs[(name, "strLen")] = len(units)
        for i, u in enumerate(units):
            obs[(name, "strCode", i)] = u
        obs[(name, "strConcat")] = s + s
    for name, (fn_len, fn_get) in {"i32a": ("i32aLen", "i32aGet"), "u8a": ("u8aLen", "u8aGet"),
                                   "f64a": ("f64aLen", "f64aGet"), "f64s": ("f64Len", "f64Get")}.items():
        obs[(name, fn_len)] = len(values[name])
        for i, v in enumerate(values[name]):
            obs[(name, fn_get, i)] = _bits(float(v) if name.startswith("f64") else v)
    obs[("u8a", "u8aSum")] = sum(values["u8a"])
    for name, kind in (("i32a", "Int32Array"), ("u8a", "Uint8Array"), ("f64a", "Float64Array")):
        for fn, k in (("isInt32Array", "Int32Array"), ("isUint8Array", "Uint8Array"),
                      ("isFloat64Array", "Float64Array")):
            obs[(name, fn)] = int(kind == k)
    obs[("stat", "staticLen")] = len(values["stat"])
    obs[("stat", "sumStatic")] = sum(values["stat"])
    obs[("words", "wordsLen")] = len(values["words"])
    obs[("words", "wordsJoin")] = "|".join(values["words"])
    obs[("words", "wordsIndexOf", "alpha")] = values["words"].index(values["alpha"])
    obs[("words", "wordsIndexOf", "greeting")] = -1
    obs[("nested", "outerLen")] = len(values["nested"])
    for i, inner in enumerate(values["nested"]):
        obs[("nested", "nestedLen", i)] = len(inner)
        obs[("nested", "nestedJoin", i)] = ",".join(inner)
    return obs


STRING_RESULTS = {"strConcat", "wordsJoin", "nestedJoin"}


def observe(host, ptr: dict, keys) -> dict:
    """Call each function of ``keys`` on the objects at ``ptr`` (name -> address)."""
    mem = host.memory()
    out = {}
    for key in keys:
        name, fn, *rest = key
        args = [ptr[name]]
        if fn == "strConcat":
            args.append(ptr[name])
        elif fn == "wordsIndexOf":
            args.append(ptr[rest[0]])
        else:
            args += rest
        result = host.call(fn, *args)[0]
        out[key] = read_string(mem, result & 0xFFFFFFFF) if fn in STRING_RESULTS else _bits(result)
    return out


def _exported_addresses(host, names) -> dict:
    return {n: host.global_value(n) & 0xFFFFFFFF for n in names}


@pytest.mark.parametrize("case, base, placement", [(PLAIN, "auto", "heap"), (BASED, "768", "reserved")],
                         ids=["heap", "reserved"])
def test_appended_objects_behave_as_runtime_built(capsys, tmp_path, validate_wasm, case, base, placement):
    out = tmp_path / "out.wasm"
    code, report, err = add_data(capsys, case, out, "--base", base)
    assert code == 0, err
    assert report["placement"] == placement
    data = out.read_bytes()
    ok, msg = validate_wasm(data)
    assert ok, msg

    spec = spec_objects(case)
    values = {n: v for n, (_, v) in spec.items()}
    host = instantiate(data)
    static = _exported_addresses(host, spec)
    # the exported globals hold the report's addresses
    assert static == {o["name"]: o["address"] for o in report["objects"]}
    heap_base = Module.from_bytes(data).symbols()["__heap_base"]["value"]
    assert all(a < heap_base for a in static.values())

    # the same values, built by the module's own code (pinned: the host holds them)
    runtime = {n: host.call(f"make_{n}")[0] & 0xFFFFFFFF for n in spec}
    for n, a in runtime.items():
        assert a >= heap_base, n
        host.call("__pin", a)
    # the static Array<f64> gets a heap buffer from push: only a pin keeps that reachable
    host.call("__pin", static["f64s"])

    expected = expected_observations(values)
    keys = sorted(expected, key=repr)
    m = Module.from_bytes(data)
    abi, rtti = module_abi(m, None, None)
    mem = host.memory()

    def check(stage):
        assert observe(host, static, keys) == expected, stage
        assert observe(host, runtime, keys) == expected, stage
        # wasmem read decodes both to the spec's value (floats bit for bit: -0.0 stays -0.0)
        for n, (type_, value) in spec.items():
            for where in (static, runtime):
                got = read_at(mem, where[n], abi, rtti)
                assert got.type == type_, (stage, n)
                if type_ in ("Float64Array", "Array<f64>"):
                    assert [_bits(x) for x in got.value] == [_bits(float(x)) for x in value], (stage, n)
                else:
                    assert got.value == value, (stage, n)
        # strings compare equal across the two (content, not identity)
        for n in ("greeting", "plain", "nothing", "alpha"):
            assert host.call("strEq", static[n], runtime[n]) == [1]

    check("before push")
    buffer_before = int.from_bytes(mem.read(static["f64s"], 4), "little")
    assert host.call("f64Push", static["f64s"], 4.5) == [4]
    assert host.call("f64Push", runtime["f64s"], 4.5) == [4]
    buffer_after = int.from_bytes(mem.read(static["f64s"], 4), "little")
    assert buffer_before < heap_base <= buffer_after  # push reallocated onto the heap
    values["f64s"] = values["f64s"] + [4.5]
    spec["f64s"] = ("Array<f64>", values["f64s"])
    expected = expected_observations(values)
    keys = sorted(expected, key=repr)
    check("after push")
    for cycle in range(3):
        churned = host.call("churn", 2000)[0]
        assert churned > 0
        host.call("__collect")
        check(f"after collect {cycle + 1}")
    assert int.from_bytes(mem.read(static["f64s"], 4), "little") == buffer_after


def test_unpinned_pushed_buffer_is_collected(capsys, tmp_path):
    """The GC never traces from an appended object (no AS global holds it): a heap
    buffer that push hangs on an unpinned static array is freed, just as an unpinned
    runtime array would be. Read-only use needs no pin (static children are never freed)."""
    out = tmp_path / "out.wasm"
    assert add_data(capsys, PLAIN, out)[0] == 0
    data = out.read_bytes()
    host = instantiate(data)
    abi, rtti = module_abi(Module.from_bytes(data), None, None)
    a = host.global_value("f64s")
    assert host.call("f64Push", a, 4.5) == [4]
    words = host.global_value("nested")
    for _ in range(3):
        host.call("churn", 2000)
        host.call("__collect")
    assert read_at(host.memory(), words, abi, rtti).value == [["a", "bc"], [], ["日本", "😀", "ü"]]
    try:
        value = read_at(host.memory(), a, abi, rtti).value
    except Exception as e:  # the freed block was reused: no valid buffer there any more
        value = e
    assert value != [1.5, 2.5, -3.0, 4.5]


# -- placement, refusals and the report -------------------------------------------

def test_heap_placement_moves_data_end_stack_and_heap(capsys, tmp_path):
    out = tmp_path / "out.wasm"
    code, report, _ = add_data(capsys, PLAIN, out)
    assert code == 0
    before = Module.from_file(PLAIN / "module.wasm").symbols()
    after = Module.from_file(out).symbols()
    old = {k: before[k]["value"] for k in RUNTIME_SYMBOLS}
    new = {k: after[k]["value"] for k in RUNTIME_SYMBOLS}
    assert report["base"] == old["__data_end"] == 3652
    assert report["heap_base"] == {"old": old["__heap_base"], "new": new["__heap_base"]} == {"old": 36420, "new": 37644}
    assert new["__data_end"] == (report["end"] + 3) & ~3 == 4876
    assert new["__stack_pointer"] == new["__heap_base"]
    assert new["__heap_base"] - new["__data_end"] == old["__heap_base"] - old["__data_end"] == 32768
    mem = Module.from_file(out).memories[0]
    assert mem.limits.min * 65536 >= new["__heap_base"]


def test_exported_objects_are_written_as_the_grammar_encodes_them(capsys, tmp_path):
    # add-data makes each object's global and export with its bytes; they must be the
    # canonical encoding, and the output must decode to the same entries.
    out = tmp_path / "out.wasm"
    code, report, _ = add_data(capsys, PLAIN, out)
    assert code == 0
    before, after = Module.from_file(PLAIN / "module.wasm"), Module.from_file(out)
    new_globals = after.defined_globals[len(before.defined_globals):]
    new_exports = after.exports[len(before.exports):]
    named = [o for o in report["objects"] if o["name"] is not None]
    assert len(new_globals) == len(new_exports) == len(named) > 0
    first = len(before.globals)
    for i, (o, g, e) in enumerate(zip(named, new_globals, new_exports)):
        assert (e.name, e.kind, e.index) == (o["name"], "global", first + i)
        assert (g.valtype, g.mutable, g.init_value) == (0x7F, False, o["address"])
        assert g.encode() == g._encode() and e.encode() == e._encode()


def test_reserved_placement_keeps_heap_globals(capsys, tmp_path):
    out = tmp_path / "out.wasm"
    code, report, _ = add_data(capsys, BASED, out, "--base", "768")
    assert code == 0 and report["placement"] == "reserved"
    before = Module.from_file(BASED / "module.wasm")
    after = Module.from_file(out)
    sym = lambda m: {k: m.symbols()[k]["value"] for k in RUNTIME_SYMBOLS}  # noqa: E731
    assert sym(after) == sym(before)
    assert report["heap_base"] == {"old": 38468, "new": 38468}
    assert report["base"] == 768 and report["end"] <= 2048
    added = after.data[len(before.data):]
    assert len(added) == len(report["segments"])
    assert all(768 <= s["offset"] and s["offset"] + s["size"] <= 2048 for s in report["segments"])
    # auto cannot use the 1 KiB left between 1024 and the data at 2048: these objects need 1228 bytes
    code, report, _ = add_data(capsys, BASED, tmp_path / "auto.wasm")
    assert code == 0 and report["placement"] == "heap"


def test_optimized_build_is_refused(capsys, tmp_path):
    out = tmp_path / "out.wasm"
    code, _, err = add_data(capsys, O3, out)
    assert code == 2 and not out.exists()
    assert "no __heap_base global" in err
    for alternative in ("--base ADDR", "--memoryBase", "before optimizing"):
        assert alternative in err


def test_optimized_build_refuses_an_explicit_base_above_its_data(capsys, tmp_path):
    # Above the static data is the heap, which an -O3 build cannot move (its __heap_base is
    # inlined): objects put there are overwritten by the program's own allocations.
    out = tmp_path / "out.wasm"
    code, _, err = add_data(capsys, O3, out, "--base", "65536")
    assert code == 2 and not out.exists()
    assert "span 65536..66764, above the module's static data (1036..4674), where its stack and heap are" in err
    for alternative in ("below the static data", "--memoryBase", "before optimizing"):
        assert alternative in err


def test_conflicting_export_name(capsys, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text((PLAIN / "spec.toml").read_text() + '\n[[object]]\nname = "strLen"\ntype = "string"\nvalue = "x"\n')
    out = tmp_path / "out.wasm"
    code = main(["add-data", str(PLAIN / "module.wasm"), str(spec), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "an export named 'strLen' already exists" in err
    out.write_bytes(b"keep")  # an existing output file is left untouched
    assert main(["add-data", str(PLAIN / "module.wasm"), str(spec), "-o", str(out)]) == 2
    assert out.read_bytes() == b"keep"


def test_json_report_shape(capsys, tmp_path):
    out = tmp_path / "out.wasm"
    code, report, _ = add_data(capsys, PLAIN, out)
    assert code == 0
    assert {"abi", "base", "end", "objects", "segments", "placement", "heap_base"} <= set(report)
    assert report["abi"] == "assemblyscript"
    assert set(report["heap_base"]) == {"old", "new"}
    build = json.loads((PLAIN / "build.json").read_text())
    spec = spec_objects(PLAIN)
    assert [o["name"] for o in report["objects"]] == list(spec)
    for o in report["objects"]:
        assert {"name", "type", "address", "size", "rt_id"} <= set(o)  # layout also reports "block"
        assert o["type"] == spec[o["name"]][0]
        assert o["rt_id"] == build["ids"][o["type"]]  # RTTI-resolved or explicit, always asc's id
        assert o["address"] % 16 == 0
    for s in report["segments"]:
        assert set(s) == {"offset", "size"}
    sizes = {o["name"]: o["size"] for o in report["objects"]}
    assert sizes["greeting"] == 2 * _utf16_len(spec["greeting"][1]) == 34
    assert sizes["stat"] == 16 and sizes["i32a"] == 12 and sizes["words"] == 16
    # interning: "alpha" is words[0]'s string object
    host = instantiate(out.read_bytes())
    mem = host.memory()
    words = host.global_value("words")
    buffer = int.from_bytes(mem.read(words, 4), "little")
    assert int.from_bytes(mem.read(buffer, 4), "little") == host.global_value("alpha")
    # the module's memory segments: old ones untouched, one new segment per object block
    before = Module.from_file(PLAIN / "module.wasm")
    after = Module.from_file(out)
    assert [(d.offset, d.data) for d in after.data[:len(before.data)]] == \
        [(d.offset, d.data) for d in before.data]
    assert len(after.data) - len(before.data) == len(report["segments"])
    assert math.isclose(report["end"] - report["base"], 1224)


def test_wasmem_read_decodes_appended_objects(capsys, tmp_path):
    """`wasmem read` on the rewritten module: nested and typed arrays by their headers."""
    out = tmp_path / "out.wasm"
    assert add_data(capsys, PLAIN, out)[0] == 0
    build = json.loads((PLAIN / "build.json").read_text())
    for name, (type_, value) in spec_objects(PLAIN).items():
        assert main(["read", str(out), name, "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert (doc["type"], doc["rt_id"]) == (type_, build["ids"][type_]), name
        expect = ["-0.0" if x == 0 and math.copysign(1, x) < 0 else x for x in value] \
            if isinstance(value, list) else value
        got = ["-0.0" if isinstance(x, float) and x == 0 and math.copysign(1, x) < 0 else x
               for x in doc["value"]] if isinstance(doc["value"], list) else doc["value"]
        assert got == expect, name
        # the empty inner array of `nested` takes its type from its siblings: nothing assumed
        assert doc["notes"] == (["Uint8Array and Uint8ClampedArray have the same flags; read as Uint8Array"]
                                if name == "u8a" else []), name


def test_past_the_segment_limit_the_objects_go_as_one_segment(capsys, tmp_path, monkeypatch, validate_wasm):
    """One segment per object would pass the JS API's 100,000: the layout goes as one
    segment, with the same memory image, addresses and exports (limit lowered here)."""
    import wasmem.rewrite.add_data as add_data_module

    per_object, merged = tmp_path / "per-object.wasm", tmp_path / "merged.wasm"
    code, report, _ = add_data(capsys, PLAIN, per_object)
    assert code == 0
    plain = Module.from_file(PLAIN / "module.wasm")
    existing, added = len(plain.data), len(report["segments"])
    assert added > 2
    monkeypatch.setattr(add_data_module, "MAX_SEGMENTS", existing + added - 1)
    code, merged_report, err = add_data(capsys, PLAIN, merged)
    assert code == 0
    assert f"{added} objects written as one data segment" in err
    assert merged_report == report
    a, b = Module.from_file(per_object), Module.from_file(merged)
    assert len(a.data) == existing + added and len(b.data) == existing + 1
    lo, hi = report["segments"][0]["offset"], report["end"]
    assert b.read_static(lo, hi - lo) == a.read_static(lo, hi - lo)
    assert [(e.name, e.index) for e in b.exports] == [(e.name, e.index) for e in a.exports]
    assert [g.init_value for g in b.globals] == [g.init_value for g in a.globals]
    for i, seg in enumerate(b.data[existing:]):
        assert seg.offset == lo and seg.size == hi - lo
    assert validate_wasm(merged.read_bytes()) == (True, "")


def test_export_objects_skips_unnamed_and_refuses_a_repeated_name():
    from wasmem.errors import RewriteError
    from wasmem.rewrite.add_data import _check_export_names, _export_objects

    m = Module.from_file(PLAIN / "module.wasm")
    first = len(m.globals)
    exports_before = len(m.exports)
    _check_export_names(m, ["a", None, "b"])
    _export_objects(m, ["a", None, "b"], [16, 32, 48])
    assert [(e.name, e.index) for e in m.exports[exports_before:]] == [("a", first), ("b", first + 1)]
    assert [g.init_value for g in m.globals[first:]] == [16, 48]
    with pytest.raises(RewriteError, match="an export named 'c' already exists"):
        _check_export_names(m, ["c", "c"])
    with pytest.raises(RewriteError, match="an export named 'a' already exists"):
        _check_export_names(m, ["d", "a"])
    with pytest.raises(RewriteError, match="'__data_end' would be exported under the name of a runtime symbol"):
        _check_export_names(m, ["d", "__data_end", "__heap_base"])


@given(st.lists(st.tuples(st.one_of(st.text(max_size=8), st.text(min_size=130, max_size=140)),
                          st.integers(0, 2**32 - 1)), max_size=5))
def test_bulk_encodings_equal_the_entry_encoders(items):
    from wasmem.binary.entries import encode_export
    from wasmem.model import const_expr
    from wasmem.rewrite.add_data import _const_exprs, _global_exports

    names, addresses = [n for n, _ in items], [a for _, a in items]
    try:
        expected = [encode_export(n, "global", 7 + i) for i, n in enumerate(names)]
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            _global_exports(names, range(7, 7 + len(names)))
        return
    assert _global_exports(names, range(7, 7 + len(names))) == expected
    assert _const_exprs(addresses) == [const_expr(a) for a in addresses]
    assert _const_exprs(addresses, 0x42) == [const_expr(a, 0x42) for a in addresses]


def test_the_api_report_has_the_records_the_columns_hold():
    from wasmem.layout.spec import load_spec
    from wasmem.rewrite.add_data import add_data as add

    spec = load_spec(PLAIN / "spec.toml")
    records = add(Module.from_file(PLAIN / "module.wasm"), spec)
    columns = add(Module.from_file(PLAIN / "module.wasm"), spec, columns=True)
    for key in ("objects", "segments"):
        keys, values = columns.pop(key)
        assert [dict(zip(keys, row)) for row in zip(*values)] == records.pop(key)
        assert len(values[0]) > 3
    assert columns == records


# -- where the room below the data is a stack (wasm-ld --stack-first, Rust's default) ---

def _stack_first(sp_name: str = "") -> bytes:
    # 64 KiB of stack, then the data; the stack pointer is global 0, as wasm-ld makes it
    return wat(f'(module (memory 2) (global {sp_name} (mut i32) (i32.const 65536)) (global i32 (i32.const 7))'
               ' (data (i32.const 65536) "static"))')


def _spec(tmp_path, abi: str = "c") -> Path:
    spec = tmp_path / f"spec-{abi}.json"
    kind = "cstring" if abi == "c" else "string"
    spec.write_text(f'{{"abi": "{abi}", "object": [{{"name": "msg", "type": "{kind}", "value": "hello"}}]}}')
    return spec


@pytest.mark.parametrize("sp_name", ["", "$__stack_pointer"], ids=["stripped", "named"])
def test_a_stack_below_the_data_is_not_free_room(tmp_path, capsys, sp_name):
    module, out = tmp_path / "in.wasm", tmp_path / "out.wasm"
    module.write_bytes(_stack_first(sp_name))
    assert main(["add-data", str(module), str(_spec(tmp_path)), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "below the module's static data is its stack (the stack pointer starts at 65536" in err
    assert "--base ADDR in memory the program never uses" in err and not out.exists()
    assert main(["add-data", str(module), str(_spec(tmp_path)), "-o", str(out), "--base", "4096"]) == 2
    assert ("the objects would span 4096..4102, inside the stack below the module's static data (its stack "
            "pointer starts at 65536") in capsys.readouterr().err and not out.exists()
    # the same room with nothing pointing into it is taken for asc objects (asc --memoryBase)
    module.write_bytes(_stack_first(sp_name).replace(b"\x7f\x01\x41\x80\x80\x04", b"\x7f\x01\x41\x80\x80\x08"))
    assert main(["add-data", str(module), str(_spec(tmp_path, "assemblyscript")), "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["placement"] == "reserved" and report["base"] == 1024


def test_below_a_c_like_builds_data_is_not_known_to_be_free(tmp_path, capsys):
    # An optimizer leaves a C build's leading zero-valued data out of the segments: the
    # memory below the first one may be the program's, so only an explicit --base goes there.
    module, out = tmp_path / "in.wasm", tmp_path / "out.wasm"
    module.write_bytes(wat('(module (memory 2) (global (mut i32) (i32.const 131072)) (data (i32.const 1280) "x"))'))
    assert main(["add-data", str(module), str(_spec(tmp_path)), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the memory below the module's first data segment (1280) may be its own" in err and not out.exists()
    assert main(["add-data", str(module), str(_spec(tmp_path)), "-o", str(out), "--base", "1024", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["placement"] == "reserved"


@pytest.mark.parametrize("name, message", [
    ("swc_wasm_bg.wasm", "below the module's static data is its stack (the stack pointer starts at 1048576"),
    ("ffmpeg-core.wasm", "the memory below the module's first data segment (1280) may be its own"),
    ("esbuild.wasm", "the memory below the module's first data segment (84931) may be its own")])
def test_real_c_like_modules_keep_the_memory_below_their_data(tmp_path, capsys, name, message):
    # Rust's stack-first stack; an emscripten build whose first segment is at 1280 (below
    # it may be zero-valued data that memory packing left out); Go's runtime memory (argv
    # and environment at 4096): add-data used to put objects at 1024 in each
    from test_real_modules import CORPUS

    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: run tools/get-corpus.sh")
    out = tmp_path / "out.wasm"
    assert main(["add-data", str(path), str(_spec(tmp_path)), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


# -- the runtime symbols are still found in add-data's output --------------------------

def _heap_cases():
    from fixtures_index import modules

    return [p for p in modules() if "__heap_base" in Module.from_file(p).symbols()]


_APPENDED = {
    "string": [{"name": "appended_s", "type": "string", "value": "héllo"}],
    # the named object's address is past its buffer: not where add-data began
    "array-first": [{"name": "appended_a", "type": "Array<i32>", "value": [1, 2, 3]},
                    {"name": "appended_s", "type": "string", "value": "héllo"}],
}


@pytest.mark.filterwarnings("ignore::wasmem.WasmWarning")  # (no RTTI in some; imported memories grow)
@pytest.mark.parametrize("objects", sorted(_APPENDED))
@pytest.mark.parametrize("path", _heap_cases(), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}")
def test_the_symbols_survive_add_data(path, objects):
    # Found by position in nameless builds, they must still be found in the output (for
    # info, set-memory's checks, and add-data again): the RTTI table now ends below the
    # appended objects, not at the moved __heap_base / __data_end.
    from wasmem.layout.spec import parse_spec
    from wasmem.rewrite.add_data import add_data as add

    m = Module.from_file(path)
    before = m.symbols()
    try:
        report = add(m, parse_spec({"object": _APPENDED[objects]}))
    except LayoutError as e:
        # (a build without RTTI has no id for Array<i32>; one with Array<isize> too has two)
        assert objects == "array-first"
        assert "no runtime id for Array<i32>" in str(e) or (
            "ambiguous runtime id for Array<i32>" in str(e) and path.parent.name.startswith("aliases-"))
        return
    except RewriteError as e:  # (wasm-ld's exported __heap_base, which its C allocator does not read)
        assert before["__heap_base"]["source"] == "export" and "__rtti_base" not in before
        assert "holds its heap base" in str(e)
        return
    after = Module.from_bytes(m.to_bytes()).symbols()
    assert set(after) == set(before)
    delta = report["heap_base"]["new"] - report["heap_base"]["old"]
    assert (delta > 0) == (report["placement"] == "heap")
    heap = before["__heap_base"]["value"]
    for name, s in before.items():
        if name == "__data_end":  # (moved to the end of the appended data)
            assert after[name]["value"] > s["value"] if delta else after[name] == s
            continue
        moved = name == "__heap_base" or (name == "__stack_pointer" and s["value"] == heap)
        assert after[name] == {**s, "value": s["value"] + (delta if moved else 0)}

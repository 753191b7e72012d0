"""add-data into what clang and wasm-ld make (fixtures/add-data-c/, from
tools/gen-c-fixtures.py): C objects put where the program never writes are
read by the program's own functions; placements that the linker's layout makes unsafe
are refused, each for its reason, and the reason is shown to hold at run time."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import FIXTURES, tool_script
from wasmem.errors import RewriteError, WasmWarning
from wasmem.host.instance import instantiate
from wasmem.layout.spec import load_spec
from wasmem.module import Module
from wasmem.rewrite.add_data import add_data

ROOT = FIXTURES / "add-data-c"
CASES = ("classic", "classic-heap-export", "stack-first", "stack-first-memory-grow")


@pytest.mark.parametrize("case", CASES)
def test_fixture_matches_generator_and_build(case):
    gen = tool_script("gen-c-fixtures.py")
    folder = ROOT / case
    build = json.loads((folder / "build.json").read_text())
    data = (folder / "module.wasm").read_bytes()
    allocator, extra = gen.CASES[case]
    assert build["args"] == [*gen.BASE, *extra]
    assert (len(data), hashlib.sha256(data).hexdigest()) == (build["size"], build["sha256"])
    assert (folder / "source.c").read_text() == gen.source(allocator)
    assert json.loads((folder / "spec.json").read_text()) == gen.SPEC


def _appended(case, base):
    m = Module.from_file(ROOT / case / "module.wasm")
    report = add_data(m, load_spec(ROOT / case / "spec.json"), base=base)
    return m, {o["name"]: o["address"] for o in report["objects"]}, report


def _bytes_at(host, address, n):
    return bytes(host.call("peek", address, i)[0] for i in range(n))


@pytest.mark.parametrize("case", ["classic", "classic-heap-export"])
def test_objects_in_the_first_kib_are_read_by_the_programs_own_code(case):
    m, at, report = _appended(case, 256)
    assert report["placement"] == "reserved" and at == {"message": 256, "numbers": 280, "ratios": 304}
    host = instantiate(m.to_bytes())
    message = "appended by wasmem ✓".encode()
    assert host.call("c_strlen", at["message"]) == [len(message)]
    assert _bytes_at(host, at["message"], len(message) + 1) == message + b"\0"
    assert host.call("sum_i32", at["numbers"], 5) == [1 - 2 + 30 + 400 + 5000]
    assert [host.call("get_f64", at["ratios"], i)[0] for i in range(3)] == [0.5, -1.25, 1e300]
    # the program's own data, allocator and stack are as they were
    greeting = b"static data of the C program\0"
    assert _bytes_at(host, host.call("greet")[0], len(greeting)) == greeting
    p = host.call("alloc", 64)[0]
    host.call("fill", p, 64, 0xAA)
    assert host.call("stack_work", 1) == [8]
    assert _bytes_at(host, p, 64) == b"\xaa" * 64
    assert _bytes_at(host, at["message"], len(message)) == message


@pytest.mark.parametrize("case,reason", [
    ("classic", "the memory below the module's first data segment (1024) may be its own"),
    ("classic-heap-export", "the module's code holds its heap base (66608) as a constant and never reads the "
                            "__heap_base global"),
    ("stack-first", "below the module's static data is its stack (the stack pointer starts at 65536"),
])
def test_auto_placement_is_refused_for_its_reason(case, reason):
    with pytest.raises(RewriteError) as e:
        _appended(case, "auto")
    assert reason in str(e.value)


def test_a_heap_the_program_takes_from_memory_grow_is_moved_past_the_objects():
    """stack-first-memory-grow exports __heap_base but never reads it, nor holds its value: its
    allocator takes pages from memory.grow, as Rust's dlmalloc does. The objects go right after
    the data (and .bss, up to __data_end); the stack, below the data, stays where it is."""
    m, at, report = _appended("stack-first-memory-grow", "auto")
    before = Module.from_file(ROOT / "stack-first-memory-grow" / "module.wasm").symbols()
    assert report["placement"] == "heap" and at["message"] == before["__data_end"]["value"] == 65576
    after = m.symbols()
    assert after["__stack_pointer"] == before["__stack_pointer"]
    assert after["__heap_base"]["value"] == report["heap_base"]["new"] > at["ratios"] + 24
    host = instantiate(m.to_bytes())
    message = "appended by wasmem ✓".encode()
    assert host.call("c_strlen", at["message"]) == [len(message)]
    assert host.call("sum_i32", at["numbers"], 5) == [5429]
    assert [host.call("get_f64", at["ratios"], i)[0] for i in range(3)] == [0.5, -1.25, 1e300]
    p = host.call("alloc", 64)[0]
    assert p == 131072  # the memory's end before this call: a page from memory.grow
    host.call("fill", p, 64, 0xAA)
    assert host.call("stack_work", 1) == [8]
    assert _bytes_at(host, p, 64) == b"\xaa" * 64
    assert _bytes_at(host, at["message"], len(message)) == message


def test_the_stack_first_build_has_no_room_for_an_explicit_base_in_its_stack():
    with pytest.raises(RewriteError, match=r"inside the stack below the module's static data"):
        _appended("stack-first", 256)


@pytest.mark.parametrize("base", [1040, 1054, 1059])
def test_an_explicit_base_in_the_bss_up_to_data_end_is_refused(base):
    # the segments end at 1053; the program's zero-initialized data (its allocator's pointer)
    # runs on to the __data_end it exports, 1060
    with pytest.raises(RewriteError, match=rf"the objects would span {base}\.\.\d+, overlapping the module's "
                                           r"static data \(1024\.\.1060, zero-initialized from 1053\)"):
        _appended("classic-heap-export", base)
    # a byte that fits between the segments' end and __data_end was taken before
    from wasmem.layout.spec import parse_spec

    m = Module.from_file(ROOT / "classic-heap-export" / "module.wasm")
    with pytest.raises(RewriteError, match=r"span 1054\.\.1055, overlapping the module's static data"):
        add_data(m, parse_spec({"abi": "c", "object": [{"name": "t", "type": "bytes", "hex": "aa"}]}), base=1054)


def test_moving_the_exported_heap_base_would_not_move_the_c_heap():
    """Why classic-heap-export is refused: heap placement moves the __heap_base global and the
    stack pointer up past the new objects, but the allocator holds &__heap_base as a constant.
    Done by hand here (36 bytes, what the spec's objects take): the stack then overlaps the first
    allocation, and a call that uses the stack overwrites it."""
    m = Module.from_file(ROOT / "classic-heap-export" / "module.wasm")
    syms = m.symbols()
    assert (syms["__heap_base"]["source"], syms["__heap_base"]["value"], syms["__stack_pointer"]["value"]) == \
        ("export", 66608, 66608)

    def heap_kept_after_stack_work(module) -> bool:
        host = instantiate(module.to_bytes())
        p = host.call("alloc", 64)[0]
        assert p == 66608  # the constant, wherever the global says the heap is
        host.call("fill", p, 64, 0xAA)
        host.call("stack_work", 1)
        return _bytes_at(host, p, 64) == b"\xaa" * 64

    assert heap_kept_after_stack_work(m)
    for sym in ("__heap_base", "__stack_pointer"):
        m.globals[syms[sym]["global"]].set_init_value(66608 + 48)
    assert not heap_kept_after_stack_work(m)


def test_the_code_scan_sees_wasm_lds_padded_immediates():
    """wasm-ld leaves the LEBs it relocates padded to 5 bytes (i32.const 66608 is 41 b0 88 84 80 00):
    the scan finds them, and it agrees with a full decode of every function."""
    from wasmem.binary.code import split_code_section
    from wasmem.binary.uses import global_and_const_uses

    m = Module.from_file(ROOT / "classic-heap-export" / "module.wasm")
    code = m.section(10)
    assert bytes.fromhex("41b088848000") in bytes(code.payload)
    decoded = [(i.op.name, i.immediates) for body in split_code_section(code.payload, code.offset)
               for i in body.instructions()]
    for index in range(len(m.globals)):
        for value in (66608, 1024, 1060, 7, 123456):
            expected = (("global.get", (index,)) in decoded, ("i32.const", (value,)) in decoded)
            assert global_and_const_uses(code.payload, code.offset, index, value) == expected, (index, value)


def test_the_new_globals_are_named_where_the_module_names_its_globals():
    m, at, _ = _appended("classic", 256)
    assert m.names.get("global") == {0: "__stack_pointer", 1: "message", 2: "numbers", 3: "ratios"}
    assert {e.name: e.index for e in m.exports if e.kind == "global"} == {"message": 1, "numbers": 2, "ratios": 3}
    again = Module.from_bytes(m.to_bytes())
    assert again.names.get("global")[3] == "ratios" and again.names.get("function") == m.names.get("function")


def test_the_new_segments_are_named_where_the_module_names_its_segments(validate_wasm):
    """wasm-ld names its segments after their output sections (.data); the new ones are named
    after their objects, and an unexported object's too."""
    m, at, report = _appended("classic", 256)
    assert m.names.get("data") == {0: ".data", 1: "message", 2: "numbers", 3: "ratios"}
    assert [s.offset for s in m.data[1:]] == [256, 280, 304]
    again = Module.from_bytes(m.to_bytes())
    assert again.names.get("data") == m.names.get("data")
    ok, why = validate_wasm(m.to_bytes())
    assert ok, why


def test_the_one_segment_past_the_limit_is_named_as_wasmems(monkeypatch):
    from wasmem.rewrite import add_data as add_data_module

    monkeypatch.setattr(add_data_module, "MAX_SEGMENTS", 2)
    with pytest.warns(WasmWarning, match="3 objects written as one data segment"):
        m, at, report = _appended("classic", 256)
    assert m.names.get("data") == {0: ".data", 1: "wasmem.static"}
    assert (m.data[1].offset, m.data[1].size) == (256, 328 - 256)


def test_a_name_that_is_not_utf8_is_refused_as_an_export_and_left_out_as_a_segment_name():
    from wasmem.layout.spec import parse_spec

    path = ROOT / "classic" / "module.wasm"
    spec = parse_spec({"abi": "c", "object": [{"name": "ok", "type": "cstring", "value": "a"},
                                              {"name": "bad\ud800", "type": "cstring", "value": "b"}]})
    m = Module.from_file(path)
    with pytest.raises(RewriteError, match=r"object named 'bad\\ud800' cannot be exported: an export name is UTF-8"):
        add_data(m, spec, base=256)
    assert m.to_bytes() == path.read_bytes()
    add_data(m, spec, base=256, export=False)
    assert m.names.get("data") == {0: ".data", 1: "ok"}
    assert Module.from_bytes(m.to_bytes()).names.get("data") == {0: ".data", 1: "ok"}


@pytest.mark.parametrize("name,message", [
    ("__heap_base", "would be exported under the name of a runtime symbol"),
    ("greet", "an export named 'greet' already exists"),
])
def test_an_export_name_in_the_way_is_refused_before_the_module_changes(name, message):
    from wasmem.layout.spec import parse_spec

    path = ROOT / "classic" / "module.wasm"
    m = Module.from_file(path)
    spec = parse_spec({"abi": "c", "object": [{"name": "ok", "type": "cstring", "value": "a"},
                                              {"name": name, "type": "cstring", "value": "b"}]})
    with pytest.raises(RewriteError, match=message):
        add_data(m, spec, base=256)
    assert m.to_bytes() == path.read_bytes()
    add_data(m, spec, base=256, export=False)  # (no exports: no names in the way)


def test_a_body_that_does_not_decode_leaves_the_heap_where_it_is():
    """The heap base's bytes are in the code, but the body holding them does not decode:
    whether the program reads the global cannot be told, so the heap is not moved."""
    from conftest import wat
    from wasmem.layout.spec import parse_spec

    data = bytearray(wat('(module (memory (export "memory") 1) (data (i32.const 1024) "abc")'
                         ' (global $hb (export "__heap_base") i32 (i32.const 4096))'
                         ' (global $de (export "__data_end") i32 (i32.const 1028))'
                         ' (func (export "f") (result i32) (i32.const 4096) (nop)))'))
    at = data.index(b"\x41\x80\x20\x01")  # i32.const 4096, nop
    data[at + 3] = 0xFF  # (an opcode no proposal has)
    m = Module.from_bytes(bytes(data))
    spec = parse_spec({"abi": "c", "object": [{"name": "s", "type": "cstring", "value": "x"}]})
    with pytest.raises(RewriteError, match=r"cannot be told, as a function body does not decode "
                                           r"\(offset 0x[0-9a-f]+: unknown opcode 0xff\)"):
        add_data(m, spec)
    assert m.to_bytes() == bytes(data)


def test_a_memory64_takes_c_data_at_i64_addresses(validate_wasm, tmp_path):
    # a memory64's offsets and addresses are i64: the segments use i64.const (an i32.const
    # there does not validate) and the exported globals are i64
    from conftest import wat
    from wasmem.host.read import read_module_object
    from wasmem.layout.spec import parse_spec

    source = wat("""(module (memory (export "memory") i64 1)
      (func (export "second") (result i32) (i32.load (i64.const 0x408))))""")
    spec = parse_spec({"abi": "c", "object": [{"name": "msg", "type": "cstring", "value": "hi"},
                                              {"name": "nums", "type": "u32[]", "value": [7, 8, 9]}]})
    m = Module.from_bytes(source)
    report = add_data(m, spec, base=1024)
    out = m.to_bytes()
    assert validate_wasm(out)[0]
    assert [(s["offset"], s["size"]) for s in report["segments"]] == [(1024, 3), (1028, 12)]
    back = Module.from_bytes(out)
    assert [d.offset_expr[0] for d in back.data] == [0x42, 0x42]
    assert [(g.valtype, g.init_value) for g in back.globals] == [(0x7E, 1024), (0x7E, 1028)]
    assert instantiate(out).call("second") == [8]
    assert read_module_object(out, "nums", abi_name="c", type_="u32[3]").value == [7, 8, 9]
    assert read_module_object(out, "msg", abi_name="c", type_="cstring").value == "hi"
    as_spec = parse_spec({"object": [{"name": "s", "type": "string", "value": "hi"}]})
    with pytest.raises(RewriteError, match="memory 0 is a 64-bit memory .memory64., and AssemblyScript's objects "
                                           "and runtime are 32-bit: only the c abi's data can go into it"):
        add_data(Module.from_bytes(source), as_spec, base=1024)

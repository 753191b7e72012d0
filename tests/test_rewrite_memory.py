"""Memory rewrites on small WAT modules: placement, limits, errors, renumbering."""

from __future__ import annotations

import pytest

from conftest import wat
from wasmem.cli import main
from wasmem.errors import RewriteError, WasmWarning
from wasmem.module import Module
from wasmem.rewrite.memory import define_memory, export_memory, import_memory, set_memory


def cli(tmp_path, *args, module: bytes):
    src = tmp_path / "in.wasm"
    src.write_bytes(module)
    out = tmp_path / "out.wasm"
    rc = main([args[0], str(src), "-o", str(out), *args[1:]])
    return rc, out


def test_import_memory_equals_the_module_written_that_way():
    before = wat('(module (func (import "env" "f")) (import "env" "t" (table 1 funcref)) (memory 2 5)'
                 ' (export "memory" (memory 0)) (data (i32.const 8) "hi"))')
    after = wat('(module (func (import "env" "f")) (import "env" "memory" (memory 2 5))'
                ' (import "env" "t" (table 1 funcref)) (export "memory" (memory 0)) (data (i32.const 8) "hi"))')
    m = Module.from_bytes(before)
    report = import_memory(m)
    assert report["index"] == 0 and report["limits"] == {"min": 2, "max": 5, "shared": False, "memory64": False}
    assert m.to_bytes() == after


def test_import_after_existing_memory_import_and_names():
    m = Module.from_bytes(wat('(module (import "a" "m" (memory 1)) (memory 3) (export "m2" (memory 1)))'))
    import_memory(m, module="host", name="mem")
    assert [(i.module, i.name, i.kind) for i in m.imports] == [("a", "m", "memory"), ("host", "mem", "memory")]
    info = Module.from_bytes(m.to_bytes()).info()
    assert info["memories"][1] == {"index": 1, "imported": True, "module": "host", "name": "mem", "exports": ["m2"],
                                   "min": 3, "max": None, "shared": False, "memory64": False}
    assert info["sections"][1]["name"] != "memory"  # the emptied memory section is gone


def test_limits_options_and_64_bit():
    m = Module.from_bytes(wat("(module (memory i64 1))"))
    import_memory(m, initial=2, maximum=9, shared=True)
    mem = Module.from_bytes(m.to_bytes()).memories[0]
    assert (mem.limits.min, mem.limits.max, mem.limits.shared, mem.limits.memory64) == (2, 9, True, True)


@pytest.mark.parametrize("module,kwargs,message", [
    ("(module (memory 1))", {"shared": True}, "a shared memory needs a maximum size: add --maximum"),
    ("(module (memory 1))", {"initial": 4, "maximum": 3}, "maximum size 3 pages is below the initial size 4"),
    ("(module (memory 1))", {"initial": 65537}, "more than a 32-bit memory can have (65536 pages)"),
    ('(module (import "e" "m" (memory 1)))', {}, "the module has no defined memory to convert"),
    ("(module)", {}, "the module has no defined memory"),
    ('(module (memory 2) (data (i32.const 65530) "0123456789"))', {"initial": 1},
     "data segment 0 ends at 65540, beyond the initial size of memory 0 (1 page = 65536 bytes): use --initial 2"),
    ("(module (memory 1))", {"memory": 3}, "there is no memory 3: the module has 1 memory"),
    # the stack and heap start past the data: the smaller memory would trap at the first call
    ('(module (memory 2) (global $__stack_pointer (mut i32) (i32.const 70000)) (data (i32.const 16) "x"))',
     {"initial": 1}, "the module's __stack_pointer is 70000, beyond the initial size of memory 0 (1 page = "
                     "65536 bytes): its stack and heap start there; use --initial 2"),
    ('(module (memory 2) (global $__heap_base i32 (i32.const 65540)) (export "__heap_base" (global 0)))',
     {"initial": 1}, "the module's __heap_base is 65540, beyond the initial size"),
    # C's .bss past the last segment, up to __data_end
    ('(module (memory 2) (global $d i32 (i32.const 65600)) (export "__data_end" (global 0)) '
     '(data (i32.const 65000) "x"))',
     {"initial": 1}, "the module's __data_end is 65600, beyond the initial size of memory 0 (1 page = 65536 "
                     "bytes): its static data (with the zero-initialized part no segment writes) ends there; "
                     "use --initial 2 or more"),
    # a second import of one name: a host holds one value per name
    ('(module (import "env" "memory" (memory 1)) (memory 1))', {"memory": 1},
     "the module already imports env.memory (import 0, a memory), and a host gives both imports the one value "
     "it holds under that name: choose another --name or --module"),
    ('(module (import "js" "mem" (func)) (memory 1))', {"module": "js", "name": "mem"},
     "the module already imports js.mem (import 0, a func)"),
])
def test_import_memory_refusals(module, kwargs, message):
    m = Module.from_bytes(wat(module))
    with pytest.raises(RewriteError) as e:
        import_memory(m, **kwargs)
    assert message in str(e.value)


@pytest.mark.parametrize("rewrite,kwargs,message", [
    (import_memory, {"name": "mem\ud800"}, "the import's name 'mem\\ud800' is not UTF-8 text"),
    (import_memory, {"module": "\udcff"}, "the import's module name '\\udcff' is not UTF-8 text"),
    (export_memory, {"name": "\udcfe"}, "the export name '\\udcfe' is not UTF-8 text"),
])
def test_a_name_that_is_not_utf8_is_refused_before_anything_changes(rewrite, kwargs, message):
    data = wat("(module (memory 1))")
    m = Module.from_bytes(data)
    with pytest.raises(RewriteError) as e:
        rewrite(m, **kwargs)
    assert message in str(e.value)
    assert m.to_bytes() == data


def test_a_name_from_the_command_line_that_is_not_utf8(tmp_path, capsys):
    # (a byte that is not UTF-8 in argv reaches Python as a lone surrogate: '\xff' -> '\udcff')
    rc, out = cli(tmp_path, "import-memory", "--name", "\udcff", module=wat("(module (memory 1))"))
    assert rc == 2 and not out.exists()
    assert "the import's name '\\udcff' is not UTF-8 text" in capsys.readouterr().err


def test_a_smaller_initial_size_keeps_the_stack_and_data_inside():
    m = Module.from_bytes(wat('(module (memory 3) (global $__stack_pointer (mut i32) (i32.const 70000)))'))
    assert set_memory(m, initial=2)["limits"]["min"] == 2  # 131072 bytes still hold it
    with pytest.raises(RewriteError, match="__stack_pointer is 70000, beyond the initial size"):
        set_memory(m, initial=1)
    # an imported memory too: the host may give just the minimum
    m = Module.from_bytes(wat('(module (import "env" "memory" (memory 2)) (data (i32.const 65534) "abcd"))'))
    with pytest.raises(RewriteError, match="data segment 0 ends at 65538, beyond the initial size"):
        set_memory(m, initial=1)


def test_refusal_writes_nothing(tmp_path, capsys):
    rc, out = cli(tmp_path, "import-memory", "--shared", module=wat("(module (memory 1))"))
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("wasmem: error: ") and "needs a maximum" in err and "Traceback" not in err
    # an existing output file is left untouched
    out.write_bytes(b"keep")
    rc, out = cli(tmp_path, "import-memory", "--shared", module=wat("(module (memory 1))"))
    assert rc == 2 and out.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wasm", "out.wasm"]  # no temp file left


def test_export_memory(tmp_path):
    rc, out = cli(tmp_path, "export-memory", "--name", "mem", module=wat("(module (memory 1))"))
    assert rc == 0
    assert Module.from_bytes(out.read_bytes()).info()["exports"] == [{"name": "mem", "kind": "memory", "index": 0}]
    m = Module.from_bytes(wat('(module (memory 1) (func (export "mem")))'))
    with pytest.raises(RewriteError, match="an export named 'mem' already exists"):
        export_memory(m, name="mem")


def test_set_memory(tmp_path):
    rc, out = cli(tmp_path, "set-memory", "--maximum", "0x10", "--shared", module=wat("(module (memory 1))"))
    assert rc == 0
    lim = Module.from_bytes(out.read_bytes()).memories[0].limits
    assert (lim.min, lim.max, lim.shared) == (1, 16, True)
    rc, out2 = cli(tmp_path, "set-memory", "--no-maximum", module=out.read_bytes())
    assert rc == 2  # shared needs a maximum
    rc, out3 = cli(tmp_path, "set-memory", "--no-maximum", "--no-shared", module=out.read_bytes())
    assert rc == 0 and Module.from_bytes(out3.read_bytes()).memories[0].limits.max is None
    m = Module.from_bytes(wat('(module (import "e" "m" (memory 1 2)))'))
    set_memory(m, initial=2)
    assert Module.from_bytes(m.to_bytes()).memories[0].limits.min == 2


def test_define_memory_inverts_import_memory():
    original = wat('(module (func (import "env" "f")) (memory 1 4) (export "memory" (memory 0))'
                   ' (data (i32.const 0) "x"))')
    m = Module.from_bytes(original)
    import_memory(m)
    m2 = Module.from_bytes(m.to_bytes())
    define_memory(m2)
    assert m2.to_bytes() == original


MULTI = """
(module
  (memory $a (export "a") 1)
  (memory $b (export "b") 1)
  (memory $c (export "c") 1)
  (data (memory $b) (i32.const 16) "B")
  (data (memory $c) (i32.const 16) "C")
  (func (export "store") (param i32 i32 i32)
    (i32.store $a (i32.const 0) (local.get 0))
    (i32.store $b (i32.const 0) (local.get 1))
    (i32.store $c (i32.const 0) (local.get 2)))
  (func (export "sum") (result i32)
    (i32.add (i32.add (i32.load8_u $a (i32.const 16)) (i32.load8_u $b (i32.const 16)))
             (i32.mul (i32.load8_u $c (i32.const 16)) (memory.size $c))))
)
"""


def run_multi(data: bytes, host_memories: dict):
    import wasmtime as wt

    cfg = wt.Config()
    cfg.wasm_multi_memory = True
    engine = wt.Engine(cfg)
    store = wt.Store(engine)
    module = wt.Module(engine, data)
    linker = wt.Linker(engine)
    mems = {}
    for imp in module.imports:
        mem = wt.Memory(store, wt.MemoryType(wt.Limits(1, None)))
        linker.define(store, imp.module, imp.name, mem)
        mems[imp.name] = mem
    ex = linker.instantiate(store, module).exports(store)
    ex["store"](store, 1, 2, 3)
    by_export = {k: ex[k] for k in "abc"}
    firsts = {k: by_export[k].read(store, 0, 1)[0] for k in "abc"}
    return firsts, ex["sum"](store)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_multi_memory_conversion_keeps_behaviour(index, validate_wasm):
    data = wat(MULTI)
    base = run_multi(data, {})
    m = Module.from_bytes(data)
    report = import_memory(m, memory=index, name=f"m{index}")
    out = m.to_bytes()
    ok, err = validate_wasm(out)
    assert ok, err
    assert report["index"] == 0
    assert run_multi(out, {}) == base == ({"a": 1, "b": 2, "c": 3}, ord("B") + ord("C"))
    # exports still name the same memories
    exports = {e["name"]: e["index"] for e in Module.from_bytes(out).info()["exports"]}
    expected = {0: {"a": 0, "b": 1, "c": 2}, 1: {"b": 0, "a": 1, "c": 2}, 2: {"c": 0, "a": 1, "b": 2}}[index]
    assert {k: exports[k] for k in "abc"} == expected
    # and back
    m2 = Module.from_bytes(out)
    define_memory(m2, memory=0)
    back = m2.to_bytes()
    assert validate_wasm(back)[0]
    assert run_multi(back, {}) == base


def test_unknown_opcode_in_code_that_must_be_renumbered(tmp_path, capsys):
    data = wat('(module (memory 1) (memory $b 1) (func (export "f") nop nop nop (drop (i32.load $b (i32.const 0)))))')
    i = data.index(b"\x01\x01\x01")
    bad = data[:i] + b"\xfd\xff\x7f" + data[i + 3:]  # a SIMD sub-opcode nobody defines, same length
    rc, out = cli(tmp_path, "import-memory", "--memory", "1", module=bad)
    assert rc == 2 and not out.exists()
    assert f"offset 0x{i:x}: unknown opcode 0xfd 0x3fff" in capsys.readouterr().err
    # converting memory 0 moves no index, so the body is never decoded and is copied as is
    rc, out = cli(tmp_path, "import-memory", "--memory", "0", module=bad)
    assert rc == 0 and bad[i:i + 3] in out.read_bytes()


@pytest.mark.parametrize("module, message", [
    # wasm-ld's __stack_pointer named, no __data_end, no data segment: all of it .bss
    ("(module (memory 1) (global $__stack_pointer (mut i32) (i32.const 66560)))",
     "memory 0: the module names __stack_pointer but not __data_end, so where its zero-initialized data (C's .bss) "
     "ends is not known (it has no data segment): an imported memory may not be zero there, and --zero-fill "
     "cannot cover it (wasm-ld leaves that data out of a defined memory's segments, and zeroes it itself at start "
     "under -Wl,--import-memory: link with that)"),
    # __data_end given, but no segment to say where the data starts
    ('(module (memory 1) (global i32 (i32.const 1060)) (export "__data_end" (global 0)))',
     "memory 0: the module has no data segment, so where its zero-initialized data (C's .bss) starts below "
     "__data_end (1060) is not known: an imported memory may not be zero there"),
])
def test_zero_initialized_data_that_cannot_be_found_is_warned_of(module, message):
    m = Module.from_bytes(wat(module))
    with pytest.warns(WasmWarning) as caught:
        import_memory(m, zero_fill=True)
    assert [str(w.message)[:len(message)] for w in caught] == [message]

"""`wasmem validate`, run in-process through wasmem.cli.main: exit codes, JSON, messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FIXTURES, wat
from wasmem.cli import main

HOST = FIXTURES / "host"


def run(capsys, *argv):
    code = main(["validate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, "--json", *argv)  # before FILE: --invoke takes the rest
    return code, json.loads(out), err


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_seed_invoke(capsys):
    code, out, err = run(capsys, HOST / "seed.wasm", "--invoke", "readMemory", "1")
    assert code == 0 and err == ""
    assert out.splitlines() == [f"{HOST / 'seed.wasm'}: valid, instantiated", "readMemory(1) = 99"]
    code, doc, _ = run_json(capsys, HOST / "seed.wasm", "--invoke", "readMemory", "0x0")
    assert (code, doc) == (0, {"valid": True, "instantiated": True, "stubs": [], "results": [21], "error": None})


def test_shared_memory_module(capsys):
    code, doc, _ = run_json(capsys, HOST / "seed-shared.wasm", "--invoke", "readMemory", "1")
    assert (code, doc["stubs"], doc["results"]) == (0, ["env.memory (memory)"], [99])


def test_every_import_kind(capsys, tmp_path):
    from test_host_instance import EVERY_KIND, EVERY_KIND_STUBS

    path = write(tmp_path, "kinds.wasm", wat(EVERY_KIND))
    code, doc, _ = run_json(capsys, path)
    assert (code, doc) == (0, {"valid": True, "instantiated": True, "stubs": EVERY_KIND_STUBS,
                               "results": [], "error": None})
    code, out, err = run(capsys, path)
    assert code == 0
    assert out.startswith(f"{path}: valid, instantiated (13 imports provided: env.f (func), env.mem (memory), ")
    # calling a stubbed function traps with the import's name: exit 1
    code, doc, _ = run_json(capsys, path, "--invoke", "callf")
    assert code == 1
    assert doc["error"].startswith("unknown import: `env::f` has not been defined (at ")
    assert (doc["valid"], doc["instantiated"], doc["results"]) == (True, True, [])


def test_not_wasm_is_exit_2(capsys, tmp_path):
    code, out, err = run(capsys, HOST / "seed.ts")
    assert (code, out) == (2, "")
    assert err == f"wasmem: error: {HOST / 'seed.ts'}: offset 0x0: not a WebAssembly binary (magic number 6d656d6f, expected 0061736d)\n"
    code, out, err = run(capsys, write(tmp_path, "short.wasm", b"\0as"))
    assert code == 2 and "offset 0x3: unexpected end of input: file too short for a WebAssembly header" in err
    code, out, err = run(capsys, write(tmp_path, "component.wasm", b"\0asm\x0d\0\x01\0"))
    assert code == 2 and "offset 0x4: this is a WebAssembly component (version 0xd, layer 1), not a core module" in err
    code, out, err = run(capsys, tmp_path / "missing.wasm")
    assert code == 2 and err.startswith(f"wasmem: error: {tmp_path / 'missing.wasm'}: No such file")
    # a section running past the end of the file: the framing error, with its offset
    code, out, err = run(capsys, write(tmp_path, "cut.wasm", b"\0asm\x01\0\0\0\x01\x10\x01"))
    assert code == 2 and "offset 0x" in err


def test_start_trap_is_exit_1(capsys, tmp_path):
    path = write(tmp_path, "trap.wasm", wat("(module (func $s unreachable) (start $s))"))
    code, doc, err = run_json(capsys, path)
    assert code == 1 and err == ""
    assert (doc["valid"], doc["instantiated"], doc["results"]) == (True, False, [])
    assert doc["error"].startswith("wasm trap: wasm `unreachable` instruction executed (at ")
    code, out, err = run(capsys, path)
    assert code == 1
    assert out == f"{path}: valid, not instantiated\n"
    assert err.startswith(f"wasmem: error: {path}: wasm trap: wasm `unreachable` instruction executed")


def test_invalid_module_is_exit_1(capsys, tmp_path):
    path = write(tmp_path, "bad.wasm", wat("(module (func (result i32) (i64.const 1)))"))
    code, doc, _ = run_json(capsys, path)
    assert code == 1
    assert (doc["valid"], doc["instantiated"], doc["stubs"]) == (False, False, [])
    assert doc["error"] == ("failed to compile: wasm[0]::function[0]: WebAssembly translation error: "
                            "Invalid input WebAssembly code at offset 26: type mismatch: expected i32, found i64")


def test_abort_is_exit_1_with_message_file_line_column(capsys):
    code, doc, _ = run_json(capsys, HOST / "statics.wasm", "--invoke", "checkPositive", "0")
    assert code == 1
    assert doc == {"valid": True, "instantiated": True, "stubs": ["env.abort (func)"], "results": [],
                   "error": "abort: n must be positive in statics.ts(16:3)"}
    code, out, err = run(capsys, HOST / "statics.wasm", "--invoke", "boom")
    assert code == 1
    assert out.splitlines()[-1] == "boom() failed"
    assert err == f"wasmem: error: {HOST / 'statics.wasm'}: abort: boom from wasm in statics.ts(21:3)\n"
    code, doc, _ = run_json(capsys, HOST / "statics.wasm", "--invoke", "checkPositive", "0x2a")
    assert (code, doc["results"], doc["error"]) == (0, [42], None)


def test_dirty_memory_shows_in_unwritten_bytes(capsys, tmp_path):
    # statics-import.wasm imports its memory (1 page) and never writes 0xfff0
    path = HOST / "statics-import.wasm"
    assert run_json(capsys, path, "--invoke", "peek", "0xfff0")[1]["results"] == [0]
    code, doc, _ = run_json(capsys, path, "--dirty-memory", "--invoke", "peek", "0xfff0")
    assert (code, doc["results"]) == (0, [0xA5])
    # --dirty-memory after the --invoke arguments works too
    code, out, _ = run(capsys, path, "--invoke", "peek", "65520", "--dirty-memory")
    assert code == 0 and out.splitlines()[-1] == "peek(65520) = 165"
    # the static data the module's segments wrote over the pattern is intact
    code, doc, _ = run_json(capsys, path, "--dirty-memory", "--invoke", "charAt", "0")
    assert doc["results"] == [ord("h")]


MIX = """(module
  (func (export "mix") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    local.get 0 local.get 1 local.get 2 local.get 3)
  (func (export "nan") (result f64) (f64.const nan))
  (func (export "inf") (result f32) (f32.const -inf)))"""


def test_invoke_argument_types(capsys, tmp_path):
    path = write(tmp_path, "mix.wasm", wat(MIX))
    code, doc, _ = run_json(capsys, path, "--invoke", "mix", "0xffffffff", "-0x10", "1.5", "0x1.8p1")
    assert (code, doc["results"]) == (0, [-1, -16, 1.5, 3.0])
    code, out, _ = run(capsys, path, "--invoke", "mix", "-1", "18446744073709551615", "-inf", "1e300")
    assert out.splitlines()[-1] == "mix(-1, 18446744073709551615, -inf, 1e300) = -1, -1, -inf, 1e+300"
    code, doc, _ = run_json(capsys, path, "--invoke", "mix", "1", "1", "3.4028235e38", "-infinity")
    assert (code, doc["results"][2:]) == (0, [3.4028234663852886e38, "-inf"])  # (the largest f32)
    assert run_json(capsys, path, "--invoke", "nan")[1]["results"] == ["nan"]
    assert run_json(capsys, path, "--invoke", "inf")[1]["results"] == ["-inf"]


@pytest.mark.parametrize("argv,message", [
    (["--invoke"], "--invoke needs the name of an exported function"),
    (["--invoke", "nope"], "the module has no export named 'nope'"),
    (["--invoke", "mix", "1"], "mix takes 4 argument(s) (i32, i64, f32, f64), 1 given"),
    (["--invoke", "mix", "1.5", "1", "1", "1"], "not an integer for i32: '1.5' (decimal or 0x hex)"),
    (["--invoke", "mix", "0x100000000", "1", "1", "1"], "mix: argument 0 = 4294967296 does not fit i32"),
    (["--invoke", "mix", "1", "1", "x", "1"], "not a number for f32: 'x'"),
    (["--invoke", "mix", "1", "1", "3.5e38", "1"], "'3.5e38' is out of range for f32 (infinity is spelled inf)"),
    (["--invoke", "mix", "1", "1", "1", "1e999"], "'1e999' is out of range for f64 (infinity is spelled inf)"),
    (["--invoke", "mix", "1", "1", "1", "0x1p99999"], "'0x1p99999' is out of range for f64 (infinity is spelled inf)"),
])
def test_invoke_usage_errors_are_exit_2(capsys, tmp_path, argv, message):
    path = write(tmp_path, "mix.wasm", wat(MIX))
    code, out, err = run(capsys, path, *argv)
    assert (code, out) == (2, "")
    assert err.strip().endswith(message)


SPIN = """(module (func (export "spin") (param i32) (result i32) (loop $l (br_if $l (local.get 0))) (i32.const 7)))"""


def test_a_start_function_that_never_returns_is_exit_1_at_the_time_limit(capsys, tmp_path):
    path = write(tmp_path, "loop.wasm", wat("(module (func $s (loop $l (br $l))) (start $s))"))
    code, doc, err = run_json(capsys, "--timeout", "0.2", path)
    assert (code, doc["valid"], doc["instantiated"], err) == (1, True, False, "")
    assert doc["error"] == ("the start function did not finish within 0.2 s: stopped by the time limit "
                            "(--timeout; timeout= in the API)")
    code, out, err = run(capsys, path, "--timeout=0.3")
    assert (code, out) == (1, f"{path}: valid, not instantiated\n")
    assert err == f"wasmem: error: {path}: the start function did not finish within 0.3 s: stopped by the time limit " \
                  "(--timeout; timeout= in the API)\n"


def test_an_invoked_export_is_stopped_at_the_time_limit(capsys, tmp_path):
    path = write(tmp_path, "spin.wasm", wat(SPIN))
    # --timeout after --invoke too (where argparse leaves the rest of the line to --invoke)
    for argv in (["--timeout", "0.2", "--invoke", "spin", "1"], ["--invoke", "spin", "1", "--timeout", "0.2"],
                 ["--invoke", "spin", "--timeout=0.2", "1"]):
        code, doc, _ = run_json(capsys, path, *argv)
        assert (code, doc["instantiated"], doc["results"]) == (1, True, [])
        assert doc["error"].startswith("spin did not finish within 0.2 s: stopped by the time limit")
    assert run_json(capsys, path, "--timeout", "0", "--invoke", "spin", "0")[:2] == (0, {
        "valid": True, "instantiated": True, "stubs": [], "results": [7], "error": None})


@pytest.mark.parametrize("argv,message", [
    (["--timeout", "-1"], "argument --timeout: not a number of seconds: '-1' (0 for no limit)"),
    (["--timeout", "x"], "argument --timeout: not a number of seconds: 'x' (0 for no limit)"),
    (["--timeout", "inf"], "argument --timeout: not a number of seconds: 'inf' (0 for no limit)"),
    (["--invoke", "spin", "1", "--timeout"], "--timeout needs a number of seconds"),
    (["--invoke", "spin", "1", "--timeout", "nan"], "--timeout: not a number of seconds: 'nan' (0 for no limit)"),
])
def test_bad_timeouts_are_exit_2(capsys, tmp_path, argv, message):
    path = write(tmp_path, "spin.wasm", wat(SPIN))
    if argv[0] == "--invoke":
        code, out, err = run(capsys, path, *argv)
    else:
        with pytest.raises(SystemExit) as e:
            run(capsys, path, *argv)
        code, (out, err) = e.value.code, capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().endswith(message)


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        main(["validate", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for option in ("--json", "--dirty-memory", "--timeout", "--invoke"):
        assert option in out


def test_python_dash_m(tmp_path):
    p = subprocess.run([sys.executable, "-m", "wasmem", "validate", str(HOST / "seed.wasm"), "--json",
                        "--invoke", "readMemory", "1"], capture_output=True, text=True)
    assert p.returncode == 0 and json.loads(p.stdout)["results"] == [99]


def test_corpus_malformed_and_invalid(corpus, capsys):
    """Malformed modules: exit 2 (framing) or 1 (the engine), never a traceback.
    Invalid ones: `valid` agrees with wasmtime's verdict recorded in the manifest."""
    from conftest import corpus_files, manifest

    from wasmem.host.instance import validate

    codes = {}
    for f in corpus_files("malformed"):
        code = main(["validate", "--json", str(f)])
        out, err = capsys.readouterr()
        codes[code] = codes.get(code, 0) + 1
        if code == 1:
            assert json.loads(out)["valid"] is False, f.name
        else:
            assert code == 2 and out == "" and err.startswith("wasmem: error: "), f.name
    assert sum(codes.values()) == 710 and set(codes) == {1, 2}
    verdicts = {name: row["wasmtime_validate"] for name, row in manifest().items() if row["class"] == "invalid"}
    files = corpus_files("invalid")
    assert len(files) == 2640
    for f in files:
        assert validate(f.read_bytes()).valid == (verdicts[f.name] == "ok"), f.name


@pytest.mark.parametrize("tty,size", [(True, 1), (False, 1), (True, 1 << 20)])
def test_a_long_compile_is_announced_on_a_terminal_only(capsys, monkeypatch, tmp_path, tty, size):
    import wasmem.cli.validate as v

    monkeypatch.setattr(v, "PROGRESS_CODE_SIZE", size)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    path = write(tmp_path, "m.wasm", wat("(module (func (export \"f\") (result i32) i32.const 7))"))
    code, out, err = run(capsys, path)
    assert code == 0 and out.startswith(f"{path}: valid, instantiated")
    announced = tty and size == 1  # (this module has a few bytes of code)
    assert err == ("wasmem: compiling 0.0 MB of code in wasmtime...\n" if announced else "")  # (WASMEM_NO_CACHE)
    monkeypatch.setenv("WASMEM_NO_CACHE", "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        code, out, err = run(capsys, path)
    finally:
        from wasmem.host import instance

        instance.use_compilation_cache(False)
        instance._engine.cache_clear()  # (no engine of this test's folder for the others)
    assert code == 0
    assert err == ("wasmem: compiling 0.0 MB of code in wasmtime, unless its cache has it...\n" if announced else "")


def test_types_wasmtime_py_cannot_pass_are_exit_2_not_a_crash(capsys, tmp_path):
    # wasmtime-py 50 aborts the process on a v128 parameter (a Rust panic): refused before the call
    from test_host_instance import UNPASSABLE

    path = write(tmp_path, "types.wasm", wat(UNPASSABLE))
    for func, what in (("takes_v128", "parameter 0 has type v128"), ("gives_v128", "result 0 has type v128")):
        code, out, err = run(capsys, path, "--invoke", func, *(["0"] if func == "takes_v128" else []))
        assert (code, out) == (2, "")
        assert err == (f"wasmem: error: {path}: cannot call {func}: {what}, which wasmtime's Python API cannot "
                       "pass (i32, i64, f32, f64, funcref and externref only)\n")
    code, out, err = run(capsys, path, "--invoke", "gives_func")
    assert (code, out.splitlines()[-1], err) == (0, "gives_func() = null", "")
    code, doc, _ = run_json(capsys, path, "--invoke", "seed")
    assert (code, doc["results"]) == (0, [24301.0])

"""`-` as standard input (a module, a spec) and `-o -` as standard output, in a real process:
the bytes are the ones a file would get, a failure writes nothing to stdout, and a binary
is never written to a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from conftest import FIXTURES

PLAIN = FIXTURES / "import-memory" / "0.28.20-strings" / "plain.wasm"
EXPECTED = FIXTURES / "import-memory" / "0.28.20-strings" / "expected.wasm"
SPEC_TOML = b'[[object]]\nname = "zz"\ntype = "string"\nvalue = "hi"\n'
SPEC_JSON = b'{"object": [{"name": "zz", "type": "string", "value": "hi"}]}'


def wasmem(*args, stdin: bytes = b"", stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "wasmem", *map(str, args)], input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE)


def test_a_rewrite_from_stdin_to_stdout_is_the_file_rewrite(tmp_path):
    done = wasmem("import-memory", "-", "-o", "-", stdin=PLAIN.read_bytes())
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == EXPECTED.read_bytes()  # asc's --importMemory output
    assert not (tmp_path / "-").exists() and not os.path.exists("-")


def test_info_validate_and_read_take_stdin():
    data = PLAIN.read_bytes()
    from_file, from_stdin = wasmem("info", PLAIN), wasmem("info", "-", stdin=data)
    assert from_stdin.returncode == 0
    assert from_stdin.stdout == from_file.stdout.replace(str(PLAIN).encode(), b"<stdin>")
    assert from_stdin.stdout.startswith(b"<stdin>: 457 bytes, 7 sections\n")
    assert wasmem("info", "--json", "-", stdin=data).stdout == wasmem("info", "--json", PLAIN).stdout
    done = wasmem("validate", "-", stdin=data)
    assert (done.returncode, done.stdout) == (0, b"<stdin>: valid, instantiated\n")
    done = wasmem("read", "-", "greeting", "--json", stdin=data)
    assert done.returncode == 0 and b'"value": "hello"' in done.stdout


def test_malformed_stdin_is_named_stdin():
    done = wasmem("info", "-", stdin=b"garbage")
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"wasmem: error: <stdin>: offset 0x0: not a WebAssembly binary (bad magic number)\n"


@pytest.mark.parametrize("spec", [SPEC_TOML, SPEC_JSON], ids=["toml", "json"])
def test_add_data_with_the_spec_on_stdin(tmp_path, spec):
    (tmp_path / "spec.toml").write_bytes(SPEC_TOML)
    file_out = tmp_path / "file.wasm"
    assert wasmem("add-data", PLAIN, tmp_path / "spec.toml", "-o", file_out).returncode == 0
    done = wasmem("add-data", PLAIN, "-", "-o", "-", stdin=spec)
    assert done.returncode == 0 and done.stdout == file_out.read_bytes()
    # the summary goes to stderr where the module takes stdout
    assert done.stderr.endswith(b"1 object at 300..332 (heap)\n")


def test_layout_spec_from_stdin_and_bin_to_stdout(tmp_path):
    (tmp_path / "spec.toml").write_bytes(SPEC_TOML)
    assert wasmem("layout", tmp_path / "spec.toml", "--format", "bin", "-o", tmp_path / "a.bin").returncode == 0
    for spec in (SPEC_TOML, SPEC_JSON):
        for out in ([], ["-o", "-"]):
            done = wasmem("layout", "-", "--format", "bin", *out, stdin=spec)
            assert done.returncode == 0 and done.stdout == (tmp_path / "a.bin").read_bytes()
    done = wasmem("layout", "-", "--module", "-", stdin=SPEC_TOML)
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"wasmem: error: SPEC and --module cannot both be standard input (-)\n"


@pytest.mark.parametrize("args, message", [
    (["import-memory", "-", "-o", "-", "--json"],
     b"--json and -o - would both write to standard output: give -o a file"),
    (["import-memory", "-", "--in-place"],
     b"--in-place needs a file, and the module came from standard input: give -o"),
    (["add-data", "-", "-", "-o", "-"], b"IN and SPEC cannot both be standard input (-)"),
    (["define-memory", "-", "-o", "-"], b"<stdin>: the module has no imported memory to convert"),
])
def test_refusals_write_nothing_to_stdout(args, message):
    done = wasmem(*args, stdin=PLAIN.read_bytes())
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"wasmem: error: " + message + b"\n"


@pytest.mark.parametrize("args", [["import-memory", PLAIN, "-o", "-"], ["layout", "-", "--format", "bin"]])
def test_a_binary_is_not_written_to_a_terminal(args):
    main, tty = pty.openpty()
    try:
        done = wasmem(*args, stdin=SPEC_TOML, stdout=tty)
        os.close(tty)
        tty = None
        assert done.returncode == 2
        assert done.stderr == (b"wasmem: error: the output is binary: not written to a terminal (redirect "
                               b"standard output, or give -o a file)\n")
        os.set_blocking(main, False)
        try:
            written = os.read(main, 1024)
        except (BlockingIOError, OSError):  # (nothing there; Linux says EIO once the other end is closed)
            written = b""
        assert written == b""
    finally:
        os.close(main)
        if tty is not None:
            os.close(tty)


@pytest.mark.parametrize("redirect, args, message", [
    ("<&-", ["info", "-"], b"wasmem: error: <stdin>: standard input is closed\n"),
    (">&-", ["import-memory", PLAIN, "-o", "-"], b"wasmem: error: output: standard output is closed\n"),
    (">&-", ["info", PLAIN], b"wasmem: error: output: standard output is closed\n"),
    (">&-", ["import-memory", PLAIN, "-o", "{out}"], b""),  # (nothing for stdout: done)
])
def test_a_closed_standard_stream_is_an_error_not_a_traceback(tmp_path, redirect, args, message):
    out = tmp_path / "out.wasm"
    line = " ".join(f"'{a}'".format(out=out) for a in [sys.executable, "-m", "wasmem", *map(str, args)])
    done = subprocess.run(["sh", "-c", f"exec {line} {redirect}"], stderr=subprocess.PIPE)
    assert (done.returncode, done.stderr) == ((2, message) if message else (0, b""))
    assert out.exists() == (not message)

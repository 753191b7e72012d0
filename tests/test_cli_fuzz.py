"""Random command lines over real inputs: an exit status of 0, 1 or 2, a one-line
``wasmem: error:`` or argparse's usage on failure, never a traceback or an internal
error, and no output file left behind by a failed rewrite."""

from __future__ import annotations

import io
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from wasmem.cli import _available_commands, fastargs, main
from wasmem.testing import _captured

MODULE = str(FIXTURES / "add-data" / "0.28.20-objects" / "module.wasm")
SPEC = str(FIXTURES / "add-data" / "0.28.20-objects" / "spec.toml")
COMMANDS = list(_available_commands())  # (validate and read compile the module once: host.instance keeps it)
VALUES = ["0", "1", "2", "0x10", "65536", "65537", "auto", "-3", "x", "", "json", "bin", "map", "wat", "c",
          "assemblyscript", "0.17.14", "9.9", "env", "memory",
          # what has broken before: bytes that are not UTF-8 (argv gives them as lone surrogates),
          # digits int() refuses, numbers past a float's range, odd types
          "\udcff", "a\udcfeb", "²", "0xZZ", "1e999", "0x1p99999", "u8[²]", "i32[2]", "string", "cstring"]
TARGETS = ["__rtti_base", "0x40", "1036", "4294967296", "memory", "nope", "\udcff"]


@st.composite
def command_lines(draw, out):
    mod = draw(st.sampled_from(COMMANDS))
    rec = fastargs.record(mod)
    line = [mod.NAME]
    for o in rec.options:
        if o.dest == "target":
            line.append(draw(st.sampled_from(TARGETS + VALUES)))
        elif not o.strings[0].startswith("-"):
            line.append(draw(st.sampled_from([SPEC, MODULE, "-"] if o.dest == "spec" else [MODULE, MODULE, SPEC,
                                                                                          "/nonexistent.wasm", "-"])))
        elif o.dest == "output":
            line += [draw(st.sampled_from(o.strings)), draw(st.sampled_from([out, out, "-"]))]
        elif o.dest not in ("in_place", "debug") and draw(st.integers(0, 2)) == 0:  # (--debug: tracebacks)
            line.append(draw(st.sampled_from(o.strings)))
            if o.takes_value:
                line.append(draw(st.sampled_from(VALUES)))
    if mod.NAME == "add-data" and SPEC not in line:
        line.insert(2, SPEC)
    return line


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_command_line_ends_cleanly(tmp_path, data):
    out = tmp_path / "out.wasm"
    out.unlink(missing_ok=True)
    argv = data.draw(command_lines(str(out)))
    printed, err = io.BytesIO(), io.BytesIO()
    stdin = data.draw(st.sampled_from([MODULE, SPEC]))  # (what `-` reads)
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(open(stdin, "rb").read()))
    with _captured(printed, err):  # (the streams as a process has them: what stdout gets must be UTF-8)
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors
            code = e.code
        finally:
            sys.stdin = saved
    text = err.getvalue().decode()
    assert code in (0, 1, 2), (argv, text)
    assert "Traceback" not in text and "internal error" not in text, (argv, text)
    if code == 2:
        assert "wasmem: error:" in text or "usage:" in text, (argv, text)
        if argv[0] not in ("layout",):  # a failed rewrite writes nothing
            assert not out.exists(), argv

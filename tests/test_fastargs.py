"""The fast command-line parser gives argparse's namespace or defers to argparse.

For random lines made of each command's own option strings, values good and
bad, and stray tokens: whenever ``fastargs.parse`` returns a namespace,
argparse accepts the same line and returns the same attributes; whenever
argparse rejects a line (exit 2), the fast path has deferred.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmem.cli import COMMANDS, _available_commands, _chosen_command, build_parser, fastargs, parse_args

MODULES = {mod.NAME: mod for mod in _available_commands()}

VALUES = ["a.wasm", "out.wasm", "spec.toml", "0", "7", "0x10", "65536", "-1", "auto", "json", "bin",
          "c", "assemblyscript", "0.28.20", "env", "", "x=y", "-", "1e3", "zz"]
STRAY = ["--", "-h", "--help", "--debug", "--jso", "-o=x", "-ox", "--bogus", "--json=1"]


def _argparse(argv):
    """argparse's namespace as a dict, or None when it exits (usage error or help)."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            ns = build_parser(_chosen_command(argv)).parse_args(argv)
        except SystemExit:
            return None
    return vars(ns)


def _option_strings(name):
    rec = fastargs.record(MODULES[name])
    return [s for o in rec.options for s in o.strings if s.startswith("-")]


@st.composite
def command_lines(draw):
    name = draw(st.sampled_from(sorted(MODULES)))
    options = _option_strings(name)
    token = st.one_of(
        st.sampled_from(options),
        st.sampled_from(VALUES),
        st.sampled_from(STRAY),
        st.builds(lambda o, v: f"{o}={v}", st.sampled_from(options), st.sampled_from(VALUES)),
    )
    head = draw(st.sampled_from([[], ["--debug"]]))
    return head + [name] + draw(st.lists(token, max_size=8))


@st.composite
def likely_lines(draw):
    """Lines built from a command's declared options, mostly valid, with values
    that fit (or, sometimes, do not fit) each option's type and choices."""
    name = draw(st.sampled_from(sorted(MODULES)))
    rec = fastargs.record(MODULES[name])
    words = []
    for o in rec.options:
        if o.strings[0].startswith("-"):
            continue
        words.append([draw(st.sampled_from(["a.wasm", "spec.toml", "greeting", "0x400", "x y", "-"]))])
    for o in rec.options:
        if not o.strings[0].startswith("-") or not draw(st.booleans()):
            continue
        flag = draw(st.sampled_from(o.strings))
        if not o.takes_value:
            words.append([flag])
            continue
        if o.choices is not None:
            pool = list(o.choices) + ["nope"]
        elif o.type is not None:
            pool = ["0", "3", "0x20", "65537", "auto", "-5", "x"]
        else:
            pool = ["env", "mem", "0.17.14", "", "--json", "a b", "-"]
        value = draw(st.sampled_from(pool))
        if flag.startswith("--") and draw(st.booleans()):
            words.append([f"{flag}={value}"])
        else:
            words.append([flag, value])
    order = draw(st.permutations(words))
    argv = [name] + [w for ws in order for w in ws]
    if draw(st.integers(0, 4)) == 0:  # now and then, a stray token somewhere
        argv.insert(draw(st.integers(1, len(argv))), draw(st.sampled_from(STRAY + VALUES)))
    return draw(st.sampled_from([[], ["--debug"]])) + argv


def _fast(argv):
    mod = MODULES[next(a for a in argv if not a.startswith("-"))]
    ns = fastargs.parse(argv, mod)
    if ns is None:
        return None
    ns._run = mod.run
    return vars(ns)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(command_lines(), likely_lines()))
def test_fast_path_equals_argparse(argv):
    fast = _fast(argv)
    slow = _argparse(argv)
    if fast is not None:
        assert slow == fast, argv


# Lines a build script writes: these must not pay for argparse.
PLAIN = [
    ["info", "m.wasm"],
    ["info", "--json", "--segments", "m.wasm"],
    ["--debug", "info", "m.wasm", "--json"],
    ["import-memory", "in.wasm", "-o", "out.wasm"],
    ["import-memory", "in.wasm", "-o", "out.wasm", "--shared", "--maximum", "0x100", "--zero-fill"],
    ["import-memory", "in.wasm", "--in-place", "--module", "js", "--name=mem", "--initial", "2"],
    ["export-memory", "in.wasm", "-o", "out.wasm", "--name", "mem"],
    ["set-memory", "in.wasm", "-o", "out.wasm", "--no-maximum", "--no-shared", "--memory", "1"],
    ["define-memory", "in.wasm", "--output", "out.wasm", "--json"],
    ["layout", "spec.toml", "--format", "bin", "-o", "out.bin", "--base", "1024", "--as-version", "0.17.14"],
    ["add-data", "in.wasm", "spec.toml", "-o", "out.wasm", "--base", "auto", "--no-export", "--json"],
    ["read", "m.wasm", "greeting", "--json", "--memory", "0"],
    ["import-memory", "-", "-o", "-"],  # (a pipe)
    ["add-data", "in.wasm", "-", "--output", "-"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_lines_take_the_fast_path(argv):
    fast = _fast(argv)
    assert fast is not None
    assert fast == _argparse(argv)


def test_every_command_but_validate_is_modelled():
    # validate's --invoke takes the rest of the line (nargs=REMAINDER): argparse parses it,
    # and wasmtime's import dwarfs argparse's there anyway.
    unmodelled = [n for n in COMMANDS if not fastargs.record(MODULES[n.replace("_", "-")]).supported]
    assert unmodelled == ["validate"]


def test_parse_args_uses_argparse_for_errors(capsys):
    with pytest.raises(SystemExit) as e:
        parse_args(["import-memory", "in.wasm"])
    assert e.value.code == 2
    assert "one of the arguments -o/--output --in-place is required" in capsys.readouterr().err


def test_bad_number_message_comes_from_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        parse_args(["import-memory", "in.wasm", "-o", "o.wasm", "--initial", "lots"])
    assert e.value.code == 2
    assert "not a number: 'lots' (decimal or 0x hex)" in capsys.readouterr().err


def test_version(capsys):
    import wasmem

    with pytest.raises(SystemExit) as e:
        parse_args(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"wasmem {wasmem.__version__}\n"

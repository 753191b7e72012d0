"""Helpers shared by the command modules: numbers, files, output."""

from __future__ import annotations

import math
import sys

from ..errors import WasmError
from .jsonout import json_text


def number(text: str) -> int:
    """A command-line number: decimal or 0x hex."""
    try:
        return int(text, 0)
    except ValueError:
        import argparse  # only reached on a bad number, when argparse reports it

        raise argparse.ArgumentTypeError(f"not a number: {text!r} (decimal or 0x hex)") from None


def seconds(text: str) -> float:
    """--timeout: a number of seconds, 0 for no limit."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        import argparse  # only reached on a bad value, when argparse reports it

        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r} (0 for no limit)")
    return value


def add_timeout(p) -> None:
    """The --timeout option of the commands that run a module's code."""
    p.add_argument("--timeout", type=seconds, metavar="SECONDS",
                   help="stop the module's start function, and an --invoke'd call, after this long and "
                        "fail (default 10; 0: no limit)")


def timeout_of(args) -> float | None:
    """The API's timeout= for --timeout: its default limit, a number of seconds, or None."""
    from ..host.instance import DEFAULT_TIMEOUT

    return DEFAULT_TIMEOUT if args.timeout is None else (args.timeout or None)


class about:
    """``with about(path):`` attributes any WasmError raised inside to ``path`` (the
    CLI prints it) and turns an OSError into one. A class, not contextlib: that
    import alone costs a millisecond of every command's start."""

    def __init__(self, path):
        self.path = shown(path)

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        if isinstance(e, WasmError):
            if getattr(e, "path", None) is None:
                e.path = self.path
            return False
        if isinstance(e, OSError):
            err = WasmError(e.strerror or str(e))
            err.path = self.path
            raise err from e
        return False


STDIO = "-"  # an input of this name is standard input; -o -, standard output


def shown(path) -> str:
    """How messages name a file the command line gave (``-``: standard input)."""
    return "<stdin>" if path == STDIO else str(path)


def read_input(path) -> bytes:
    """The file's bytes, or standard input's for ``-`` (a module is loaded with ``load_module``)."""
    with about(path):
        if path == STDIO:
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()


def use_engine_cache() -> None:
    """validate and read keep compiled modules in wasmtime's cache on disk, as the wasmtime
    CLI does; WASMEM_NO_CACHE=1 (any value but 0) keeps it off."""
    import os

    from ..host.instance import use_compilation_cache

    use_compilation_cache(os.environ.get("WASMEM_NO_CACHE", "0") in ("", "0"))


# Whether a rewrite may map its input: POSIX lets the output replace a mapped file
# (--in-place), Windows refuses.
MAP_REWRITES = sys.platform != "win32"


def load_module(path, *, mapped: bool = False, **kwargs):
    """The module in file ``path``; ``mapped``: see ``Module.from_file`` (the CLI only
    ever replaces files atomically, so a map stays valid)."""
    from ..module import Module

    if path == STDIO:
        data = read_input(path)
        with about(path):
            return Module.from_bytes(data, **kwargs)
    with about(path):
        return Module.from_file(path, mapped=mapped, **kwargs)


def add_output_arguments(parser) -> None:
    g = parser.add_mutually_exclusive_group(required=True)
    g.add_argument("-o", "--output", metavar="PATH",
                   help="where to write the module (atomically; - for standard output)")
    g.add_argument("--in-place", action="store_true", help="overwrite the input file (atomically)")


def output_path(args, input_path) -> str:
    """Where the module goes (``-``: standard output), checked against the other options."""
    if args.in_place:
        if input_path == STDIO:
            raise WasmError("--in-place needs a file, and the module came from standard input: give -o")
        return input_path
    if args.output == STDIO:
        if getattr(args, "json", False):
            raise WasmError("--json and -o - would both write to standard output: give -o a file")
        check_binary_stdout()  # (before the input is read: it may be a terminal too)
    return args.output


def load_spec_input(path, *, abi=None, keep=None):
    """The spec in file ``path``, or on standard input for ``-`` (the files its objects
    name are then found from the current folder)."""
    from ..layout.spec import load_spec, loads_spec

    with about(path):
        if path == STDIO:
            return loads_spec(read_input(path), abi=abi, keep=keep)
        return load_spec(path, abi=abi, keep=keep)


def check_binary_stdout() -> None:
    """Refuse to write a binary to a terminal, as wasm-tools does."""
    if sys.stdout.isatty():
        raise WasmError("the output is binary: not written to a terminal (redirect standard output, or "
                        "give -o a file)")


def save_module(m, out) -> None:
    """``m.save(out)`` (atomic), or the module's bytes on standard output for ``-`` (which
    output_path found not to be a terminal): at once, when it is whole, so that a failure
    writes nothing there either."""
    if out != STDIO:
        with about(out):
            m.save(out)
        return
    write_stdout([m.to_bytes()])


def write_stdout(parts) -> None:
    """Write the byte strings ``parts`` to standard output, after what was printed before."""
    sys.stdout.flush()
    sys.stdout.buffer.writelines(parts)
    sys.stdout.buffer.flush()


def print_json(doc, rows=()) -> None:
    """Print ``json_text(doc, rows)``, written at once."""
    sys.stdout.write(json_text(doc, rows) + "\n")


def table(rows: list[list], headers: list[str]) -> str:
    """Rows as an aligned text table (numbers right-aligned)."""
    return column_table(list(zip(*rows)) if rows else [()] * len(headers), headers)


def column_table(columns: list, headers: list[str]) -> str:
    """An aligned text table from its columns: a column of numbers (blanks allowed) is
    right-aligned, None is blank. Widths come from whole-column steps and each line from
    one %-format of its row (C speed: 98,450 segments or 110,000 objects take a fraction of
    a second)."""
    cols, specs = [], []
    for head, col in zip(headers, columns):
        kinds = set(map(type, col))
        numeric = bool(col) and (kinds == _INT or _numeric(col))
        if kinds == _INT:  # the widest int is the greatest or the least
            width = max(len(str(max(col))), len(str(min(col))))
        else:
            if kinds != _STR:  # (%s would write None, not a blank)
                col = ["" if c is None else str(c) for c in col]
            width = max(map(len, col), default=0)
        width = max(width, len(head))
        specs.append(f"%{width}s" if numeric else f"%-{width}s")
        cols.append(col)
    line = "  ".join(specs)
    return "\n".join(map(str.rstrip, [line % tuple(headers), *map(line.__mod__, zip(*cols))]))


_INT, _STR = {int}, {str}


def _numeric(col) -> bool:
    """Every cell an int, a blank or None."""
    return all(isinstance(c, int) or c in ("", None) for c in col)

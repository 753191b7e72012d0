"""Helpers shared by the command modules: numbers, files, output."""

from __future__ import annotations

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


class about:
    """``with about(path):`` attributes any WasmError raised inside to ``path`` (the
    CLI prints it) and turns an OSError into one. A class, not contextlib: that
    import alone costs a millisecond of every command's start."""

    def __init__(self, path):
        self.path = str(path)

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


def read_input(path, *, mapped: bool = False):
    """The file's bytes. With ``mapped``, a read-only memory map instead (see
    ``fileio.map_file``), where the file can be mapped."""
    from ..fileio import map_file

    with about(path):
        with open(path, "rb") as f:
            data = map_file(f) if mapped else None
            return f.read() if data is None else data


# Whether a rewrite may map its input: POSIX lets the output replace a mapped file
# (--in-place), Windows refuses.
MAP_REWRITES = sys.platform != "win32"


def load_module(path, *, mapped: bool = False, **kwargs):
    """The module in file ``path``; ``mapped``: see ``Module.from_file`` (the CLI only
    ever replaces files atomically, so a map stays valid)."""
    from ..module import Module

    with about(path):
        return Module.from_file(path, mapped=mapped, **kwargs)


def add_output_arguments(parser) -> None:
    g = parser.add_mutually_exclusive_group(required=True)
    g.add_argument("-o", "--output", metavar="PATH", help="where to write the module (atomically)")
    g.add_argument("--in-place", action="store_true", help="overwrite the input file (atomically)")


def output_path(args, input_path) -> str:
    return input_path if args.in_place else args.output


def print_json(doc, rows=()) -> None:
    """Print ``json_text(doc, rows)``, written at once."""
    sys.stdout.write(json_text(doc, rows) + "\n")


def table(rows: list[list], headers: list[str]) -> str:
    """Rows as an aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    # a column of numbers (blanks allowed) is right-aligned
    numeric = [bool(rows) and all(isinstance(r[i], int) or r[i] in ("", None) for r in rows)
               for i in range(len(headers))]
    out = []
    for r in cells:
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(parts).rstrip())
    return "\n".join(out)

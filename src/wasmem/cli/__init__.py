"""The command line: a thin front end over the API.

Each command lives in its own module of this package and provides ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Command modules
import the heavy parts of the library (wasmtime above all) inside ``run`` so
that ``wasmem info`` never pays for them at start-up.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
import warnings

from .. import __version__
from ..errors import WasmError, WasmWarning

TYPE_CHECKING = False  # (typing's, without importing typing: 5 ms of every command's start)
if TYPE_CHECKING:
    import argparse

# Order is the order of ``wasmem --help``.
COMMANDS = (
    "info",
    "import_memory",
    "export_memory",
    "set_memory",
    "define_memory",
    "layout",
    "add_data",
    "validate",
    "read",
)


def _available_commands(only: str | None = None):
    for name in COMMANDS if only is None else (only,):
        try:
            yield __import__(f"{__name__}.{name}", fromlist=["NAME"])
        except ModuleNotFoundError as e:  # a command not built yet is simply absent
            if e.name != f"{__name__}.{name}":
                raise


def _chosen_command(argv: list[str]) -> str | None:
    """The module of the command named on the line, if it names one: then only
    that command's parser is built (building all nine costs ~50 ms)."""
    for arg in argv:
        if not arg.startswith("-"):
            mod = arg.replace("-", "_")
            return mod if mod in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    import argparse  # only for --help and errors: fastargs parses plain invocations

    parser = argparse.ArgumentParser(
        prog="wasmem",
        description="Inspect, rewrite and generate the memory and static data of WebAssembly modules.",
    )
    parser.add_argument("--debug", action="store_true", help="show a Python traceback on errors")
    parser.add_argument("--version", action="version", version=f"wasmem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _available_commands(only):
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show a Python traceback on errors")
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def parse_args(argv: list[str]):
    """The command line's namespace: from the fast parser when the line is plain,
    from argparse otherwise (help, usage errors: argparse prints and exits)."""
    chosen = _chosen_command(argv)
    if chosen is not None:
        from . import fastargs

        for mod in _available_commands(chosen):
            args = fastargs.parse(argv, mod)
            if args is not None:
                args._run = mod.run
                return args
    return build_parser(chosen).parse_args(argv)


def _warning_printer():
    """showwarning for one command: each warning on its own line, a repeated one once (the
    library may reach the same check twice, as add-data reads the asc version for the
    module's RTTI and again for the layout)."""
    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = f"wasmem: warning: {message}"
        if text not in shown:
            shown.add(text)
            print(text, file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    # A command is short-lived and its objects (decoded entries, spec documents) hold no
    # cycles worth collecting: the cyclic collector would only walk them again and again
    # as they pile up (about a tenth of laying out 100,000 spec entries).
    gc_was_on = gc.isenabled()
    gc.disable()
    # A name may hold a lone surrogate (a spec's JSON \ud800, kept as the string it is):
    # printed as its escape, as stderr does, not an encoding error after the output is saved
    # (strict) nor a byte that is not UTF-8 (surrogateescape, Python's choice in a C locale).
    errors = getattr(sys.stdout, "errors", None)
    if errors in ("strict", "surrogateescape") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    else:
        errors = None
    try:
        return _run(args)
    finally:
        if errors is not None:
            sys.stdout.reconfigure(errors=errors)
        # (under entrypoint it stays off: the first allocation after this would start a
        # collection over all the command built, 4% of `layout`, which os._exit frees at once)
        if gc_was_on:
            gc.enable()


def _run(args) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", WasmWarning)
        warnings.showwarning = _warning_printer()
        try:
            return int(args._run(args) or 0)
        except WasmError as e:
            if args.debug:
                raise
            where = getattr(e, "path", None)
            prefix = f"{where}: " if where else ""
            print(f"wasmem: error: {prefix}{e}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            return 0
        except OSError as e:  # (files the command names are reported through `about`: this is the output)
            if args.debug:
                raise
            return _output_error(e)
        except Exception as e:  # a bug: say so in one line, never a traceback unless asked
            if args.debug:
                raise
            print(f"wasmem: internal error: {type(e).__name__}: {e} (run with --debug for a traceback)",
                  file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("wasmem: interrupted", file=sys.stderr)
            return 130


def _output_error(e: OSError) -> int:
    """Say that the output could not be written (a full disk, say); the exit status 2."""
    print(f"wasmem: error: {e.filename or 'output'}: {e.strerror or e}", file=sys.stderr)
    return 2


def entrypoint() -> None:
    """The command's process: main(), then exit without the interpreter's teardown.

    As clang's driver does (-disable-free), the process ends without freeing what the
    command built: the system takes the memory back at once, where Python would free a
    layout's 110,000 spec entries one by one (5% of `layout`) and finalize every module.
    Nothing is lost: outputs are written and closed before a command returns, and no
    command keeps temporary files or registers exit handlers (but host.instance's, which
    only frees compiled modules)."""
    global _left
    _left = []
    gc.disable()  # (for good: main() turns it back on only if it found it on)
    # A large block made and freed at once (calloc'd by mmap: no page is touched) moves
    # glibc's mmap threshold up to its size, as mallopt(M_MMAP_THRESHOLD) would without
    # ctypes (an 8 ms import): blocks of a few MB (a spec's text, a run's image, the column
    # lists) then come from the heap, where a freed one is used again instead of being
    # unmapped and a new one faulted in page by page. Layout of the bench spec: 3,800 of
    # its 27,000 page faults. Elsewhere than glibc, a block made and freed.
    try:
        bytes(_MMAP_THRESHOLD)
    except MemoryError:  # (strict overcommit with little to spare: the command may still fit)
        pass
    # A process started with a standard stream closed has None for it (Python's choice):
    # reading or writing it is then an error like any other, and a message for a closed
    # stderr goes nowhere, the exit status still saying what happened.
    for name, what in (("stdin", "input"), ("stdout", "output"), ("stderr", None)):
        if getattr(sys, name) is None:
            setattr(sys, name, _Closed(what))
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # (the reader went away: the output has nowhere to go)
        pass
    except OSError as e:  # (a full disk, say: the output is incomplete)
        status = _output_error(e)
        code = code or status
    sys.stderr.flush()
    os._exit(code)


class _Closed:
    """A standard stream the process was started without: reading or writing ``what``
    ("input", "output") fails with EBADF, as a closed descriptor does; None: writes vanish."""

    errors = None  # (main() leaves its error handler alone)

    def __init__(self, what: str | None):
        self.what = what

    @property
    def buffer(self):
        return self

    def _closed(self, *_):
        raise OSError(errno.EBADF, f"standard {self.what} is closed")

    def write(self, data):
        if self.what is not None:
            self._closed()
        return len(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    read = readline = _closed

    def flush(self):
        pass

    def isatty(self):
        return False


# glibc takes a freed mmap'd block's size as its new threshold up to 32 MiB
# (DEFAULT_MMAP_THRESHOLD_MAX, which the block's size field, flags included, must not pass).
_MMAP_THRESHOLD = 30 << 20

_left = None  # what commands leave for the process's end (see entrypoint); None: keep nothing


def leave(*objects) -> None:
    """Keep ``objects`` alive until the process ends (only under entrypoint: when main()
    is called in a longer-lived process, they are freed as usual)."""
    if _left is not None:
        _left.extend(objects)


def left() -> list | None:
    """The list of what is left for the process's end, or None when nothing is kept."""
    return _left

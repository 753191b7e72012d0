"""The parts the four memory commands share: input, limits options, output."""

from __future__ import annotations

from . import leave
from ._common import (MAP_REWRITES, about, add_output_arguments, load_module, number, output_path, print_json,
                      save_module)


def add_io_arguments(p, memory_help: str) -> None:
    p.add_argument("input", metavar="IN", help="the .wasm module to rewrite (left untouched; - for standard input)")
    add_output_arguments(p)
    p.add_argument("--memory", type=number, metavar="N", default=None, help=memory_help)
    p.add_argument("--json", action="store_true", help="print a JSON report of the change")


def add_limit_arguments(p, *, with_unset: bool) -> None:
    p.add_argument("--initial", type=number, metavar="P", help="new initial size, in 64 KiB pages")
    if with_unset:
        g = p.add_mutually_exclusive_group()
        g.add_argument("--maximum", type=number, metavar="P", help="new maximum size, in pages")
        g.add_argument("--no-maximum", action="store_true", help="remove the maximum")
        s = p.add_mutually_exclusive_group()
        s.add_argument("--shared", dest="shared", action="store_true", default=None, help="make the memory shared")
        s.add_argument("--no-shared", dest="shared", action="store_false", help="make the memory unshared")
    else:
        p.add_argument("--maximum", type=number, metavar="P", help="new maximum size, in pages")
        p.add_argument("--shared", action="store_true", default=None,
                       help="make it a shared memory (needs a maximum)")


def limit_options(args) -> dict:
    from ..rewrite.memory import UNCHANGED

    opts = {"initial": args.initial, "shared": args.shared, "maximum": UNCHANGED}
    if args.maximum is not None:
        opts["maximum"] = args.maximum
    elif getattr(args, "no_maximum", False):
        opts["maximum"] = None
    return opts


def rewrite(args, fn, **options) -> int:
    """Load, rewrite, save atomically; nothing is written if anything fails."""
    out = output_path(args, args.input)
    m = load_module(args.input, mapped=MAP_REWRITES)
    with about(args.input):
        report = fn(m, **options)
    save_module(m, out)
    if args.json:
        print_json(report)
    leave(m)  # (freed by the process's end: see cli.entrypoint)
    return 0

"""wasmem add-data IN SPEC -o OUT [--abi A] [--base auto|ADDR] [--no-export] [--json]"""

from __future__ import annotations

import sys

from ..errors import WasmError, counted
from . import leave, left
from ._common import (MAP_REWRITES, STDIO, about, add_output_arguments, load_module, load_spec_input, number,
                      output_path, print_json, save_module)
from .jsonout import as_records

NAME = "add-data"
HELP = "put a spec's static objects into a compiled module, below its data or after it (moving the heap)"


def _base(text: str):
    return "auto" if text == "auto" else number(text)


def add_arguments(p):
    p.add_argument("input", metavar="IN", help="the compiled .wasm module (- for standard input)")
    p.add_argument("spec", metavar="SPEC", help="the static-data spec (.toml or .json; - for standard input)")
    add_output_arguments(p)
    p.add_argument("--abi", choices=("assemblyscript", "assemblyscript-legacy", "c"),
                   help="data layout (default: the spec's)")
    p.add_argument("--as-version", metavar="V", help="asc version (default: the spec's, else inferred from the module)")
    p.add_argument("--base", type=_base, default="auto", metavar="auto|ADDR",
                   help="where the objects go (default auto: free room reserved below the static data, "
                        "else right after it, moving the stack and heap up)")
    p.add_argument("--no-export", action="store_true", help="do not export a global per object")
    p.add_argument("--json", action="store_true", help="print the layout report and the placement")


def run(args) -> int:
    from ..rewrite.add_data import add_data

    if args.input == args.spec == STDIO:
        raise WasmError("IN and SPEC cannot both be standard input (-)")
    out = output_path(args, args.input)
    spec = load_spec_input(args.spec, abi=args.abi, keep=left())
    m = load_module(args.input, mapped=MAP_REWRITES)
    with about(args.input):
        report = add_data(m, spec, base=args.base, export=not args.no_export, as_version=args.as_version,
                          columns=True)
    save_module(m, out)
    as_records(report, ("objects", "segments"))
    if args.json:
        print_json(report, rows=("objects", "segments"))
    else:  # (on stderr where the module went to stdout)
        print(f"{counted(len(report['objects']), 'object')} at {report['base']}..{report['end']} "
              f"({report['placement']})", file=sys.stderr if out == STDIO else sys.stdout)
    leave(spec, m, report)  # (freed by the process's end: see cli.entrypoint)
    return 0

"""wasmem validate FILE [--json] [--dirty-memory] [--timeout S] [--invoke FUNC [ARG ...]]"""

from __future__ import annotations

import argparse
import sys

from ..errors import WasmError
from ._common import about, add_timeout, print_json, read_input, seconds, shown, timeout_of, use_engine_cache

NAME = "validate"
HELP = "compile and instantiate a module in wasmtime with stub imports, optionally call an export"

_FLAGS = ("--json", "--dirty-memory", "--debug")
PROGRESS_CODE_SIZE = 1 << 20  # bytes of code from which validate says it is compiling (on a terminal)


def add_arguments(p):
    p.add_argument("file", metavar="FILE", help="the .wasm module (- for standard input)")
    p.add_argument("--json", action="store_true",
                   help='print {"valid", "instantiated", "stubs", "results", "error"}')
    p.add_argument("--dirty-memory", action="store_true",
                   help="fill imported memories with 0xA5 before instantiation, to catch code that "
                        "assumes a zeroed memory")
    add_timeout(p)
    # REMAINDER so that negative and hex arguments (-1, -0x10, -inf) are not taken for options.
    p.add_argument("--invoke", nargs=argparse.REMAINDER, metavar="FUNC [ARG ...]",
                   help="last option: call the exported function FUNC with the ARGs (integers decimal or "
                        "0x hex, floats, hex floats, inf, nan) and print its results")


def _split_invoke(args):
    """(func, [arg texts]) from --invoke, taking back the flags argparse left in it."""
    if args.invoke is None:
        return None, []
    rest = []
    tokens = iter(args.invoke)
    for tok in tokens:
        if tok in _FLAGS:
            setattr(args, tok[2:].replace("-", "_"), True)
        elif tok == "--timeout" or tok.startswith("--timeout="):
            text = tok.partition("=")[2] if "=" in tok else next(tokens, None)
            if text is None:
                raise WasmError("--timeout needs a number of seconds")
            try:
                args.timeout = seconds(text)
            except Exception as e:  # (argparse's ArgumentTypeError)
                raise WasmError(f"--timeout: {e}") from None
        else:
            rest.append(tok)
    if not rest:
        raise WasmError("--invoke needs the name of an exported function")
    return rest[0], rest[1:]


def run(args) -> int:
    from ..host.instance import check_magic, validate
    from ..module import Module

    use_engine_cache()
    func, texts = _split_invoke(args)
    data = read_input(args.file)
    with about(args.file):
        check_magic(data)
        m = Module.from_bytes(data)  # malformed framing is exit 2 with its offset, as everywhere
        code = m.section(10)
        if code is not None and len(code.payload) >= PROGRESS_CODE_SIZE and sys.stderr.isatty():
            # wasmtime compiles about a megabyte of code a second here: say why nothing happens
            from ..host.instance import compilation_cache_on

            cached = ", unless its cache has it" if compilation_cache_on() else ""
            print(f"wasmem: compiling {len(code.payload) / 1e6:.1f} MB of code in wasmtime{cached}...",
                  file=sys.stderr, flush=True)
        report = validate(data, dirty_memory=args.dirty_memory, invoke=func, args=texts, timeout=timeout_of(args))
    if args.json:
        print_json(report.to_json())
    else:
        print(_summary(shown(args.file), report, func, texts))
        if report.error:
            print(f"wasmem: error: {shown(args.file)}: {report.error}", file=sys.stderr)
    return 0 if report.ok else 1


def _summary(path, report, func, texts) -> str:
    if not report.valid:
        return f"{path}: invalid"
    n = len(report.stubs)
    stubs = f" ({n} import{'' if n == 1 else 's'} provided: {', '.join(report.stubs)})" if n else ""
    if not report.instantiated:
        return f"{path}: valid, not instantiated{stubs}"
    lines = [f"{path}: valid, instantiated{stubs}"]
    if func is not None:
        call = f"{func}({', '.join(texts)})"
        if report.error:
            lines.append(f"{call} failed")
        elif report.results:
            lines.append(f"{call} = {', '.join(_show(v) for v in report.results)}")
        else:
            lines.append(f"{call} returned")
    return "\n".join(lines)


def _show(v) -> str:
    return "null" if v is None else str(v)

"""wasmem define-memory IN -o OUT [--memory N]"""

from ._memory import add_io_arguments, rewrite

NAME = "define-memory"
HELP = "turn an imported memory into a defined one (the inverse of import-memory)"


def add_arguments(p):
    add_io_arguments(p, "which memory (default: the first imported one)")


def run(args) -> int:
    from ..rewrite.memory import define_memory

    return rewrite(args, define_memory, memory=args.memory)

"""wasmem set-memory IN -o OUT [--memory N] [--initial P] [--maximum P | --no-maximum] [--shared | --no-shared]"""

from ._memory import add_io_arguments, add_limit_arguments, limit_options, rewrite

NAME = "set-memory"
HELP = "change a memory's limits or sharedness, defined or imported"


def add_arguments(p):
    add_io_arguments(p, "which memory (default: 0)")
    add_limit_arguments(p, with_unset=True)


def run(args) -> int:
    from ..rewrite.memory import set_memory

    return rewrite(args, set_memory, memory=args.memory or 0, **limit_options(args))

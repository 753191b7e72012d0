"""wasmem export-memory IN -o OUT [--memory N] [--name memory]"""

from ._memory import add_io_arguments, rewrite

NAME = "export-memory"
HELP = "export a memory under a name"


def add_arguments(p):
    add_io_arguments(p, "which memory (default: 0)")
    p.add_argument("--name", default="memory", help="the export name (default: memory)")


def run(args) -> int:
    from ..rewrite.memory import export_memory

    return rewrite(args, export_memory, memory=args.memory or 0, name=args.name)

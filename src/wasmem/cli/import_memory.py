"""wasmem import-memory IN -o OUT [options]"""

from ._memory import add_io_arguments, add_limit_arguments, limit_options, rewrite

NAME = "import-memory"
HELP = "turn a defined memory into an imported one (asc --importMemory after the fact)"


def add_arguments(p):
    add_io_arguments(p, "which memory, as an index in the memory index space (default: the first defined one)")
    p.add_argument("--module", default="env", metavar="M", help="the import's module name (default: env)")
    p.add_argument("--name", default="memory", metavar="N", help="the import's field name (default: memory)")
    add_limit_arguments(p, with_unset=False)
    p.add_argument("--zero-fill", action="store_true",
                   help="cover the gaps in the static data with explicit zero segments "
                        "(an imported memory may not start zeroed)")


def run(args) -> int:
    from ..rewrite.memory import import_memory

    return rewrite(args, import_memory, memory=args.memory, module=args.module, name=args.name,
                   zero_fill=args.zero_fill, **limit_options(args))

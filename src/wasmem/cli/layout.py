"""wasmem layout: lay out a spec's static objects as a program's data (json, wat, bin or a memory map)."""

from __future__ import annotations

from codecs import charmap_decode

from ..errors import counted
from . import leave, left
from ._common import STDIO, about, check_binary_stdout, json_text, load_spec_input, number, write_stdout
from .jsonout import as_records

NAME = "layout"
HELP = "lay out the static objects of a spec file as AssemblyScript or C static data"


def add_arguments(p) -> None:
    p.add_argument("spec", metavar="SPEC", help="the spec file (.toml or .json; - for standard input)")
    p.add_argument("--abi", choices=("assemblyscript", "assemblyscript-legacy", "c"),
                   help="data layout (default: the spec's, else assemblyscript); "
                        "assemblyscript-legacy is the 16-byte header of asc 0.9-0.16")
    p.add_argument("--as-version", metavar="V",
                   help="asc version whose header, gcInfo and built-in ids to use (default: the spec's, "
                        "else inferred from --module, else 0.28.20; 0.17 means 0.17.14)")
    p.add_argument("--base", type=number, metavar="ADDR",
                   help="where the data starts (default: the spec's, else 8 for assemblyscript "
                        "(first payload at 32) and 1024 for c)")
    p.add_argument("--module", metavar="FILE",
                   help="take runtime class ids from this compiled module's RTTI (__rtti_base; - for "
                        "standard input)")
    p.add_argument("--format", choices=("json", "wat", "bin", "map"), default="json",
                   help="json report (default), wat data lines, bin memory image from base to end, "
                        "or a readable memory map")
    p.add_argument("-o", "--output", metavar="OUT", help="write here (atomically) instead of standard output (-)")


def run(args) -> int:
    from ..errors import WasmError
    from ..layout.spec import build_layout

    if args.spec == args.module == STDIO:
        raise WasmError("SPEC and --module cannot both be standard input (-)")
    to_stdout = args.output in (None, STDIO)
    if to_stdout and args.format == "bin":
        check_binary_stdout()
    spec = load_spec_input(args.spec, abi=args.abi, keep=left())
    version = args.as_version
    rtti = None
    if args.module and spec.abi != "c":
        with about(args.module):
            version, rtti = _module_rtti(args.module, spec, version)
    with about(args.spec):
        layout = build_layout(spec, as_version=version, base=args.base, rtti=rtti, auto_ids=rtti is None)
    assigned = getattr(layout, "auto_assigned", None)
    if assigned:
        import warnings

        from ..errors import WasmWarning

        ids = ", ".join(f"{k} = {v}" for k, v in assigned.items())
        warnings.warn(f"runtime ids given in order of first use, as asc numbers a program that declares "
                      f"just these objects: {ids}; to match a real module, pass it with --module or set "
                      f"`ids` in the spec", WasmWarning)
    if args.format == "json":
        # A lone surrogate (allowed in names) becomes the JSON escape \udXXX, so the output stays UTF-8.
        doc = as_records(layout.report(columns=True), ("objects", "segments"))
        out = (json_text(doc, rows=("objects", "segments")) + "\n").encode("utf-8", "backslashreplace")
    elif args.format == "wat":
        out = to_wat(layout).encode("utf-8")
    elif args.format == "map":
        out = memory_map(layout).encode("utf-8", "backslashreplace")
    else:
        out = layout.image_parts()  # (written as they are: a 9 MB piece is not copied to join it)
    if not to_stdout:
        from ..fileio import write_atomic

        with about(args.output):
            write_atomic(args.output, out)
    else:
        write_stdout((out,) if isinstance(out, bytes) else out)
    leave(spec, layout, out)  # (freed by the process's end: see cli.entrypoint)
    return 0


def _module_rtti(path, spec, version):
    """(version, Rtti or None) from a compiled module's __rtti_base."""
    from ..asc import module_rtti
    from ._common import load_module

    m = load_module(path, mapped=True)  # (only read)
    return module_rtti(m, spec.abi, version or spec.as_version)


def to_wat(layout) -> str:
    """One ``(data (i32.const OFFSET) "...")`` line per segment."""
    from ..rewrite.data import MAX_SEGMENTS

    segments = layout.segments()
    if len(segments) > MAX_SEGMENTS:
        import warnings

        from ..errors import WasmWarning

        warnings.warn(f"{len(segments)} data lines: a module with more than {MAX_SEGMENTS} data segments is "
                      "refused by the JS API; merge them (add-data writes such a layout as one segment)",
                      WasmWarning)
    lines = [f'(data (i32.const {offset}) "{_wat_bytes(data)}")' for offset, data in segments]
    return "\n".join(lines) + ("\n" if lines else "")


# Each byte's spelling in a WAT string: printable ASCII as itself, the rest (and " and \\)
# as \\hh. Applied by the charmap codec, one C pass per segment (twice as fast as
# str.translate of the bytes read as Latin-1).
_WAT_SPELLING = tuple(chr(c) if 0x20 <= c < 0x7F and chr(c) not in '"\\' else f"\\{c:02x}" for c in range(256))


def _wat_bytes(data) -> str:
    return charmap_decode(data, "strict", _WAT_SPELLING)[0]


def previews(values, limit: int = 32) -> list[str]:
    """A short preview of each value, at most ``limit`` characters: a string or list as its
    JSON, bytes in hex, anything else as repr; cut with "…" where longer."""
    from .jsonout import compact_encoder, string_encoder

    text_of, quote = compact_encoder(default=str), string_encoder()
    items = limit // 2  # (a list's JSON is over 2 characters an item: past this many it is cut anyway)
    out = []
    add = out.append
    for value in values:
        if isinstance(value, str):
            # JSON escapes each character on its own, so the text of a prefix is a prefix
            text = quote(value if len(value) <= limit else value[:limit])
        elif isinstance(value, (list, tuple)):
            if len(value) > items:
                # the JSON of the first items less its "]" is a prefix of the whole JSON, of
                # limit - 1 characters or more ("[" and each item, with the commas between, take
                # 2 * items), and the whole is longer than limit: always cut
                add(text_of(list(value[:items]))[:-1][:limit - 1] + "…")
                continue
            text = text_of(list(value))
        elif isinstance(value, (bytes, bytearray)):
            text = value[:12].hex(" ") + (" …" if len(value) > 12 else "")
        else:
            text = repr(value)
        add(text if len(text) <= limit else text[:limit - 1] + "…")
    return out


def memory_map(layout) -> str:
    """A person-readable map: one row per object in memory order, then totals."""
    from ._common import column_table

    headerless = layout.abi_name == "c"
    rows = layout.block_table()  # (the fields of a Block, as columns below)
    (addresses, starts, mm_info, gc_info, rt_ids, sizes, types, labels, values,
     seg_sizes) = zip(*rows) if rows else [()] * 10
    # the names of the objects at each address (a string laid out once for several names
    # has them all), else the block's own label (an element, a buffer)
    objects = layout.object_addresses()
    named = {address: name for name, address in objects}
    if len(named) != len(objects):
        named = {}
        for name, address in objects:
            named.setdefault(address, []).append(name or "")
        named = {address: ", ".join(names) for address, names in named.items()}
    name_column = [name or label or "" for name, label in zip(map(named.get, addresses), labels)]
    preview_column = previews(values)
    if headerless:
        head = ["address", "size", "type", "name", "preview"]
        cols = [addresses, sizes, types, name_column, preview_column]
    else:
        head = ["address", "block", "mmInfo", "gcInfo", "rtId", "rtSize", "type", "name", "preview"]
        cols = [addresses, starts, mm_info, gc_info, rt_ids, sizes, types, name_column, preview_column]
    payload = sum(sizes)
    segs = sum(seg_sizes)
    span = layout.end - layout.base
    version = "" if headerless else f" {layout.abi.version_text}"
    total = (f"{counted(len(rows), 'object')} ({len(objects)} named), abi {layout.abi_name}{version}; "
             f"memory {layout.base}..{layout.end} ({span} bytes): payload {payload}, "
             f"headers and padding {segs - payload}, gaps {span - segs}")
    return (column_table(cols, head) + "\n" if rows else "") + total + "\n"

"""wasmem info FILE [--json] [--segments]"""

from __future__ import annotations

from ..errors import counted
from . import leave
from ._common import load_module, print_json, shown, table
from .jsonout import as_records

NAME = "info"
HELP = "show what a module holds: sections, memories, imports, exports, data, runtime symbols"


def add_arguments(p):
    p.add_argument("file", metavar="FILE", help="the .wasm module (- for standard input)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--segments", action="store_true", help="list every data segment")


def run(args) -> int:
    from ._common import about

    m = load_module(args.file, mapped=True)  # info only reads
    with about(args.file):
        doc = m.info(segments=args.segments, columns=args.json)
    if args.json:
        as_records(doc, ("exports", "segments"))
        print_json(doc, rows=("sections", "memories", "imports", "exports", "segments"))
    else:
        print(render(doc, shown(args.file)))
    leave(m, doc)  # (freed by the process's end: see cli.entrypoint)
    return 0


def _limits(mem) -> str:
    text = f"{mem['min']}" + (f"..{mem['max']}" if mem["max"] is not None else "..")
    flags = [f for f in ("shared", "memory64") if mem[f]]
    if "page_size" in mem:  # (the custom-page-sizes proposal: a page other than 64 KiB)
        flags.append(f"page={mem['page_size']}")
    return text + ("" if not flags else " " + ",".join(flags))


def render(doc: dict, path: str) -> str:
    out = [f"{path}: {doc['size']} bytes, {len(doc['sections'])} sections", ""]
    out.append(table(
        [[s["id"], s["name"], s["offset"], s["size"], s.get("count", "")] for s in doc["sections"]],
        ["id", "section", "offset", "size", "count"],
    ))
    if doc["memories"]:
        out += ["", table(
            [[m["index"], f"{m['module']}.{m['name']}" if m["imported"] else "defined", _limits(m),
              ", ".join(m["exports"])] for m in doc["memories"]],
            ["memory", "origin", "pages", "exports"],
        )]
    if doc["imports"]:
        out += ["", table([[i["kind"], i["module"], i["name"]] for i in doc["imports"]],
                          ["import", "module", "name"])]
    if doc["exports"]:
        out += ["", table([[e["kind"], e["index"], e["name"]] for e in doc["exports"]],
                          ["export", "index", "name"])]
    d = doc["data"]
    span = f", static range {d['start']}..{d['end']}" if d["start"] is not None else ""
    out += ["", f"data: {counted(d['count'], 'segment')} ({d['active']} active, {d['passive']} passive), "
                f"{d['bytes']} bytes{span}"]
    if doc.get("segments"):
        out += ["", table([[s["index"], s["mode"], s["memory"], s["offset"], s["size"]] for s in doc["segments"]],
                          ["segment", "mode", "memory", "offset", "size"])]
    if doc["symbols"]:
        out += ["", table([[k, v["value"], v["global"], v["source"]] for k, v in doc["symbols"].items()],
                          ["symbol", "value", "global", "source"])]
    return "\n".join(out)

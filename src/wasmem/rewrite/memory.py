"""Memory rewrites: import-memory, export-memory, set-memory, define-memory.

Rewrites move Memory objects between the import list and the memory section
(walrus-style: "imported" is an attribute, not a position) and never compute an
index by hand: the index space before and after the change gives one
old-to-new map, and ``renumber_memories`` applies it everywhere an index is
written (exports, data segments, names, code).
"""

from __future__ import annotations

import warnings

from ..binary.entries import names_are_utf8
from ..errors import RewriteError, WasmWarning, counted
from ..model import Import, Limits, Memory
from .data import check_initial_size, static_gaps, static_tail, zero_fill as _zero_fill

MAX_PAGES_32 = 1 << 16  # 4 GiB of 64 KiB pages
MAX_PAGES_64 = 1 << 48

# What asc/Binaryen leave unchanged when an option is not given.
UNCHANGED = object()


def _memory_at(m, index: int | None, *, defined: bool | None = None) -> tuple[int, Memory]:
    mems = m.memories
    if index is None:
        for i, mem in enumerate(mems):
            if defined is None or mem.imported != defined:
                return i, mem
        what = {True: "defined ", False: "imported ", None: ""}[defined]
        raise RewriteError(f"the module has no {what}memory" + (
            " to convert" if defined is not None else ""))
    if not 0 <= index < len(mems):
        raise RewriteError(f"there is no memory {index}: the module has {len(mems)} memor{'y' if len(mems) == 1 else 'ies'}")
    mem = mems[index]
    if defined is True and mem.imported:
        imp = mem.import_
        raise RewriteError(f"memory {index} is already imported (as {imp.module}.{imp.name})")
    if defined is False and not mem.imported:
        raise RewriteError(f"memory {index} is defined, not imported")
    return index, mem


def new_limits(limits: Limits, *, initial=None, maximum=UNCHANGED, shared=None) -> Limits:
    """Apply limit options and check the result (RewriteError says what to change)."""
    lim = limits
    if initial is not None:
        lim = lim.replace(min=initial)
    if maximum is not UNCHANGED:
        lim = lim.replace(max=maximum)
    if shared is not None:
        lim = lim.replace(shared=shared)
    check_limits(lim)
    return lim


def check_limits(lim: Limits) -> None:
    if lim.page_size_log2 is not None:
        bound = (1 << (64 if lim.memory64 else 32)) >> lim.page_size_log2
    else:
        bound = MAX_PAGES_64 if lim.memory64 else MAX_PAGES_32
    kind = "64-bit" if lim.memory64 else "32-bit"
    if lim.min > bound:
        raise RewriteError(f"initial size {lim.min} pages is more than a {kind} memory can have ({bound} pages)")
    if lim.max is not None and lim.max > bound:
        raise RewriteError(f"maximum size {lim.max} pages is more than a {kind} memory can have ({bound} pages)")
    if lim.max is not None and lim.max < lim.min:
        raise RewriteError(f"maximum size {counted(lim.max, 'page')} is below the initial size {lim.min}: "
                           f"raise --maximum or lower --initial")
    if lim.shared and lim.max is None:
        raise RewriteError("a shared memory needs a maximum size: add --maximum PAGES")


def _check_export_name(m, name: str, kind: str, index: int) -> None:
    for e in m.exports:
        if e.name == name and not (e.kind == kind and e.index == index):
            raise RewriteError(f"an export named {name!r} already exists ({e.kind} {e.index}); choose another --name")


def _check_import_name(m, module: str, name: str) -> None:
    # Two imports of one name are valid, but a host holds one value per name (a JS import
    # object, wasmtime's linker): the memory would become the one already imported, or fail
    # to link against something of another kind.
    for i, imp in enumerate(m.imports):
        if imp.module == module and imp.name == name:
            raise RewriteError(f"the module already imports {module}.{name} (import {i}, a {imp.kind}), and a "
                               f"host gives both imports the one value it holds under that name: choose "
                               f"another --name or --module")


def _set_limits(mem: Memory, lim: Limits) -> None:
    if lim != mem.limits:
        mem.limits = lim


def _import_position(imports: list) -> int:
    """Where a new memory import goes: right after the last memory import; else
    where Binaryen and asc write it, after the function, global and tag imports
    (Binaryen groups imports by kind: functions, globals, tags, memories, tables)."""
    last_mem = [i for i, imp in enumerate(imports) if imp.kind == "memory"]
    if last_mem:
        return last_mem[-1] + 1
    before = [i for i, imp in enumerate(imports) if imp.kind in ("func", "global", "tag")]
    return before[-1] + 1 if before else 0


def import_memory(m, *, memory: int | None = None, module: str = "env", name: str = "memory",
                  initial: int | None = None, maximum=UNCHANGED, shared: bool | None = None,
                  zero_fill: bool = False) -> dict:
    """Turn a defined memory into an import, as ``asc --importMemory`` does.

    Returns a report: {"memory": old index, "index": new index, "limits", "gaps", "zero_filled"}.
    """
    _check_name(module, "the import's module name")
    _check_name(name, "the import's name")
    index, mem = _memory_at(m, memory, defined=True)
    _check_import_name(m, module, name)
    lim = new_limits(mem.limits, initial=initial, maximum=maximum, shared=shared)
    if lim.min < mem.limits.min:  # a smaller memory may no longer hold the data, stack and heap
        check_initial_size(m, index, lim)
    before = m.memories
    _set_limits(mem, lim)
    m.defined_memories.remove(mem)
    imports = m.imports
    imports.insert(_import_position(imports), Import(module, name, "memory", mem))
    renumber_memories(m, before)
    new_index = m.memories.index(mem)
    gaps = static_gaps(m, new_index, collect=zero_fill)
    holes = gaps.pop("gaps")
    # the static data runs on to __data_end where the module names it: C's .bss (the symbols
    # are memory 0's, which the converted memory was if it still is: imports come first)
    tail, unknown = static_tail(m, index, gaps["end"])
    if tail is not None:
        gaps["count"] += 1
        gaps["bytes"] += tail[1] - tail[0]
        gaps["end"] = tail[1]
        holes.append(tail)
    elif unknown is not None:
        what, relink = unknown
        warnings.warn(
            f"memory {new_index}: {what}: an imported memory may not be zero there, and --zero-fill cannot "
            f"cover it (wasm-ld leaves that data out of a defined memory's segments, and zeroes it itself at "
            f"start under -Wl,--import-memory: link with that{relink})", WasmWarning, stacklevel=2)
    report = {"memory": index, "index": new_index, "limits": _limits_doc(lim), "gaps": gaps,
              "zero_filled": False}
    if gaps["count"]:
        if zero_fill:
            report["zero_filled"] = _zero_fill(m, new_index, holes)
        else:
            bss = " (the last up to __data_end: zero-initialized data)" if tail is not None else ""
            warnings.warn(
                f"the static data of memory {new_index} has {counted(gaps['count'], 'gap')}, {gaps['bytes']} bytes "
                f"in all, between {gaps['start']} and {gaps['end']} that no data segment writes{bss}: a defined "
                "memory starts zeroed, an imported one may not; use --zero-fill to write those zeros explicitly",
                WasmWarning, stacklevel=2)
    return report


def define_memory(m, *, memory: int | None = None) -> dict:
    """Turn an imported memory into a defined one (the inverse of import_memory)."""
    index, mem = _memory_at(m, memory, defined=False)
    before = m.memories
    imp = mem.import_
    m.imports.remove(imp)
    mem.import_ = None
    m.defined_memories.insert(0, mem)
    renumber_memories(m, before)
    return {"memory": index, "index": m.memories.index(mem), "import": f"{imp.module}.{imp.name}",
            "limits": _limits_doc(mem.limits)}


def export_memory(m, *, memory: int = 0, name: str = "memory") -> dict:
    _check_name(name, "the export name")
    index, mem = _memory_at(m, memory)
    _check_export_name(m, name, "memory", index)
    if name not in m.exports_of("memory", index):
        from ..model import Export

        m.exports.append(Export(name, "memory", index))
    return {"memory": index, "name": name, "exports": m.exports_of("memory", index)}


def set_memory(m, *, memory: int = 0, initial: int | None = None, maximum=UNCHANGED,
               shared: bool | None = None) -> dict:
    """Change a memory's limits or sharedness, defined or imported."""
    index, mem = _memory_at(m, memory)
    lim = new_limits(mem.limits, initial=initial, maximum=maximum, shared=shared)
    if lim.min < mem.limits.min:  # (an imported one too: the host may give just the minimum)
        check_initial_size(m, index, lim)
    _set_limits(mem, lim)
    return {"memory": index, "limits": _limits_doc(lim)}


def _check_name(text, what: str) -> None:
    """A name in a module is UTF-8: refused where it cannot be, before anything changes."""
    if not isinstance(text, str):
        raise RewriteError(f"{what} must be a string, not {type(text).__name__}")
    if not names_are_utf8((text,)):
        raise RewriteError(f"{what} {text!r} is not UTF-8 text, as every name in a module is (a lone "
                           "surrogate; on the command line, bytes that are not UTF-8)")


def _limits_doc(lim: Limits) -> dict:
    return {"min": lim.min, "max": lim.max, "shared": lim.shared, "memory64": lim.memory64}


def renumber_memories(m, before: list) -> dict[int, int]:
    """After memories moved, rewrite every memory index from the old index
    space ``before`` to the current one. Returns the map (identity entries left out)."""
    after = {id(mem): i for i, mem in enumerate(m.memories)}
    mapping = {old: after[id(mem)] for old, mem in enumerate(before) if id(mem) in after}
    moved = {o: n for o, n in mapping.items() if o != n}
    if not moved:
        return {}
    for e in m.exports:
        if e.kind == "memory" and e.index in moved:
            e.index = moved[e.index]
    for seg in m.data:
        if seg.mode == "active" and seg.memory in moved:
            seg.memory = moved[seg.memory]
    names = m.names
    if names is not None:
        mem_names = names.get("memory")
        if mem_names:
            names.set("memory", {moved.get(i, i): n for i, n in mem_names.items()})
    code = m.section(10)
    if code is not None:
        from ..binary.code import remap_code_section

        new = remap_code_section(code.payload, code.offset, lambda i: moved.get(i, i))
        if new is not None:
            m.replace_payload(10, new)
    return moved

"""add-data: put static objects into a compiled module without breaking it.

The objects go where the program's stack and allocator never write:
* ``reserved``: free room an asc build left below its static data
  (``--memoryBase``), never below 1024 unless asked, and not where a stack starts
  below the data (wasm-ld ``--stack-first``). Below a C-like build's first segment
  may lie its own zero-valued data, so C objects go there only by explicit ``base``;
* ``heap``: right after the static data, moving ``__data_end``,
  ``__stack_pointer`` and ``__heap_base`` up by the same amount
  (assemblyscript-static-data.md 8.3). Only where those are globals: an
  optimized build inlines them as constants and is refused;
* an explicit ``base`` that overlaps neither data, stack nor heap.
"""

from __future__ import annotations

import operator
import warnings
from itertools import repeat

from ..binary.entries import encode_export, encode_globaltype, names_are_utf8
from ..binary.leb import encode_s, encode_u
from ..binary.valtypes import KIND_CODES
from ..errors import DecodeError, RewriteError, WasmWarning, counted
from ..layout.types import Block
from ..model import DataSegment, const_expr
from ..symbols import SYMBOLS, global_zero_pointer
from .data import MAX_SEGMENTS

LOW_MEMORY = 1024  # optimizers may assume the first KiB is unused
_RESERVE = "asc --memoryBase N, wasm-ld --global-base=N"  # how a build leaves room below its data
MERGED_SEGMENT_NAME = "wasmem.static"  # the one segment of a layout past the segment limit
_LABEL = operator.itemgetter(Block.__slots__.index("label"))  # a block table row's label
I32 = 0x7F


def _align4(n: int) -> int:
    return (n + 3) & ~3


def add_data(m, spec, *, base="auto", export: bool = True, as_version=None, columns: bool = False) -> dict:
    """Lay out ``spec`` (a layout.spec.Spec) into module ``m``; returns the report (with
    ``columns``, its "objects" and "segments" as (keys, columns) pairs: see
    StaticLayout.report)."""
    from ..layout.spec import build_layout

    if export:
        _check_export_names(m, spec.names)
    mems = m.memories
    if not mems:
        raise RewriteError("the module has no memory to put data in")
    mem = mems[0]
    # (a memory64's addresses are i64: its segment offsets and the exported globals too)
    wide = mem.limits.memory64
    if wide and spec.abi != "c":
        raise RewriteError("memory 0 is a 64-bit memory (memory64), and AssemblyScript's objects and runtime "
                           "are 32-bit: only the c abi's data can go into it")
    version, rtti = (as_version or spec.as_version), None
    if spec.abi != "c":
        from ..asc import module_rtti

        version, rtti = module_rtti(m, spec.abi, version)

    def lay(at):
        return build_layout(spec, as_version=version, base=at, rtti=rtti)

    syms = m.symbols()
    data_start, data_stop = m.view(11, create=True).extent(0)
    D = syms.get("__data_end")
    H = syms.get("__heap_base")
    heap_old = H["value"] if H else None
    placement, layout, heap_new = None, None, None

    if base != "auto":
        layout = lay(base)
        stack_top = _stack_top_below(m, syms, data_start) if data_start is not None else None
        _check_explicit(layout, base, data_start, data_stop, D, H, stack_top)
        placement = "reserved" if data_start is not None and layout.end <= data_start else "explicit"
    else:
        stack_top = None
        if data_start is not None and data_start > LOW_MEMORY:
            stack_top = _stack_top_below(m, syms, data_start)
            # asc's static data begins with an object header, never zero, so its first
            # segment is where its data begins. Below a C-like build's first segment may lie
            # its own zero-valued data, which optimizers leave out of the segments (wasm-opt's
            # memory packing), or its runtime's (Go writes argv and the environment at 4096,
            # its linker starts the data at 12288 or later): not known to be free.
            if stack_top is None and spec.abi != "c":
                trial = lay(LOW_MEMORY)
                if trial.end <= data_start:
                    placement, layout = "reserved", trial
        if layout is None:
            placement = "heap"
            layout, heap_new = _after_data(m, lay, syms, data_stop, stack_top, data_start if spec.abi == "c" else None)

    report = layout.report(columns=columns)
    if columns:
        offsets, sizes = report["segments"][1]  # (each object block's, in order)
        keys, values = report["objects"]
        names, addresses = values[keys.index("name")], values[keys.index("address")]
    else:  # (the API's records as dicts)
        offsets, sizes = [s["offset"] for s in report["segments"]], [s["size"] for s in report["segments"]]
        names, addresses = [o["name"] for o in report["objects"]], [o["address"] for o in report["objects"]]
    end = max(map(operator.add, offsets, sizes), default=layout.base)
    needed = heap_new if heap_new is not None else end
    _grow_minimum(mem, needed)
    view = m.view(11, create=True)
    if len(view) + len(offsets) > MAX_SEGMENTS and offsets:
        # One segment per object would pass the JS API's limit: write the whole layout,
        # padding included, as one segment instead (asc -O3 packs its data the same way).
        first = offsets[0]
        warnings.warn(f"{len(offsets)} objects written as one data segment ({first}..{end}): one each "
                      f"would pass the limit of {MAX_SEGMENTS} data segments", WasmWarning)
        image = layout.image_view()
        segments = [(first, bytes(image[first - layout.base:end - layout.base]))]
        image.release()
        labels = [MERGED_SEGMENT_NAME]
    else:
        segments = layout.segments()
        labels = None
    first_segment = len(view)
    for off, data in segments:
        view.append(DataSegment("active", 0, const_expr(off, 0x42 if wide else 0x41), data, 0))
    _name_segments(m, first_segment, layout, labels)
    if m.data_count is not None:
        m.data_count = len(view)
    if export:
        _export_objects(m, names, addresses, wide)
    report["placement"] = placement
    report["heap_base"] = {"old": heap_old, "new": heap_new if heap_new is not None else heap_old}
    return report


def _after_data(m, lay, syms, data_stop, stack_top=None, unknown_below=None):
    """Lay out after the static data, moving the heap; ``stack_top``: a stack found below the
    data; ``unknown_below``: the first segment of a C-like build, below which the memory is
    not known to be free (for the refusal's message)."""
    D, H, S = (syms.get(k) for k in ("__data_end", "__heap_base", "__stack_pointer"))
    gl = m.globals
    if H is None or not _is_defined_const(gl, H["global"]):
        after = ("after the data there is no __heap_base global to move the heap past new objects. Give "
                 "an explicit --base ADDR in memory the program never uses, or add the data when building")
        if stack_top is not None:
            raise RewriteError(
                "cannot place the data: below the module's static data is its stack (the stack "
                f"pointer starts at {stack_top}, as wasm-ld --stack-first builds do), and {after}")
        if unknown_below is not None:
            raise RewriteError(
                f"cannot place the data: the memory below the module's first data segment ({unknown_below}) "
                "may be its own (zero-valued static data that an optimizer left out of the segments, or its "
                f"runtime's), and {after}")
        raise RewriteError(
            "cannot place the data after the module's static data: it has no __heap_base global "
            "(optimized builds inline it as constants in code, so moving the heap is not safe). "
            "Give an explicit --base ADDR in free memory below the static data, rebuild with room "
            f"reserved below it ({_RESERVE}), or add the data before optimizing")
    heap = H["value"]
    _check_heap_base_is_read(m, H["global"], heap)
    cursor = D["value"] if D else _align4(data_stop or heap)
    layout = lay(cursor)
    d_new = _align4(layout.end)
    stack = heap - (D["value"] if D else cursor)
    h_new = _align4(d_new + stack)
    if D:
        gl[D["global"]].set_init_value(d_new)
    gl[H["global"]].set_init_value(h_new)
    if S and S["value"] == heap:
        gl[S["global"]].set_init_value(h_new)
    return layout, h_new


def _check_heap_base_is_read(m, index: int, heap: int) -> None:
    """Moving the __heap_base global moves the heap only where the program reads it. asc's
    runtime does (global.get); wasm-ld resolves C's ``&__heap_base`` to a constant in code
    and makes the global only for an export, so a C allocator would stay where it was, under
    the stack moved up past the new objects. Refused where the code holds the value and never
    reads the global. (The value alone is no proof: it may be any other constant, as 0.17's
    TLSF ROOT_SIZE 1572 is the heap base of a build with --memoryBase 1024.)"""
    from ..binary.uses import holds_but_never_reads

    code = m.section(10)
    try:
        inlined = code is not None and holds_but_never_reads(code.payload, code.offset, index, heap)
    except DecodeError as e:  # (UnsupportedError too: an instruction this tool does not model)
        raise RewriteError(
            f"cannot move the heap past new objects: whether the program reads its heap base from the "
            f"__heap_base global cannot be told, as a function body does not decode ({e}). Give an explicit "
            "--base ADDR in memory the program never uses, or add the data when building") from e
    if inlined:
        raise RewriteError(
            f"cannot move the heap past new objects: the module's code holds its heap base ({heap}) as a "
            "constant and never reads the __heap_base global (wasm-ld resolves &__heap_base in code; the "
            "global is there for an export), so its allocator would not move, and its stack would grow "
            "into the heap. Give an explicit --base ADDR in memory the program never uses, or add the data "
            "when building")


def _stack_top_below(m, syms, data_start: int) -> int | None:
    """Where a stack below the static data starts (it grows down from there), or None.

    wasm-ld's --stack-first (Rust's default: 1 MiB of stack, then the data) puts the
    stack in the room below the static data, so that room is not free. Its pointer is
    __stack_pointer: by name, or in a stripped module global 0, where wasm-ld puts it
    (swc_wasm_bg.wasm: a mutable i32 starting at 1048576, where its data starts). asc
    keeps its stack pointer above the data."""
    s = syms.get("__stack_pointer")
    top = s["value"] if s is not None else global_zero_pointer(m)
    return top if top is not None and LOW_MEMORY < top <= data_start else None


def _is_defined_const(gl, index) -> bool:
    g = gl[index]
    return g.import_ is None and g.init_value is not None


def _check_explicit(layout, base, data_start, data_stop, D, H, stack_top=None) -> None:
    lo, hi = base, layout.end
    if lo < 8:
        raise RewriteError(f"--base {base} would put data in the first 8 bytes, which stay free so 0 is null")
    if stack_top is not None and lo < stack_top:
        raise RewriteError(f"the objects would span {lo}..{hi}, inside the stack below the module's static data "
                           f"(its stack pointer starts at {stack_top} and the stack grows down from there): "
                           "choose another --base")
    if data_start is not None:
        # the static data runs on to __data_end where the module gives it: C's .bss, which no
        # segment writes (a defined memory starts zeroed)
        stop = max(data_stop, D["value"]) if D else data_stop
        if lo < stop and hi > data_start:
            raise RewriteError(f"the objects would span {lo}..{hi}, overlapping the module's static data "
                               f"({data_start}..{stop}" + (f", zero-initialized from {data_stop}" if stop > data_stop
                                                           else "") + "): choose another --base")
    if D and H and hi > D["value"] and lo < H["value"]:
        raise RewriteError(f"the objects would span {lo}..{hi}, inside the shadow stack "
                           f"({D['value']}..{H['value']}): choose another --base or use --base auto")
    if H and hi > H["value"]:
        raise RewriteError(f"the objects would span {lo}..{hi}, at or above __heap_base ({H['value']}), "
                           "where the allocator writes: use --base auto to move the heap")
    if H is None and data_stop is not None and hi > data_stop:
        # Past the static data is where the stack and the heap go (asc's heap starts right
        # after it); with no __heap_base global they cannot be moved out of the way, and
        # the allocator takes all the memory above its start (measured: the O3 fixture's
        # own allocations overwrite objects put at 65536).
        raise RewriteError(f"the objects would span {lo}..{hi}, above the module's static data "
                           f"({data_start}..{data_stop}), where its stack and heap are: it has no __heap_base "
                           "global to move past them (optimized builds inline it as constants). Choose a --base "
                           f"in free memory below the static data, rebuild with room reserved below it ({_RESERVE}), "
                           "or add the data before optimizing")


def _grow_minimum(mem, end: int) -> None:
    lim = mem.limits
    need = -(-end // lim.page_size)
    if need <= lim.min:
        return
    if lim.max is not None and need > lim.max:
        raise RewriteError(f"the data needs {counted(need, 'page')} of memory but its maximum is {lim.max}")
    if mem.imported:
        warnings.warn(f"raising the imported memory's minimum from {lim.min} to {counted(need, 'page')}: "
                      "the host must provide at least that", WasmWarning)
    mem.limits = lim.replace(min=need)


def _check_export_names(m, names: list) -> None:
    """Each named object becomes an export of that name: refused, before the module is
    touched, where the name is taken or is a runtime symbol's."""
    if None in names:  # (objects without a name get no export)
        names = [name for name in names if name is not None]
    distinct = set(names)
    runtime = distinct.intersection(SYMBOLS)
    if runtime:
        raise RewriteError(f"an object named {min(runtime)!r} would be exported under the name of a runtime "
                           "symbol, which tools (wasmem's symbol search among them) take for the module's own; "
                           "rename the object or use --no-export")
    if not names_are_utf8(names):  # (the list: joining the set would cost ten times as much)
        for name in names:  # the first such name, in object order
            if not names_are_utf8((name,)):
                raise RewriteError(f"an object named {name!r} cannot be exported: an export name is UTF-8, "
                                   "which has no lone surrogates; rename the object or use --no-export")
    taken = {name for name, _, _, _ in m.export_rows()}
    if not taken.isdisjoint(distinct) or len(distinct) != len(names):
        for name in names:  # the first name in the way, in object order
            if name in taken:
                raise RewriteError(f"an export named {name!r} already exists; rename the object or use --no-export")
            taken.add(name)


def _export_objects(m, names: list, addresses: list, wide: bool = False) -> None:
    if None in names:  # (objects without a name get no export)
        addresses = [a for a, name in zip(addresses, names) if name is not None]
        names = [name for name in names if name is not None]
    # The entries are appended as their encodings, made in whole-list steps: nothing reads
    # them before the module is written (110,000 objects, 220,000 entries), and the views
    # make objects of them only if asked.
    n = len(names)
    first = len(m.globals)  # (m.globals is a new list each time: ask once)
    indices = range(first, first + n)
    # (in a memory64, i64 globals and i64.const, as wasm-ld's for wasm64)
    globaltype, op = (_I64_CONST, 0x42) if wide else (_I32_CONST, 0x41)
    m.view(6, create=True).extend_encoded(list(map(globaltype.__add__, _const_exprs(addresses, op))))
    m.view(7, create=True).extend_encoded(_global_exports(names, indices))
    # where the module names its globals (clang's builds, asc's --debug), the new ones are
    # named after their objects too, for disassemblers and debuggers
    section = m.names
    global_names = section.get("global") if section is not None else None
    if global_names is not None:
        section.set("global", {**global_names, **dict(zip(indices, names))})


def _name_segments(m, first: int, layout, labels: list | None) -> None:
    """Where the module names its data segments (wasm-ld's ``.data``, ``.rodata``), the new
    ones are named too: each after its block's object (``arr``, ``arr.buffer``, ``arr[0]``),
    or ``labels`` given. A name that is not UTF-8 (a lone surrogate) is left out."""
    section = m.names
    data_names = section.get("data") if section is not None else None
    if data_names is None:
        return
    if labels is None:
        labels = list(map(_LABEL, layout.block_table()))
    new = {i: label for i, label in enumerate(labels, first) if label is not None}
    if not names_are_utf8(new.values()):
        new = {i: label for i, label in new.items() if names_are_utf8((label,))}
    section.set("data", {**data_names, **new})


def _const_exprs(addresses: list, op: int = 0x41) -> list:
    """``const_expr(a, op)`` of each address, the opcode and end joined on in one C-level step."""
    if max(addresses, default=0) >= 1 << 31:  # (taken as negative numbers: const_expr's rule)
        return list(map(const_expr, addresses, repeat(op)))
    return list(map(b"".join, zip(repeat(bytes((op,))), map(encode_s, addresses), repeat(b"\x0b"))))


def _global_exports(names: list, indices) -> list:
    """``encode_export(name, "global", i)`` of each, in whole-list steps where every name
    is shorter than 128 bytes (its length one LEB byte)."""
    utf8 = list(map(str.encode, names))  # (UTF-8, strict, as encode_name)
    if max(map(len, utf8), default=0) >= 0x80:
        return list(map(encode_export, names, repeat("global"), indices))
    return list(map(b"".join, zip(map(_ONE_BYTE.__getitem__, map(len, utf8)), utf8, repeat(_GLOBAL_KIND),
                                  map(encode_u, indices))))


_I32_CONST = encode_globaltype(I32, False)  # the type of each exported object's global
_I64_CONST = encode_globaltype(0x7E, False)  # (a memory64's: addresses are i64)
_ONE_BYTE = tuple(bytes((i,)) for i in range(0x80))
_GLOBAL_KIND = bytes((KIND_CODES["global"],))

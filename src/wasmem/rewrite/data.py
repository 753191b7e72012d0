"""Data-segment rules for rewrites: fitting the initial size, gaps, zero-fill."""

from __future__ import annotations

import itertools
import operator
from bisect import bisect_right

from ..errors import RewriteError, counted
from ..model import DataSegment, const_expr

# The JS API refuses modules with more data segments than this.
MAX_SEGMENTS = 100_000


def check_segments_fit(m, memory: int, limits) -> None:
    """Every active segment with a constant offset must lie within the initial size."""
    size = limits.min * limits.page_size
    view = m.view(11, create=True)
    end = view.extent(memory)[1]  # (memory 0's end is the scan's: no pass over the segments)
    if end is None or end <= size:
        return
    index, offsets, sizes = view.span_table(memory)
    for off, n, i in zip(offsets, sizes, index):
        end = off + n
        if end > size:
            need = -(-end // limits.page_size)
            raise RewriteError(
                f"data segment {i} ends at {end}, beyond the initial size of memory {memory} "
                f"({counted(limits.min, 'page')} = {size} bytes): use --initial {need} or more")


# what lies below each runtime symbol, for the refusal of a memory that stops short of it
_BELOW_SYMBOL = {"__data_end": "its static data (with the zero-initialized part no segment writes) ends there",
                 "__stack_pointer": "its stack and heap start there", "__heap_base": "its stack and heap start there"}


def check_initial_size(m, memory: int, limits) -> None:
    """A smaller initial size must still hold the data segments (check_segments_fit) and, in
    memory 0, where the runtime's symbols put the end of the static data, the stack and the
    heap: a stack pointer that starts beyond the memory traps at the first call, and so does
    C's .bss beyond it. (asc and wasm-ld refuse to build such a module: "requires at least
    N pages of initial memory".)"""
    check_segments_fit(m, memory, limits)
    if memory != 0:
        return
    size = limits.min * limits.page_size
    syms = m.symbols()
    for name, what in _BELOW_SYMBOL.items():
        s = syms.get(name)
        if s is not None and s["value"] > size:
            need = -(-s["value"] // limits.page_size)
            raise RewriteError(
                f"the module's {name} is {s['value']}, beyond the initial size of memory 0 "
                f"({counted(limits.min, 'page')} = {size} bytes): {what}; use --initial {need} or more")


# A span sorts as one int, offset above size: sorting ints is five times faster than
# sorting by a key function (esbuild.wasm's 98,450 segments are not in address order).
_SIZE_BITS = 34  # a segment holds fewer than 2**32 bytes
_SIZE_MASK = (1 << _SIZE_BITS) - 1


def static_gaps(m, memory: int, *, collect: bool = False) -> dict:
    """The holes between the first and last byte the data segments write:
    their count, bytes and range, and with ``collect`` the list of holes."""
    view = m.view(11, create=True)
    offs, sizes = view.span_columns(memory)
    if len(offs) and 0 not in sizes:
        ordered = None if collect else view.runs(memory)  # (runs, touching, run_starts) from the scan
        if ordered is not None:
            # The scan's runs are each in address order and disjoint: when the runs are too,
            # taken by address, the holes are the steps between segments that do not touch,
            # and their bytes whatever the extent holds beyond the data: no sort of the spans
            # (ffmpeg-core.wasm's 28,951 segments are one run; esbuild.wasm's two interleave).
            runs, touching, run_starts = ordered
            runs = sorted(runs)
            if all(a[1] <= b[0] for a, b in zip(runs, runs[1:])):
                touching += sum(a[1] == b[0] for a, b in zip(runs, runs[1:]))
            elif len(runs) == 2:
                touching = _two_runs_touching(offs, sizes, run_starts[1], touching)
            else:
                touching = None
            if touching is not None:
                start, end = runs[0][0], max(map(_SECOND, runs))
                return {"count": len(offs) - 1 - touching, "bytes": end - start - sum(sizes), "start": start,
                        "end": end, "gaps": []}
        # Starts and ends sorted apart: when each start is at or after the end before it,
        # the spans are disjoint and the i-th start and the i-th end are one span's (the
        # span with the least end starts first, and so on), and the holes are the
        # differences. C-level passes; overlaps take the loop below.
        starts = sorted(offs)
        ends = sorted(map(operator.add, offs, sizes))
        holes = list(map(operator.sub, itertools.islice(starts, 1, None), ends))
        if not holes or min(holes) >= 0:
            gaps = [(e, s) for e, s, h in zip(ends, itertools.islice(starts, 1, None), holes) if h] if collect else []
            return {"count": len(holes) - holes.count(0), "bytes": sum(holes), "start": starts[0],
                    "end": ends[-1], "gaps": gaps}
    keys = sorted([off << _SIZE_BITS | n for off, n in zip(offs, sizes)])
    count = total = 0
    gaps: list = []
    start = reach = None  # the first byte, and the highest byte written so far
    for key in keys:
        n = key & _SIZE_MASK
        if n:  # an empty segment writes nothing: it neither starts nor closes a gap
            off = key >> _SIZE_BITS
            if reach is None:
                start, reach = off, off + n
                continue
            if off > reach:
                count += 1
                total += off - reach
                if collect:
                    gaps.append((reach, off))
            if off + n > reach:
                reach = off + n
    return {"count": count, "bytes": total, "start": start, "end": reach, "gaps": gaps}


def static_tail(m, memory: int, end: int | None) -> tuple[tuple[int, int] | None, tuple[str, str] | None]:
    """The zero-initialized static data past the segments' ``end`` in memory 0 (wasm-ld's
    ``.bss``, which it leaves out of the segments of a defined memory, since that starts
    zeroed, and zeroes itself under --import-memory), as ``(span, unknown)``.

    ``span``: (end, stop), up to the ``__data_end`` an export or the name section gives,
    within the initial size; None where there is none or it is not known. ``unknown``: where
    a wasm-ld build (its ``__stack_pointer`` given) does not say where that data is, what is
    not known and how else to link so that it would be, (what, relink): where it ends,
    without ``__data_end``; where it starts, with ``__data_end`` but no data segment (``end``
    None: all of its data is zero-initialized). Else None."""
    if memory != 0:
        return None, None
    symbols = m.symbols()
    data_end, sp = _given(symbols, "__data_end"), _given(symbols, "__stack_pointer")
    if data_end is not None:
        if end is None:
            if data_end["value"] <= 0:
                return None, None
            return None, (f"the module has no data segment, so where its zero-initialized data (C's .bss) "
                          f"starts below __data_end ({data_end['value']}) is not known", "")
        limits = m.memories[0].limits
        stop = min(data_end["value"], limits.min * limits.page_size)
        return ((end, stop) if stop > end else None), None
    if sp is None:  # (not a wasm-ld build, or asc's: its data is all in segments)
        return None, None
    where = "it has no data segment" if end is None else f"past the last segment, at {end}"
    return None, (f"the module names __stack_pointer but not __data_end, so where its zero-initialized data "
                  f"(C's .bss) ends is not known ({where})",
                  "" if end is None else ", or with -Wl,--export=__data_end for --zero-fill to cover it")


def _given(symbols: dict, name: str) -> dict | None:
    """Symbol ``name`` as the module gives it (an export or the name section), not found by
    asc's positional rule (whose __data_end is its segments' end)."""
    s = symbols.get(name)
    return None if s is None or s["source"] == "position" else s


_BELOW, _ABOVE = -(1 << 64), 1 << 64  # beyond any i32/i64.const


def _two_runs_touching(offs, sizes, split: int, touching: int) -> int | None:
    """How many non-empty spans start where another ends, for spans in two runs (each in
    address order and disjoint, ``touching`` of them within a run; indices [0, split) and
    [split, n)) that interleave; None where a span of one run overlaps one of the other.

    Each span of the shorter run is placed among the longer run's by bisection, all in
    whole-list steps, without a sort of every span (esbuild.wasm: 7,531 spans placed
    among 90,919). Between a span and its neighbours of the other run there must be no
    overlap, and a neighbour that ends (or starts) exactly there is a touching pair; two
    spans of one run with spans of the other between them cannot touch (every span has a
    byte), so the pairs within runs are the scan's ``touching``."""
    n = len(offs)
    a, b = (slice(0, split), slice(split, n)) if split <= n - split else (slice(split, n), slice(0, split))
    starts = [_BELOW, *offs[b], _ABOVE]  # the longer run, with a neighbour before and after every span
    lengths = [0, *sizes[b], 0]
    a_starts, a_sizes = offs[a], sizes[a]
    nexts = list(map(bisect_right, itertools.repeat(starts), a_starts))  # each span's next neighbour
    prevs = list(map(operator.sub, nexts, itertools.repeat(1)))
    prev_ends = list(map(operator.add, map(starts.__getitem__, prevs), map(lengths.__getitem__, prevs)))
    next_starts = list(map(starts.__getitem__, nexts))
    a_ends = list(map(operator.add, a_starts, a_sizes))
    if not (all(map(operator.le, prev_ends, a_starts)) and all(map(operator.le, a_ends, next_starts))):
        return None
    return touching + sum(map(operator.eq, prev_ends, a_starts)) + sum(map(operator.eq, a_ends, next_starts))


# The most zeros --zero-fill writes: 4,096 pages (the module grows by as much). The largest
# real case seen, esbuild.wasm, has 1.8 MB of gaps; a data segment at the top of a 4 GiB
# memory, or past a memory64's end, would otherwise ask for gigabytes or more.
ZERO_FILL_LIMIT = 256 << 20


def zero_fill(m, memory: int, gaps: list | None = None) -> dict:
    """Make the segments of ``memory`` cover the static range with explicit zeros.

    Existing segments keep their indices (passive ones are used by index);
    the zeros come as new segments appended after them, one per gap. Where
    that would pass the 100,000-segment limit, neighbouring gaps are merged
    into one segment that also rewrites the bytes between them with the same
    values, until the count fits. ``gaps``: the holes, when the caller already
    has them from ``static_gaps(m, memory, collect=True)``.
    """
    if gaps is None:
        gaps = static_gaps(m, memory, collect=True)["gaps"]
    if not gaps:
        return {"segments_added": 0, "zero_bytes": 0}
    zeros = sum(map(_SECOND, gaps)) - sum(map(_FIRST, gaps))
    if zeros > ZERO_FILL_LIMIT:  # (a bounded allocation: the zeros are made in memory, then written)
        raise RewriteError(f"--zero-fill would write {zeros} bytes of zeros between {gaps[0][0]} and {gaps[-1][1]}, "
                           f"more than its limit of {ZERO_FILL_LIMIT >> 20} MiB: convert without it (the "
                           "host must then provide zeroed memory there), or fill that memory at start")
    view = m.view(11, create=True)
    room = MAX_SEGMENTS - len(view)
    if room < 1:
        raise RewriteError(f"the module already has {len(view)} data segments; "
                           f"no room for zero-fill below the limit of {MAX_SEGMENTS}")
    runs = gaps
    if len(gaps) > room:
        # Merge across the smallest stretches of real data between gaps: the stretch after
        # gap k is kept as a cut between runs unless it is among the `excess` smallest
        # (ties: the earlier one merges first). Whole-list steps: esbuild.wasm has 98,448 gaps.
        excess = len(gaps) - room
        stretch = list(map(operator.sub, map(_FIRST, itertools.islice(gaps, 1, None)), map(_SECOND, gaps)))
        cuts = sorted(sorted(range(len(stretch)), key=stretch.__getitem__)[excess:])
        runs = list(zip([gaps[0][0], *[gaps[k + 1][0] for k in cuts]], [*[gaps[k][1] for k in cuts], gaps[-1][1]]))
    # the zeros' offsets use the same instruction (i32.const or i64.const) as the others
    op = 0x42 if m.memories[memory].limits.memory64 else 0x41
    # one pass over the segments for the whole range, then a slice per run
    lo, hi = runs[0][0], runs[-1][1]
    image = m.read_static(lo, hi - lo, memory)
    for s, e in runs:
        view.append(DataSegment("active", memory, const_expr(s, op), image[s - lo:e - lo], 2 if memory else 0))
    added = len(runs)
    if m.data_count is not None:
        m.data_count = len(view)
    return {"segments_added": added, "zero_bytes": zeros}


_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)

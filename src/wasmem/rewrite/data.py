"""Data-segment rules for rewrites: fitting the initial size, gaps, zero-fill."""

from __future__ import annotations

from itertools import accumulate, repeat

from ..errors import RewriteError
from ..model import DataSegment, const_expr

# The JS API refuses modules with more data segments than this.
MAX_SEGMENTS = 100_000


def check_segments_fit(m, memory: int, limits) -> None:
    """Every active segment with a constant offset must lie within the initial size."""
    size = limits.min * limits.page_size
    for off, n, i in m.view(11, create=True).spans(memory):
        end = off + n
        if end > size:
            need = -(-end // limits.page_size)
            raise RewriteError(
                f"data segment {i} ends at {end}, beyond the initial size of memory {memory} "
                f"({limits.min} pages = {size} bytes): use --initial {need} or more")


def static_gaps(m, memory: int, *, collect: bool = False) -> dict:
    """The holes between the first and last byte the data segments write:
    their count, bytes and range, and with ``collect`` the list of holes.

    Done with C-level maps over the offset and size columns (esbuild.wasm has
    98,450 segments); segments out of address order are sorted first."""
    offs, sizes = m.view(11, create=True).span_columns(memory)
    pairs = [(o, o + n) for o, n in zip(offs, sizes) if n] if 0 in sizes else None
    if pairs is not None:
        offs, ends = [p[0] for p in pairs], [p[1] for p in pairs]
    else:
        ends = list(map(int.__add__, offs, sizes))
    if not offs:
        return {"count": 0, "bytes": 0, "start": None, "end": None, "gaps": []}
    if list(offs) != sorted(offs):
        order = sorted(range(len(offs)), key=offs.__getitem__)
        offs, ends = [offs[i] for i in order], [ends[i] for i in order]
    reach = list(accumulate(ends, max))  # the highest byte written so far
    holes = list(map(int.__sub__, offs[1:], reach[:-1]))  # > 0: a gap before segment i+1
    count = sum(map((0).__lt__, holes))
    total = sum(map(max, holes, repeat(0, len(holes))))
    gaps = [(reach[i], offs[i + 1]) for i, h in enumerate(holes) if h > 0] if collect else []
    return {"count": count, "bytes": total, "start": offs[0], "end": reach[-1], "gaps": gaps}


def zero_fill(m, memory: int) -> dict:
    """Make the segments of ``memory`` cover the static range with explicit zeros.

    Existing segments keep their indices (passive ones are used by index);
    the zeros come as new segments appended after them, one per gap. Where
    that would pass the 100,000-segment limit, neighbouring gaps are merged
    into one segment that also rewrites the bytes between them with the same
    values, until the count fits.
    """
    gaps = static_gaps(m, memory, collect=True)["gaps"]
    if not gaps:
        return {"segments_added": 0, "zero_bytes": 0}
    view = m.view(11, create=True)
    room = MAX_SEGMENTS - len(view)
    if room < 1:
        raise RewriteError(f"the module already has {len(view)} data segments; "
                           f"no room for zero-fill below the limit of {MAX_SEGMENTS}")
    runs = [list(g) for g in gaps]
    if len(runs) > room:
        # merge across the smallest stretches of real data between gaps
        excess = len(runs) - room
        between = sorted(range(len(runs) - 1), key=lambda k: runs[k + 1][0] - runs[k][1])
        join = set(between[:excess])
        merged = [runs[0]]
        for k in range(1, len(runs)):
            if k - 1 in join:
                merged[-1][1] = runs[k][1]
            else:
                merged.append(runs[k])
        runs = merged
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
    return {"segments_added": added, "zero_bytes": sum(e - s for s, e in gaps)}

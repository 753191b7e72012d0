"""Data-segment rules for rewrites: fitting the initial size, gaps, zero-fill."""

from __future__ import annotations

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


def _covered(m, memory: int) -> list[tuple[int, int]]:
    """Merged [start, end) intervals written by active constant-offset segments."""
    spans = sorted((off, off + n) for off, n, _ in m.view(11, create=True).spans(memory) if n)
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def static_gaps(m, memory: int) -> dict:
    """The holes between the first and last byte the data segments write."""
    cov = _covered(m, memory)
    gaps = [(a[1], b[0]) for a, b in zip(cov, cov[1:])]
    return {
        "count": len(gaps),
        "bytes": sum(e - s for s, e in gaps),
        "start": cov[0][0] if cov else None,
        "end": cov[-1][1] if cov else None,
        "gaps": gaps,
    }


def zero_fill(m, memory: int) -> dict:
    """Make the segments of ``memory`` cover the static range with explicit zeros.

    Existing segments keep their indices (passive ones are used by index);
    the zeros come as new segments appended after them, one per gap. Where
    that would pass the 100,000-segment limit, neighbouring gaps are merged
    into one segment that also rewrites the bytes between them with the same
    values, until the count fits.
    """
    gaps = static_gaps(m, memory)["gaps"]
    if not gaps:
        return {"segments_added": 0, "zero_bytes": 0}
    room = MAX_SEGMENTS - len(m.data)
    if room < 1:
        raise RewriteError(f"the module already has {len(m.data)} data segments; "
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
    template = next((s for s in m.data if s.mode == "active" and s.memory == memory and s.offset is not None), None)
    op = template.offset_expr[0] if template is not None else 0x41
    # one pass over the segments for the whole range, then a slice per run
    lo, hi = runs[0][0], runs[-1][1]
    image = m.read_static(lo, hi - lo, memory)
    segments = m.data
    for s, e in runs:
        segments.append(DataSegment("active", memory, const_expr(s, op), image[s - lo:e - lo], 2 if memory else 0))
    added = len(runs)
    if m.data_count is not None:
        m.data_count = len(m.data)
    return {"segments_added": added, "zero_bytes": sum(e - s for s, e in gaps)}

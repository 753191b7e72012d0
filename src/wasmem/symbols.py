"""Finding the runtime globals (__heap_base, __data_end, __stack_pointer,
__rtti_base, __memory_base): by export, by the name section, or for nameless
asc builds by the positional rule of assemblyscript-static-data.md 8.1."""

from __future__ import annotations

from operator import itemgetter

from .model import address_value

SYMBOLS = ("__heap_base", "__data_end", "__stack_pointer", "__rtti_base", "__memory_base")
I32 = 0x7F


def _align4(n: int) -> int:
    return (n + 3) & ~3


def find_symbols(m) -> dict:
    gl = m.global_rows()  # (valtype, mutable, init, ...) of each global: no objects made
    found: dict = {}

    def put(sym, index, source):
        if sym in found or index >= len(gl):
            return
        value = _value(gl[index])
        if value is None:
            return
        found[sym] = {"value": value, "global": index, "source": source}

    for name, kind, index, _ in m.export_rows():
        if kind == "global" and name in SYMBOLS:
            put(name, index, "export")
    names = m.names
    gnames = names.get("global") if names is not None else None
    if gnames:
        for index, name in gnames.items():
            short = name.rsplit("/", 1)[-1]  # asc writes "~lib/memory/__heap_base"
            if short in SYMBOLS:
                put(short, index, "name")
    if not gnames:
        for sym, index in _positional(m, gl).items():
            put(sym, index, "position")
    return dict(sorted(found.items(), key=lambda kv: SYMBOLS.index(kv[0])))


def global_zero_pointer(m) -> int | None:
    """The initial value of global 0 where it is a defined mutable i32 constant: where
    wasm-ld puts __stack_pointer, for a stripped module that no longer names it (a guess,
    so not among the symbols)."""
    rows = m.global_rows()
    return _value(rows[0]) if rows and _is_const_i32(rows[0], True) else None


def _rtti_end(m, base: int) -> list[int]:
    """Possible ends of an RTTI table at ``base`` (4-byte or 8-byte entries)."""
    count = int.from_bytes(m.read_static(base, 4), "little")
    if count > 1 << 20:
        return []
    return [base + 4 + 4 * count, base + 4 + 8 * count]


def _value(row) -> int | None:
    """The address a global row's init holds (a constant read as unsigned, as the memory
    takes it; None for an imported global or another init)."""
    return address_value(row[2])


def _is_const_i32(row, mutable=None) -> bool:
    return row[0] == I32 and (mutable is None or row[1] == mutable) and _value(row) is not None


def _before_appended(gl, exported) -> int:
    """The last global before those add-data appends (exported immutable i32 constants,
    ``_is_const_i32(row, False)``): walking back from the last global, but not to 0."""
    last = first = len(gl) - 1
    while first > 0 and first in exported:
        first -= 1
    if first < last and _immutable_i32_constants(gl[first + 1:]):
        return first
    while last > 0 and last in exported and _is_const_i32(gl[last], False):
        last -= 1
    return last


_HIGH = bytes(range(0x80, 0x100))


def _immutable_i32_constants(rows) -> bool:
    """Whether every row is an immutable i32 global initialized by ``i32.const N end``, in
    whole-list steps (add-data appends a global per object: 110,000 of them): each init
    is 0x41, one LEB whose bytes but the last carry the continuation bit (each init's
    LEB ends on a byte without it, and there are no other such bytes), and end. Where
    this holds, so does ``_is_const_i32(row, False)`` for each row; where not, that rule
    decides row by row (it also takes an i64.const init)."""
    k = len(rows)
    try:
        if bytes(map(_FIRST, rows)) != b"\x7f" * k or any(map(_SECOND, rows)):
            return False
    except (TypeError, ValueError):  # (a reference type with a heap type is a tuple)
        return False
    inits = list(map(_THIRD, rows))
    if min(map(len, inits)) < 3 or max(map(len, inits)) > 7:  # (an i32 LEB has 1 to 5 bytes)
        return False
    if bytes(map(_FIRST, inits)) != b"\x41" * k or bytes(map(_LAST, inits)) != b"\x0b" * k:
        return False
    ends = bytes(map(_BEFORE_LAST, inits))
    lebs = b"".join(map(_LEB, inits))
    return len(ends.translate(None, _HIGH)) == k == len(lebs.translate(None, _HIGH))


_FIRST, _SECOND, _THIRD, _LAST, _BEFORE_LAST = map(itemgetter, (0, 1, 2, -1, -2))
_LEB = itemgetter(slice(1, -1))


def _positional(m, gl) -> dict:
    """asc adds these globals last: [__rtti_base] [__data_end] [__stack_pointer] [__heap_base],
    each only when needed, optionally followed by ``~started``. Accept only shapes that
    check out against the data segments and the RTTI table."""
    # globals that wasmem add-data appended (exported immutable constants) come after them
    exported = {index for _, kind, index, _ in m.export_rows() if kind == "global"}
    last = _before_appended(gl, exported)
    # add-data puts its objects right after the module's own static data, which ends with
    # the RTTI table, and moves __data_end and __heap_base past them: the table then ends
    # at or below the first appended object's address (each is past where add-data began),
    # below the moved limit, not at it. (The first global's value: 110,000 are not read.)
    low = _value(gl[last + 1]) if last + 1 < len(gl) else None
    # an optional trailing `~started` (mutable i32 = 0)
    ends = [last]
    if last >= 1 and _is_const_i32(gl[last], True) and _value(gl[last]) == 0:
        ends.append(last - 1)
    _, top = m.view(11, create=True).extent(0)
    data_end = None if top is None else _align4(top)
    for h in ends:
        if h < 0 or not _is_const_i32(gl[h], False):
            continue
        heap = _value(gl[h])
        out = {}
        i = h - 1
        # shadow stack: __stack_pointer (the only mutable one) == __heap_base
        if i >= 0 and _is_const_i32(gl[i], True) and _value(gl[i]) == heap:
            out["__stack_pointer"] = i
            i -= 1
            if i >= 0 and _is_const_i32(gl[i], False) and _value(gl[i]) <= heap and (
                    data_end is None or _value(gl[i]) in (data_end, 8) or _value(gl[i]) >= data_end):
                out["__data_end"] = i
                i -= 1
        if i >= 0 and _is_const_i32(gl[i], False):
            r = _value(gl[i])
            limit = _value(gl[out["__data_end"]]) if "__data_end" in out else heap
            if r % 16 == 0 and any(_align4(e) == limit or (low is not None and _align4(e) <= low < limit)
                                   for e in _rtti_end(m, r)):
                out["__rtti_base"] = i
        if "__stack_pointer" in out or "__rtti_base" in out:
            out["__heap_base"] = h
            return out
    return {}

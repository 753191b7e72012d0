"""Typed views of sections: each decodes its payload and encodes it back.

A view remembers which entries it was decoded with; ``changed`` is true once the
list or any entry differs, and only then is the section re-encoded (count and
changed entries canonical, unchanged entries copied raw). Views are chosen from
``VIEWS`` by section id (custom sections by name), never by an if/elif chain.
"""

from __future__ import annotations

import operator
import warnings
from itertools import repeat, starmap

from .binary import entries as E
from .binary.fast import read_exports, read_globals, records, scan_data
from .binary.leb import encode_u, read_u32
from .errors import DecodeError, WasmWarning
from .model import DataSegment, Export, Global, Import, Limits, Memory


class VectorView:
    """A section that is a vector of entries.

    Entries may also be appended as their encodings (``extend_encoded``): add-data gives
    110,000 globals and exports that nothing reads before they are written, so they stay
    bytes until someone asks for ``entries``, which reads them back into objects."""

    section_id: int
    reader = None  # binary.entries reader of one entry

    def __init__(self, entries=None):
        self._entries = list(entries or [])
        self._original = [id(e) for e in self._entries]
        self._tail: list = []  # encodings appended after the entries, not made into objects yet

    @property
    def entries(self) -> list:
        if self._tail:  # read back what was appended as bytes: the entries are the truth from here on
            tail, self._tail = self._tail, []
            self._entries.extend(type(self).decode(encode_u(len(tail)) + b"".join(tail), 0).entries)
        return self._entries

    def extend_encoded(self, encodings: list) -> None:
        """Append entries given as their encodings (each what ``encode()`` of the entry gives)."""
        self._tail.extend(encodings)

    @property
    def changed(self) -> bool:
        if self._tail or len(self._entries) != len(self._original):
            return True
        return any(id(e) != o or e.changed for e, o in zip(self._entries, self._original))

    @classmethod
    def decode(cls, payload, base: int):
        what = cls.__name__[:-4].lower() + "s"
        # a copy of the payload, not a view of the file: each entry's raw slice is bytes at once
        return cls(E.read_vector(bytes(payload), base, cls.reader, what, cls.entry))

    def encode(self) -> bytes:
        return (encode_u(len(self)) + b"".join(e.encode() for e in self._entries) + b"".join(self._tail))

    def __len__(self):
        return len(self._entries) + len(self._tail)


class ImportGroup:
    """A compact import group as read: its bytes and its imports, in order."""

    __slots__ = ("raw", "members")

    def __init__(self, raw: bytes):
        self.raw, self.members = raw, []


class ImportView(VectorView):
    """The imports, one entry each, compact groups (a proposal) included. A changed section
    writes a group back as it was while its imports are all there, unchanged and in order,
    and otherwise its imports one by one in the single-item encoding (each entry's raw bytes
    are that encoding)."""

    section_id = 2

    @classmethod
    def decode(cls, payload, base: int):
        data = bytes(payload)
        entries, groups = [], {}
        for v, raw, span in E.read_imports(data, base):
            e = cls.entry(v, raw)
            if span is not None:
                group = groups.get(span)
                if group is None:
                    group = groups[span] = ImportGroup(data[span[0]:span[1]])
                group.members.append(e)
                object.__setattr__(e, "_group", group)
            entries.append(e)
        return cls(entries)

    def encode(self) -> bytes:
        entries = self.entries
        out = []
        i = 0
        while i < len(entries):
            group = entries[i]._group
            if group is not None and _whole(group.members, entries, i):
                out.append(group.raw)
                i += len(group.members)
            else:
                out.append(entries[i].encode())
                i += 1
        return encode_u(len(out)) + b"".join(out)

    @staticmethod
    def entry(v, raw):
        module, name, kind, desc, t = v  # (t: the type's own bytes, after module, name and kind)
        if kind == "memory":
            desc = Memory(Limits.from_tuple(desc), _raw=t)
        elif kind == "global":
            desc = Global(desc[0], desc[1], None, _raw=t, _type_raw=t)
        return Import(module, name, kind, desc, _raw=raw)


def _whole(members: list, entries: list, i: int) -> bool:
    """Whether ``entries`` holds a group's ``members`` from ``i`` on, each unchanged."""
    here = entries[i:i + len(members)]
    return (len(here) == len(members) and all(map(operator.is_, here, members))
            and not any(m.changed for m in members))


class MemoryView(VectorView):
    section_id = 5
    reader = staticmethod(lambda buf, pos: E.read_limits(buf, pos, E.MEMORY_FLAGS, "memory"))

    @staticmethod
    def entry(v, raw, start):
        return Memory(Limits.from_tuple(v), _raw=raw)


class _RowView(VectorView):
    """A section read by a fast reader (binary/fast.py) into rows, the tuples of what the
    reader gives for each entry (its raw bytes fourth), at once, so that a malformed entry
    raises there; entry objects (the class called with a row) are made only when
    ``entries`` is asked for. ``info`` and the symbol search read the rows:
    a module made by add-data has 110,000 exports and globals, and a row costs a third of
    an object."""

    read = None  # the fast reader: read(payload, base, make), make called with an entry's fields
    make = None  # the entry class, called with a row's fields
    _rows = None  # the decoded rows while no object was made

    @classmethod
    def decode(cls, payload, base: int):
        view = cls()
        view._rows, view._entries, view._original = cls.read(bytes(payload), base, _row), None, None
        return view

    def rows(self) -> list[tuple]:
        """Each entry's row (its raw bytes None where the object was made or changed)."""
        if self._entries is None and not self._tail:
            return list(self._rows)  # (a copy: a caller's edit must not reach the view)
        return list(map(self.row_of, self.entries))

    @property
    def entries(self) -> list:
        if self._entries is None:
            self._entries = list(starmap(self.make, self._rows))
            self._original = [id(e) for e in self._entries]
            self._rows = None
        return VectorView.entries.fget(self)

    @property
    def changed(self) -> bool:
        return bool(self._tail) if self._entries is None else VectorView.changed.fget(self)

    def encode(self) -> bytes:
        if self._entries is None:  # only appended to: the decoded ones go out as read
            return encode_u(len(self)) + b"".join(map(_RAW, self._rows)) + b"".join(self._tail)
        return super().encode()

    def __len__(self):
        return (len(self._rows) if self._entries is None else len(self._entries)) + len(self._tail)


def _row(*fields) -> tuple:
    return fields


_RAW = operator.itemgetter(3)  # (an export's and a global's raw bytes are both fourth)


class GlobalView(_RowView):
    """Rows (valtype, mutable, init, raw, type_raw)."""

    section_id = 6
    read = staticmethod(read_globals)
    make = Global

    @staticmethod
    def row_of(g) -> tuple:
        return g.valtype, g.mutable, g.init, None, None


class ExportView(_RowView):
    """Rows (name, kind, index, raw)."""

    section_id = 7
    read = staticmethod(read_exports)
    make = Export

    @staticmethod
    def row_of(e) -> tuple:
        return e.name, e.kind, e.index, None


class DataView(VectorView):
    """The data section. Decoding keeps the fast scan's columns; DataSegment
    objects are made only when someone asks for ``entries`` (esbuild.wasm has
    98,450 segments and ``info`` needs only their offsets and sizes)."""

    section_id = 11

    def __init__(self, entries=None, scan=None, payload=None, base=0):
        self._entries = None if scan is not None else list(entries or [])
        self._scan = scan
        self._payload = payload
        self._base = base
        self._original = None if scan is not None else [id(e) for e in self._entries]
        self._appended: list = []  # segments added while the others are still only scanned
        self._tail = ()  # (VectorView's tail of encodings: segments are appended as objects)

    @classmethod
    def decode(cls, payload, base: int):
        return cls(scan=scan_data(payload, base), payload=payload, base=base)

    def append(self, segment) -> None:
        """Add a segment at the end, without making objects of the existing ones
        (zero-fill and add-data on a module with 98,450 segments)."""
        if self._entries is not None:
            self._entries.append(segment)
            return
        self._appended.append(segment)
        self.__dict__.pop("_spans", None)

    @property
    def entries(self) -> list:
        if self._entries is None:
            payload, base = self._payload, self._base
            make = DataSegment.decoded
            self._entries = [
                make(flags, memory, payload[es:ee] if flags != 1 else None, payload[ds:de], const,
                     payload[start:end], base + start)
                for start, end, flags, memory, es, ee, const, ds, de in records(self._scan)
            ]
            self._original = [id(e) for e in self._entries]
            self._entries += self._appended
            self._appended = []
        return self._entries

    @entries.setter
    def entries(self, value) -> None:
        self.entries  # noqa: B018 - materialize the originals first
        self._entries = list(value)

    @property
    def changed(self) -> bool:
        return bool(self._appended) or (self._entries is not None and super().changed)

    def __len__(self):
        if self._entries is None:
            return len(self._scan) + len(self._appended)
        return len(self._entries)

    def encode(self) -> bytes:
        if self._entries is None:  # only appended to: the scanned segments go out as read
            _, p = read_u32(self._payload, 0)
            return (encode_u(len(self)) + bytes(self._payload[p:])
                    + b"".join(d.encode() for d in self._appended))
        return super().encode()

    def _segments(self) -> list:
        """The segment objects there are: the appended ones while the rest is only scanned."""
        return self._appended if self._entries is None else self._entries

    def span_table(self, memory: int = 0):
        """(indices, offsets, sizes) of the active segments of ``memory`` with a constant
        offset, in section order, without making segment objects (the scan's own columns
        when every segment is one, so read them, never change them); computed once per
        memory while the scan stands."""
        cache = self.__dict__.setdefault("_spans", {}) if self._entries is None else {}
        if memory not in cache:
            if self._entries is None:
                index, offsets, sizes = self._scan.spans(memory)
                n = len(self._scan)
            else:
                index, offsets, sizes, n = [], [], [], 0
            more = [(n + i, d.offset, d.size) for i, d in enumerate(self._segments())
                    if d.mode == "active" and d.memory == memory and d.offset is not None]
            if more:
                index, offsets, sizes = list(index), list(offsets), list(sizes)
                for i, off, size in more:
                    index.append(i)
                    offsets.append(off)
                    sizes.append(size)
            cache[memory] = index, offsets, sizes
        return cache[memory]

    def spans(self, memory: int = 0) -> list[tuple[int, int, int]]:
        """(offset, size, i) of each active segment of ``memory`` with a constant
        offset, in section order; ``i`` is the segment index."""
        index, offsets, sizes = self.span_table(memory)
        return list(zip(offsets, sizes, index))

    def span_columns(self, memory: int = 0):
        """``spans`` as two sequences, (offsets, sizes)."""
        _, offsets, sizes = self.span_table(memory)
        return offsets, sizes

    def extent(self, memory: int = 0) -> tuple[int | None, int | None]:
        """(first byte, end) written by the active constant-offset segments of
        ``memory`` (None, None when there are none)."""
        if memory == 0 and self._entries is None and not self._appended:
            return self._scan.first, self._scan.end  # summed by the scan
        offsets, sizes = self.span_columns(memory)
        return min(offsets, default=None), max(map(operator.add, offsets, sizes), default=None)

    def runs(self, memory: int = 0):
        """The scan's (runs, touching, run_starts) (see ``fast.Scan``) when they describe
        every active constant-offset segment of ``memory``: memory 0, every segment one of
        those, and none added since (so a run's indices are those of ``span_columns``). Else None."""
        scan = self._scan
        if memory == 0 and self._entries is None and not self._appended and scan.plain:
            return scan.runs, scan.touching, scan.run_starts
        return None

    def segment_data(self, i: int):
        """The bytes of segment ``i`` (a memoryview while nothing was materialized)."""
        if self._entries is None:
            scan = self._scan
            if i >= len(scan):
                return self._appended[i - len(scan)].data
            de = scan.data_end[i]
            return self._payload[de - scan.size[i]:de]
        return self._entries[i].data

    def segment_rows(self) -> list[tuple]:
        """(mode, memory or None, offset or None, size) of every segment, from the scan
        while nothing was materialized (``info --segments`` on 98,450 segments)."""
        rows = []
        if self._entries is None:
            scan = self._scan
            if scan.plain:
                rows = list(zip(repeat("active"), repeat(0), scan.const, scan.size))
            else:
                memory_of = scan.memory
                rows = [("active", m, c, n) if m is not None else ("passive", None, None, n)
                        for m, c, n in zip(map(memory_of, range(len(scan))), scan.const, scan.size)]
        return rows + [(d.mode, d.memory if d.mode == "active" else None, d.offset, d.size)
                       for d in self._segments()]

    def paint(self, out: bytearray, address: int, memory: int = 0) -> None:
        """Write into ``out`` (memory from ``address`` on) what the active constant-offset
        segments of ``memory`` put there, in section order (a later segment wins)."""
        end = address + len(out)
        index, offsets, sizes = self.span_table(memory)
        if self._entries is None:  # the first n segments are only scanned: bytes from the payload
            n, data_start, payload = len(self._scan), self._scan.data_start, self._payload
        else:
            n, data_start, payload = 0, None, None
        objects = self._segments()
        for i, off, size in zip(index, offsets, sizes):
            if off < end and off + size > address:
                s = off if off > address else address
                e = off + size if off + size < end else end
                if i < n:
                    ds = data_start[i] - off
                    out[s - address:e - address] = payload[ds + s:ds + e]
                else:
                    out[s - address:e - address] = objects[i - n].data[s - off:e - off]

    def stats(self) -> dict:
        if self._entries is None:
            passive = self._scan.passive()
            total = self._scan.total
        else:
            passive = total = 0
        passive += sum(1 for d in self._segments() if d.mode == "passive")
        total += sum(d.size for d in self._segments())
        n = len(self)
        return {"count": n, "active": n - passive, "passive": passive, "bytes": total}


class DataCountView:
    section_id = 12

    def __init__(self, count: int, raw: bytes | None = None):
        self.count = count
        self._raw = raw
        self._orig = count

    @property
    def changed(self) -> bool:
        return self.count != self._orig or self._raw is None

    what = "data count"

    @classmethod
    def decode(cls, payload, base: int):
        try:
            n, p = read_u32(payload, 0)
        except DecodeError as e:
            raise DecodeError(e.message, base + e.offset) from None
        if p != len(payload):
            raise DecodeError(f"section size mismatch: {len(payload) - p} bytes left over after the {cls.what}",
                              base + p)
        return cls(n, bytes(payload))

    def encode(self) -> bytes:
        return self._raw if not self.changed else encode_u(self.count)


class StartView(DataCountView):
    section_id = 8
    what = "start index"

    @property
    def function(self) -> int:
        return self.count


class NameView:
    """The ``name`` custom section: subsections decoded on demand, unknown ones kept raw.

    A name section that does not decode is kept raw with a warning, as tools do.
    """

    KINDS = {kind: sid for sid, (kind, _, _) in E.NAME_SUBSECTIONS.items()}

    def __init__(self, name_header: bytes, subsections, base: int):
        self._header = name_header  # the custom section's name field ("name")
        self.subsections = subsections  # list of [id, raw header, payload, decoded or None, offset]
        self._base = base
        self._changed = False

    @property
    def changed(self) -> bool:
        return self._changed

    @classmethod
    def decode(cls, payload, base: int):
        n, p = read_u32(payload, 0)  # the section's own name, checked when framing
        p += n
        header = bytes(payload[:p])
        subs = []
        try:
            while p < len(payload):
                start = p
                sid = payload[p]
                size, q = read_u32(payload, p + 1)
                if q + size > len(payload):
                    raise DecodeError(f"name subsection {sid} runs past the end of the name section", base + p + 1)
                subs.append([sid, bytes(payload[start:q]), payload[q:q + size], None, base + q])
                p = q + size
        except (DecodeError, IndexError) as e:
            warnings.warn(f"name section is malformed and kept as is: {e}", WasmWarning, stacklevel=2)
            return None
        return cls(header, subs, base)

    def _find(self, kind: str):
        sid = self.KINDS[kind]
        for sub in self.subsections:
            if sub[0] == sid:
                return sub
        return None

    def get(self, kind: str):
        """Decoded subsection: a str for "module", a dict index -> name (or
        index -> dict for local/label/field), or None when absent or broken."""
        sub = self._find(kind)
        if sub is None:
            return None
        if sub[3] is None:
            _, reader, _ = E.NAME_SUBSECTIONS[sub[0]]
            payload = sub[2]
            try:
                value, p = reader(payload, 0)
                if p != len(payload):
                    raise DecodeError(f"{len(payload) - p} bytes left over after the {kind} names", p)
            except DecodeError as e:
                e = DecodeError(e.message, sub[4] + (e.offset or 0))
                warnings.warn(f"{kind} names in the name section are malformed and kept as is: {e}",
                              WasmWarning, stacklevel=2)
                return None
            sub[3] = value
        return sub[3]

    def set(self, kind: str, value) -> None:
        """Replace (or add) a subsection; ``value`` as ``get`` returns it."""
        sid = self.KINDS[kind]
        _, _, writer = E.NAME_SUBSECTIONS[sid]
        payload = writer(value)
        new = [sid, bytes((sid,)) + encode_u(len(payload)), payload, value, None]
        sub = self._find(kind)
        if sub is not None:
            sub[:] = new
        else:  # keep subsections in id order
            i = 0
            while i < len(self.subsections) and self.subsections[i][0] < sid:
                i += 1
            self.subsections.insert(i, new)
        self._changed = True

    def encode(self) -> bytes:
        return self._header + b"".join(bytes(s[1]) + bytes(s[2]) for s in self.subsections)


VIEWS = {
    2: ImportView,
    5: MemoryView,
    6: GlobalView,
    7: ExportView,
    8: StartView,
    11: DataView,
    12: DataCountView,
    "name": NameView,
}

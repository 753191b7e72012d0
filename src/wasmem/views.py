"""Typed views of sections: each decodes its payload and encodes it back.

A view remembers which entries it was decoded with; ``changed`` is true once the
list or any entry differs, and only then is the section re-encoded (count and
changed entries canonical, unchanged entries copied raw). Views are chosen from
``VIEWS`` by section id (custom sections by name), never by an if/elif chain.
"""

from __future__ import annotations

import warnings

from .binary import entries as E
from .binary.fast import FIELDS, NO_CONST, records, scan_data
from .binary.leb import encode_u, read_u32
from .errors import DecodeError, WasmWarning
from .model import DataSegment, Export, Global, Import, Limits, Memory


class VectorView:
    """A section that is a vector of entries."""

    section_id: int
    reader = None  # binary.entries reader of one entry

    def __init__(self, entries=None):
        self.entries = list(entries or [])
        self._original = [id(e) for e in self.entries]

    @property
    def changed(self) -> bool:
        if len(self.entries) != len(self._original):
            return True
        return any(id(e) != o or e.changed for e, o in zip(self.entries, self._original))

    @classmethod
    def decode(cls, payload, base: int):
        what = cls.__name__[:-4].lower() + "s"
        return cls([cls.entry(v, bytes(raw), off)
                    for v, raw, off in E.read_vector(payload, base, cls.reader, what)])

    def encode(self) -> bytes:
        return encode_u(len(self.entries)) + b"".join(e.encode() for e in self.entries)

    def __len__(self):
        return len(self.entries)


class ImportView(VectorView):
    section_id = 2
    reader = staticmethod(E.read_import)

    @staticmethod
    def entry(v, raw, start):
        module, name, kind, desc, desc_start = v
        if kind in ("memory", "global"):
            t = raw[desc_start - start:]  # the type's own bytes, after module, name and kind
            if kind == "memory":
                desc = Memory(Limits.from_tuple(desc), _raw=t)
            else:
                desc = Global(desc[0], desc[1], None, _raw=t, _type_raw=t)
        return Import(module, name, kind, desc, _raw=raw)


class MemoryView(VectorView):
    section_id = 5
    reader = staticmethod(lambda buf, pos: E.read_limits(buf, pos, E.MEMORY_FLAGS, "memory"))

    @staticmethod
    def entry(v, raw, start):
        return Memory(Limits.from_tuple(v), _raw=raw)


class GlobalView(VectorView):
    section_id = 6
    reader = staticmethod(E.read_global)

    @staticmethod
    def entry(v, raw, start):
        (vt, mutable), init = v
        return Global(vt, mutable, init, _raw=raw, _type_raw=raw[: len(raw) - len(init)])


class ExportView(VectorView):
    section_id = 7
    reader = staticmethod(E.read_export)

    @staticmethod
    def entry(v, raw, start):
        return Export(*v, _raw=raw)


class DataView(VectorView):
    """The data section. Decoding keeps the fast scan's tuples; DataSegment
    objects are made only when someone asks for ``entries`` (esbuild.wasm has
    98,450 segments and ``info`` needs only their offsets and sizes)."""

    section_id = 11

    def __init__(self, entries=None, scan=None, payload=None, base=0):
        self._entries = None if scan is not None else list(entries or [])
        self._scan = None if scan is None else scan.flat
        self._totals = scan  # the scan's extent of memory 0 and byte count
        self._payload = payload
        self._base = base
        self._original = None if scan is not None else [id(e) for e in self._entries]
        self._appended: list = []  # segments added while the others are still only scanned

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
        for cache in ("_spans", "_columns", "_extent"):
            self.__dict__.pop(cache, None)

    def _appended_spans(self, memory: int):
        n = len(self._scan) // FIELDS
        return [(d.offset, d.size, n + i) for i, d in enumerate(self._appended)
                if d.mode == "active" and d.memory == memory and d.offset is not None]

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
            return len(self._scan) // FIELDS + len(self._appended)
        return len(self._entries)

    def encode(self) -> bytes:
        if self._entries is None:  # only appended to: the scanned segments go out as read
            _, p = read_u32(self._payload, 0)
            return (encode_u(len(self)) + bytes(self._payload[p:])
                    + b"".join(d.encode() for d in self._appended))
        return super().encode()

    def spans(self, memory: int = 0) -> list[tuple[int, int, int]]:
        """(offset, size, i) of each active segment of ``memory`` with a constant
        offset, without making segment objects; ``i`` is the segment index."""
        if self._entries is None:  # the scan never changes: compute once per memory
            cache = self.__dict__.setdefault("_spans", {})
            if memory not in cache:
                flat = self._scan
                cache[memory] = [(flat[i + 5], flat[i + 2], i // FIELDS)
                                 for i in range(0, len(flat), FIELDS)
                                 if flat[i + 7] in (0, 2) and flat[i + 6] == memory]
                cache[memory] += self._appended_spans(memory)
            return cache[memory]
        return [(d.offset, d.size, i) for i, d in enumerate(self._entries)
                if d.mode == "active" and d.memory == memory and d.offset is not None]

    def iter_spans(self, memory: int = 0):
        """(offset, size) of each active constant-offset segment of ``memory``,
        in section order, computed on the fly (no list)."""
        if self._entries is None:
            flat = self._scan
            for i in range(0, len(flat), FIELDS):
                if flat[i + 6] == memory and flat[i + 7] in (0, 2):
                    yield flat[i + 5], flat[i + 2]
            for off, size, _ in self._appended_spans(memory):
                yield off, size
        else:
            for d in self._entries:
                if d.mode == "active" and d.memory == memory and d.offset is not None:
                    yield d.offset, d.size

    def span_columns(self, memory: int = 0):
        """``iter_spans`` as two sequences (offsets, sizes); made with C-speed
        slices of the scan when every segment is active in ``memory``."""
        if self._entries is None:  # the scan never changes: compute once per memory
            cache = self.__dict__.setdefault("_columns", {})
            if memory not in cache:
                flat = self._scan
                n = len(flat) // FIELDS
                kinds = flat[7::FIELDS]
                if (not self._appended and flat[6::FIELDS].count(memory) == n
                        and kinds.count(0) + kinds.count(2) == n):
                    cache[memory] = flat[5::FIELDS], flat[2::FIELDS]
                else:
                    pairs = list(self.iter_spans(memory))
                    cache[memory] = [p[0] for p in pairs], [p[1] for p in pairs]
            return cache[memory]
        pairs = list(self.iter_spans(memory))
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def extent(self, memory: int = 0) -> tuple[int | None, int | None]:
        """(first byte, end) written by the active constant-offset segments of
        ``memory`` (None, None when there are none); computed once per scan."""
        if memory == 0 and self._entries is None and not self._appended:
            return self._totals.first, self._totals.end
        cache = self.__dict__.setdefault("_extent", {}) if self._entries is None else {}
        if memory not in cache:
            offsets, sizes = self.span_columns(memory)
            cache[memory] = (min(offsets, default=None), max([o + n for o, n in zip(offsets, sizes)], default=None))
        return cache[memory]

    def segment_data(self, i: int):
        """The bytes of segment ``i`` (a memoryview while nothing was materialized)."""
        if self._entries is None:
            flat = self._scan
            n = len(flat) // FIELDS
            if i >= n:
                return self._appended[i - n].data
            ds = flat[i * FIELDS + 1]
            return self._payload[ds:ds + flat[i * FIELDS + 2]]
        return self._entries[i].data

    def segment_rows(self) -> list[tuple]:
        """(mode, memory or None, offset or None, size) of every segment, from the scan
        while nothing was materialized (``info --segments`` on 98,450 segments)."""
        rows = []
        if self._entries is None:
            flat = self._scan
            put = rows.append
            for i in range(0, len(flat), FIELDS):
                kind = flat[i + 7]
                if kind == 1 + NO_CONST:  # passive
                    put(("passive", None, None, flat[i + 2]))
                else:
                    put(("active", flat[i + 6], flat[i + 5] if kind < NO_CONST else None, flat[i + 2]))
        objects = self._appended if self._entries is None else self._entries
        return rows + [(d.mode, d.memory if d.mode == "active" else None, d.offset, d.size) for d in objects]

    def paint(self, out: bytearray, address: int, memory: int = 0) -> None:
        """Write into ``out`` (memory from ``address`` on) what the active constant-offset
        segments of ``memory`` put there, in section order (a later segment wins)."""
        end = address + len(out)
        if self._entries is None:  # straight from the scan: no span list, no slices of unused data
            flat, payload = self._scan, self._payload
            for i in range(0, len(flat), FIELDS):
                off, n = flat[i + 5], flat[i + 2]
                if off < end and off + n > address and flat[i + 6] == memory and flat[i + 7] in (0, 2):
                    s = off if off > address else address
                    e = off + n if off + n < end else end
                    ds = flat[i + 1] - off
                    out[s - address:e - address] = payload[ds + s:ds + e]
        for d in self._appended if self._entries is None else self._entries:
            off = d.offset
            if d.mode == "active" and d.memory == memory and off is not None:
                s, e = max(off, address), min(off + d.size, end)
                if s < e:
                    out[s - address:e - address] = d.data[s - off:e - off]

    def stats(self) -> dict:
        if self._entries is None:  # C-level passes over columns of the scan
            flat = self._scan
            passive = flat[7::FIELDS].count(1 + NO_CONST)  # a passive segment has no offset
            total = self._totals.total
            passive += sum(1 for d in self._appended if d.mode == "passive")
            total += sum(d.size for d in self._appended)
        else:
            passive = sum(1 for d in self._entries if d.mode == "passive")
            total = sum(d.size for d in self._entries)
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

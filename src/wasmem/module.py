"""Module: a wasm module as sections in file order, with typed views on demand.

``Module.from_bytes`` only frames the sections; the import, memory, global,
export, start, data, data-count and name views are decoded on first access and
cached on their section. ``to_bytes`` writes every section whose view did not
change exactly as it was read, and re-encodes the others. The memory and data
paths never decode code.
"""

from __future__ import annotations

from .binary.leb import read_u32
from .binary.sections import (
    MAGIC,
    CORE_VERSION,
    VECTOR_SECTIONS,
    RawSection,
    insert_position,
    section_header,
    split_sections,
)
from .errors import DecodeError, WasmError
from .fileio import map_file, write_atomic


class Module:
    def __init__(self, sections: list[RawSection], data=None):
        self._sections = sections
        self._data = data  # the input buffer the payload views point into
        self._file = None  # the open file ``data`` maps, when from_file mapped it

    # -- reading and writing -----------------------------------------------------

    @classmethod
    def from_bytes(cls, data, *, strict: bool = False) -> "Module":
        """Frame a module. With ``strict``, decode every modelled section and
        every function body now, so that any malformed part raises here."""
        if isinstance(data, bytearray):  # views into it would pin it (and see later edits)
            data = bytes(data)
        elif not isinstance(data, (bytes, memoryview)):
            raise TypeError(f"expected bytes, not {type(data).__name__}")
        m = cls(split_sections(data), data)
        if strict:
            m.check()
        return m

    @classmethod
    def from_file(cls, path, *, mapped: bool = False, **kwargs) -> "Module":
        """Read a module from a file. With ``mapped``, map the file instead of reading
        it: sections are read from disk when first touched, and ``save`` has the kernel
        copy the unchanged ones. The file must then stay as it is while the module is in
        use (an atomic ``save`` over it is fine: that replaces it, the map keeps the old
        one); truncating it in place would make a later access fail with SIGBUS."""
        f = open(path, "rb")
        try:
            data = map_file(f) if mapped else None
            if data is None:
                return cls.from_bytes(f.read(), **kwargs)
            m = cls.from_bytes(data, **kwargs)
            m._file, f = f, None  # (kept open for save)
            return m
        finally:
            if f is not None:
                f.close()

    def _pieces(self, spans: bool = False):
        """The module's bytes in pieces; with ``spans``, each unchanged section as a
        ``slice`` of the input (the caller merges neighbours)."""
        yield slice(0, 8) if spans else MAGIC + CORE_VERSION
        for sec in self._sections:
            view = sec.view
            if view is None or not (view.changed or sec.new):
                if spans:
                    yield slice(sec.offset - len(sec.header), sec.offset + len(sec.payload))
                else:
                    yield sec.header
                    yield sec.payload
                continue
            if sec.id in VECTOR_SECTIONS and len(view) == 0 and (sec.new or sec.id in (2, 5)):
                # an emptied import or memory section is dropped, as asc does
                continue
            payload = view.encode()
            yield section_header(sec.id, len(payload), sec.header)
            yield payload

    def to_bytes(self) -> bytes:
        return b"".join(self._pieces())

    def save(self, path) -> None:
        """Write the module atomically: a temporary file beside ``path``, then rename.
        A mapped module's unchanged stretches are copied by the kernel, file to file."""
        if self._file is None:
            write_atomic(path, list(self._pieces()))  # encode everything before touching the disk
            return
        pieces: list = []
        for p in self._pieces(spans=True):
            if p.__class__ is slice and pieces and pieces[-1].__class__ is slice and pieces[-1].stop == p.start:
                pieces[-1] = slice(pieces[-1].start, p.stop)
            else:
                pieces.append(p)
        write_atomic(path, pieces, source=(self._file, self._data))

    # -- sections and views ---------------------------------------------------------

    @property
    def sections(self) -> list[RawSection]:
        return [s for s in self._sections if not s.new]

    def section(self, sid: int, custom_name: str | None = None) -> RawSection | None:
        for s in self._sections:
            if s.id == sid and (custom_name is None or s.custom_name == custom_name):
                return s
        return None

    def view(self, sid: int, create: bool = False):
        """The typed view of section ``sid`` (decoded once), or None if absent.

        With ``create``, an absent section is added (empty) in its place; it is
        written only once it has entries.
        """
        from .views import VIEWS  # the grammar (construct) loads only when a view is needed

        sec = self.section(sid)
        if sec is None:
            if not create:
                return None
            sec = RawSection(sid, b"", None, b"")
            sec.new = True
            sec.view = VIEWS[sid]() if sid != 12 else VIEWS[sid](0, None)
            self._sections.insert(insert_position(self._sections, sid), sec)
            return sec.view
        if sec.view is None:
            sec.view = VIEWS[sid].decode(sec.payload, sec.offset)
        return sec.view

    def replace_payload(self, sid: int, payload: bytes) -> None:
        """Give a section kept raw (code, say) new content; its header is redone."""
        sec = self.section(sid)
        sec.view = _Replaced(payload)

    @property
    def names(self):
        """The name section's view (None when absent or malformed)."""
        sec = self.section(0, "name")
        if sec is None:
            return None
        if sec.view is None:
            from .views import NameView

            sec.view = NameView.decode(sec.payload, sec.offset)
            if sec.view is None:  # malformed: keep raw, don't try again
                sec.view = _Broken()
        return None if isinstance(sec.view, _Broken) else sec.view

    @property
    def imports(self) -> list:
        return self.view(2, create=True).entries

    @property
    def exports(self) -> list:
        return self.view(7, create=True).entries

    @property
    def data(self) -> list:
        return self.view(11, create=True).entries

    @property
    def defined_memories(self) -> list:
        return self.view(5, create=True).entries

    @property
    def defined_globals(self) -> list:
        return self.view(6, create=True).entries

    @property
    def memories(self) -> list:
        """The memory index space: imported memories first, then defined ones."""
        return [i.desc for i in self.imports if i.kind == "memory"] + self.defined_memories

    @property
    def globals(self) -> list:
        """The global index space: imported globals first, then defined ones."""
        return [i.desc for i in self.imports if i.kind == "global"] + self.defined_globals

    @property
    def data_count(self) -> int | None:
        v = self.view(12)
        return None if v is None else v.count

    @data_count.setter
    def data_count(self, n: int) -> None:
        self.view(12, create=True).count = n

    @property
    def start(self) -> int | None:
        v = self.view(8)
        return None if v is None else v.function

    def count(self, sid: int) -> int | None:
        """The entry count of a vector section, read without decoding it."""
        sec = self.section(sid)
        if sec is None or sid not in VECTOR_SECTIONS:
            return None
        if sid == 2 and sec.view is None:  # (the vector counts a compact group of imports as one)
            self.view(2)
        if sec.view is not None and not sec.new:
            return len(sec.view)
        try:
            return read_u32(sec.payload, 0)[0]
        except DecodeError as e:
            raise DecodeError(e.message, sec.offset + e.offset) from None

    def function_count(self) -> int:
        """Imported plus defined functions (the function index space)."""
        return sum(1 for i in self.imports if i.kind == "func") + (self.count(3) or 0)

    def export_rows(self) -> list[tuple]:
        """(name, kind, index, raw) of each export, in order, without making Export objects
        while none were asked for (``exports`` makes them)."""
        return self.view(7, create=True).rows()

    def global_rows(self) -> list[tuple]:
        """(valtype, mutable, init, raw, type_raw) of each global of the index space, imported
        ones first (init and the raw bytes None), without making Global objects while none
        were asked for (``globals`` makes them)."""
        imported = [(i.desc.valtype, i.desc.mutable, None, None, None) for i in self.imports if i.kind == "global"]
        return imported + self.view(6, create=True).rows()

    def exports_of(self, kind: str, index: int) -> list[str]:
        return [name for name, k, i, _ in self.export_rows() if k == kind and i == index]

    # -- checks ---------------------------------------------------------------------

    def check(self) -> None:
        """Decode every modelled section and function body; check the counts
        that tie sections together. Raises DecodeError at the first problem."""
        for sid in (2, 5, 6, 7, 8, 11, 12):
            self.view(sid)
        self.names
        code = self.section(10)
        if code is not None:
            from .binary import code as codec

            bodies = codec.check_code_section(code.payload, code.offset)
            if self.section(12) is None:
                _check_data_count_needed(bodies, code.payload)
        nfuncs, nbodies = self.count(3), self.count(10)
        if (nfuncs or 0) != (nbodies or 0):
            sec = self.section(10) or self.section(3)
            raise DecodeError(f"function and code section have inconsistent lengths ({nfuncs} and {nbodies})",
                              sec.offset)
        dc = self.data_count
        if dc is not None and dc != len(self.data):
            raise DecodeError(f"data count and data section have inconsistent lengths ({dc} and {len(self.data)})",
                              self.section(12).offset)

    # -- derived facts ---------------------------------------------------------------

    def read_static(self, address: int, size: int, memory: int = 0) -> bytes:
        """The initial bytes of ``memory`` at [address, address+size) as the
        active constant-offset data segments lay them (zeros elsewhere)."""
        out = bytearray(size)
        self.view(11, create=True).paint(out, address, memory)
        return bytes(out)

    def symbols(self) -> dict:
        """What can be found of the runtime globals (interface.md, `info`)."""
        from .symbols import find_symbols

        return find_symbols(self)

    def info(self, segments: bool = False, columns: bool = False) -> dict:
        from .info import module_info

        return module_info(self, segments=segments, columns=columns)


def _check_data_count_needed(bodies, payload) -> None:
    """memory.init and data.drop need a data count section (a decoding rule:
    the binary must say how many segments there are before the code)."""
    raw = bytes(payload)
    if b"\xfc\x08" not in raw and b"\xfc\x09" not in raw:  # cheap: neither byte pair anywhere
        return
    for body in bodies:
        if b"\xfc\x08" not in bytes(body.raw) and b"\xfc\x09" not in bytes(body.raw):
            continue
        for ins in body.instructions():
            if ins.name in ("memory.init", "data.drop"):
                raise DecodeError(f"data count section required: {ins.name} in function {body.index}",
                                  ins.offset)


class _Broken:
    changed = False


class _Replaced:
    """A raw section whose payload a rewrite replaced."""

    changed = True

    def __init__(self, payload: bytes):
        self.payload = payload

    def encode(self) -> bytes:
        return self.payload

    def __len__(self):
        return 1


__all__ = ["Module", "WasmError"]

"""Framing: a module's header and its sections, in file order, undecoded.

This is the only place that knows the preamble, the section header and the
ordering rules of the core spec. Payloads are memoryview slices of the input,
never copies.
"""

from __future__ import annotations

from ..errors import DecodeError
from .entries import read_name
from .leb import encode_u, read_u32

MAGIC = b"\x00asm"
CORE_VERSION = b"\x01\x00\x00\x00"

SECTION_NAMES = {
    0: "custom",
    1: "type",
    2: "import",
    3: "function",
    4: "table",
    5: "memory",
    6: "global",
    7: "export",
    8: "start",
    9: "element",
    10: "code",
    11: "data",
    12: "datacount",
    13: "tag",
}

# The order non-custom sections must appear in (tag sits between memory and global).
SECTION_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)
_RANK = {sid: i for i, sid in enumerate(SECTION_ORDER)}

# Sections whose payload starts with the count of a vector.
VECTOR_SECTIONS = frozenset((1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 13))


class RawSection:
    """One section as framed: ``offset`` is the payload's absolute offset.

    ``view`` and ``new`` are Module's bookkeeping: the typed view once decoded,
    and whether the section was added rather than read.
    """

    __slots__ = ("id", "header", "offset", "payload", "custom_name", "view", "new")

    def __init__(self, id: int, header: bytes, offset: int | None, payload, custom_name: str | None = None):
        self.id = id
        self.header = header  # the id byte and the size LEB exactly as read
        self.offset = offset
        self.payload = payload
        self.custom_name = custom_name
        self.view = None
        self.new = False

    def __repr__(self):
        return f"RawSection({self.name}, offset={self.offset}, size={self.size})"

    @property
    def name(self) -> str:
        if self.id == 0:
            return f"custom:{self.custom_name}"
        return SECTION_NAMES[self.id]

    @property
    def size(self) -> int:
        return len(self.payload)

    def to_bytes(self) -> bytes:
        return self.header + bytes(self.payload)


def check_header(data) -> None:
    if len(data) < 8:
        if bytes(data[:4]) != MAGIC[: len(data[:4])]:
            raise DecodeError("not a WebAssembly binary (bad magic number)", 0)
        raise DecodeError("unexpected end of input: file too short for a WebAssembly header", len(data))
    if bytes(data[:4]) != MAGIC:
        raise DecodeError(f"not a WebAssembly binary (magic number {bytes(data[:4]).hex()}, expected 0061736d)", 0)
    version = bytes(data[4:8])
    if version != CORE_VERSION:
        num = int.from_bytes(version[:2], "little")
        layer = int.from_bytes(version[2:4], "little")
        if layer == 1:
            raise DecodeError(
                f"this is a WebAssembly component (version 0x{num:x}, layer 1), not a core module; "
                "wasmem works on core modules",
                4,
            )
        raise DecodeError(f"unknown binary version {version.hex()} (version {num}, layer {layer}); expected 01000000", 4)


def split_sections(data) -> list[RawSection]:
    """Frame every section of a core module, checking sizes and the order rules."""
    check_header(data)
    view = memoryview(data)
    total = len(view)
    sections: list[RawSection] = []
    last_rank = -1
    pos = 8
    while pos < total:
        start = pos
        sid = view[pos]
        if sid not in SECTION_NAMES:
            raise DecodeError(f"malformed section id {sid} (known ids are 0-13)", pos)
        size, p = read_u32(view, pos + 1)
        end = p + size
        if end > total:
            raise DecodeError(
                f"section size mismatch: {SECTION_NAMES[sid]} section declares {size} bytes "
                f"but only {total - p} remain",
                pos + 1,
            )
        payload = view[p:end]
        custom_name = None
        if sid == 0:
            if not size:
                raise DecodeError("unexpected end of input: custom section without a name", p)
            try:
                custom_name, _ = read_name(payload, 0, "custom section name")
            except DecodeError as e:
                raise DecodeError(e.message, p + e.offset) from None
        else:
            rank = _RANK[sid]
            if rank <= last_rank:
                prev = SECTION_ORDER[last_rank]
                what = "duplicate" if prev == sid else "out of order"
                raise DecodeError(
                    f"{what} {SECTION_NAMES[sid]} section (after the {SECTION_NAMES[prev]} section)", start
                )
            last_rank = rank
        sections.append(RawSection(sid, bytes(view[start:p]), p, payload, custom_name))
        pos = end
    return sections


def section_header(sid: int, payload_size: int, old_header: bytes = b"") -> bytes:
    """The header of a re-encoded section: the size LEB keeps the width it was
    read with (some producers pad it to 5 bytes) where the new size fits."""
    width = len(old_header) - 1 if len(old_header) > 1 else None
    return bytes((sid,)) + encode_u(payload_size, width)


def insert_position(sections: list[RawSection], sid: int) -> int:
    """Where a new non-custom section ``sid`` goes: after every section that must precede it.

    Custom sections right before the next known section stay attached to it.
    """
    rank = _RANK[sid]
    pos = 0
    for i, s in enumerate(sections):
        if s.id != 0 and _RANK[s.id] < rank:
            pos = i + 1
    return pos

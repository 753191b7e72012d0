"""The code section: function bodies, instructions, and memory-index remapping.

``split_code_section`` frames the bodies (memoryview slices, no copies);
instructions are decoded on demand from the one table in ``opcodes.py``, each
immediate kind read and written by exactly one pair of functions below
(``_READERS``/``_WRITERS``). The memory rewrites need a single operation,
``remap_memory_indices``: it steps over ordinary instructions with a regex
compiled from the same table, decodes only instructions whose memory index may
change, and returns None when nothing changes so the caller copies the body
(and usually the whole section) raw.

Positions inside this module are relative to the buffer being decoded; every
error leaving it carries the absolute file offset (``base + pos``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Iterator, NamedTuple, Union

from ..errors import DecodeError, UnsupportedError
from . import opcodes as T
from .leb import encode_s, encode_u, read_count, read_s32, read_s33, read_s64, read_u32, read_u64
from .opcodes import OpInfo

if TYPE_CHECKING:
    import re  # (compiled on first use: _compile_run)

MAX_LOCALS = 0xFFFF_FFFF  # the core spec bounds the total local count by 2**32 - 1

# -- immediate values ------------------------------------------------------------


class RefType(NamedTuple):
    """``(ref null? ht)`` written with 0x63/0x64; ``heap`` is an abstract name or a type index."""

    nullable: bool
    heap: str | int


class MemArg(NamedTuple):
    """A memory operand: ``align`` is the log2 exponent, ``offset`` a u64, ``memory`` the index."""

    align: int
    offset: int
    memory: int = 0


class Catch(NamedTuple):
    """One try_table clause: kind is catch, catch_ref, catch_all or catch_all_ref."""

    kind: str
    tag: int | None
    label: int


class Handler(NamedTuple):
    """One resume-table entry: ``(on tag label)`` or ``(on tag switch)``."""

    kind: str
    tag: int
    label: int | None


ValType = Union[str, RefType]
MemoryMapping = Union[dict, Callable[[int], int]]

# -- reading immediates -----------------------------------------------------------
# Each reader takes (buf, pos) and returns (value, new_pos); buf ends where the
# body ends, so running off it is an IndexError, turned into DecodeError by callers.

_CATCH_BY_NAME = {name: (code, tagged) for code, (name, tagged) in T.CATCH_KINDS.items()}
_HANDLER_BY_NAME = {name: (code, labelled) for code, (name, labelled) in T.HANDLER_KINDS.items()}


def _fixed(n: int):
    def read(buf, pos):
        end = pos + n
        if end > len(buf):
            raise IndexError
        return bytes(buf[pos:end]), end

    return read


def _read_byte(buf, pos):
    return buf[pos], pos + 1


def _read_heaptype(buf, pos):
    b = buf[pos]
    name = T.HEAPTYPE_BYTES.get(b)
    if name is not None:
        return name, pos + 1
    if b == 0x65:
        raise UnsupportedError("shared heap types (shared-everything threads) are not supported", pos)
    index, end = read_s33(buf, pos)
    if index < 0:
        raise DecodeError(f"malformed heap type 0x{b:02x}", pos)
    return index, end


def read_valtype(buf, pos: int) -> tuple[ValType, int]:
    """A value type: its name (``i32``, ``funcref``...) or a RefType for 0x63/0x64."""
    b = buf[pos]
    name = T.VALTYPE_BYTES.get(b)
    if name is not None:
        return name, pos + 1
    if b == T.REF_NULL or b == T.REF:
        heap, end = _read_heaptype(buf, pos + 1)
        return RefType(b == T.REF_NULL, heap), end
    raise DecodeError(f"malformed value type 0x{b:02x}", pos)


def _read_blocktype(buf, pos):
    # None for the empty type, a value type, or a non-negative s33 type index
    b = buf[pos]
    if b == T.EMPTY_BLOCK:
        return None, pos + 1
    if b in T.VALTYPE_BYTES or b == T.REF_NULL or b == T.REF:
        return read_valtype(buf, pos)
    index, end = read_s33(buf, pos)
    if index < 0:
        raise DecodeError(f"malformed block type 0x{b:02x}", pos)
    return index, end


def _read_br_table(buf, pos):
    n, pos = read_count(buf, pos, 1)
    labels = []
    for _ in range(n):
        label, pos = read_u32(buf, pos)
        labels.append(label)
    default, pos = read_u32(buf, pos)
    return (tuple(labels), default), pos


def read_valtypes(buf, pos):
    """vec(valtype) as a tuple (select's types; a function type's params and results)."""
    n, pos = read_count(buf, pos, 1)
    types = []
    for _ in range(n):
        t, pos = read_valtype(buf, pos)
        types.append(t)
    return tuple(types), pos


def _memarg_fields(buf, pos):
    """``(align, memory, offset, offset_pos, end)``: the one reading of the memarg rule.

    Flags bit 6 set means a memory index follows the flags (multi-memory); the
    rest of the flags is the alignment exponent, below 64. The offset is a u64
    (memory64; a 32-bit memory's bound is the validator's business).
    """
    at = pos
    flags, pos = read_u32(buf, pos)
    memory = 0
    if flags & 0x40:
        flags ^= 0x40
        memory, pos = read_u32(buf, pos)
    if flags >= 0x40:
        raise DecodeError(f"malformed memop flags: alignment exponent {flags} too large", at)
    b = buf[pos]
    if b < 0x80:  # the common one-byte offset, without the general reader's loop
        return flags, memory, b, pos, pos + 1
    offset, end = read_u64(buf, pos)
    return flags, memory, offset, pos, end


def _read_memarg(buf, pos):
    align, memory, offset, _, end = _memarg_fields(buf, pos)
    return MemArg(align, offset, memory), end


def _read_cast_flags(buf, pos):
    b = buf[pos]
    if b > 3:
        raise DecodeError(f"invalid cast flags 0x{b:02x}", pos)
    return b, pos + 1


def _read_catches(buf, pos):
    n, pos = read_count(buf, pos, 2)
    out = []
    for _ in range(n):
        kind = buf[pos]
        entry = T.CATCH_KINDS.get(kind)
        if entry is None:
            raise DecodeError(f"malformed try_table catch kind 0x{kind:02x}", pos)
        pos += 1
        tag = None
        if entry[1]:
            tag, pos = read_u32(buf, pos)
        label, pos = read_u32(buf, pos)
        out.append(Catch(entry[0], tag, label))
    return tuple(out), pos


def _read_resume_table(buf, pos):
    n, pos = read_count(buf, pos, 2)
    out = []
    for _ in range(n):
        kind = buf[pos]
        entry = T.HANDLER_KINDS.get(kind)
        if entry is None:
            raise DecodeError(f"malformed resume handler kind 0x{kind:02x}", pos)
        tag, pos = read_u32(buf, pos + 1)
        label = None
        if entry[1]:
            label, pos = read_u32(buf, pos)
        out.append(Handler(entry[0], tag, label))
    return tuple(out), pos


def _read_zero_byte(buf, pos):
    if buf[pos] != 0:
        raise UnsupportedError(f"atomic.fence with flags 0x{buf[pos]:02x} is not supported", pos)
    return 0, pos + 1


_READERS: dict[str, Callable] = {kind: read_u32 for kind in T.INDEX_KINDS}
_READERS.update({
    T.MEMARG: _read_memarg,
    T.LANE: _read_byte,
    T.BLOCKTYPE: _read_blocktype,
    T.BR_TABLE: _read_br_table,
    T.I32: read_s32,
    T.I64: read_s64,
    T.F32: _fixed(4),
    T.F64: _fixed(8),
    T.V128: _fixed(16),
    T.SHUFFLE: _fixed(16),
    T.VALTYPES: read_valtypes,
    T.HEAPTYPE: _read_heaptype,
    T.CAST_FLAGS: _read_cast_flags,
    T.CATCHES: _read_catches,
    T.RESUME_TABLE: _read_resume_table,
    T.ZERO_BYTE: _read_zero_byte,
})

# -- writing immediates (canonical: minimal LEBs) -----------------------------------


def _write_heaptype(heap) -> bytes:
    if isinstance(heap, str):
        return bytes((T.HEAPTYPE_CODES[heap],))
    if heap < 0:
        raise ValueError(f"negative type index {heap}")
    return encode_s(heap)


def write_valtype(t: ValType) -> bytes:
    if isinstance(t, RefType):
        return bytes((T.REF_NULL if t.nullable else T.REF,)) + _write_heaptype(t.heap)
    return bytes((T.VALTYPE_CODES[t],))


def _write_blocktype(bt) -> bytes:
    if bt is None:
        return bytes((T.EMPTY_BLOCK,))
    if isinstance(bt, int):
        if bt < 0:
            raise ValueError(f"negative block type index {bt}")
        return encode_s(bt)
    return write_valtype(bt)


def _memarg_head(align: int, memory: int) -> bytes:
    """Flags and memory index, canonical: memory 0 is written without the index."""
    if not 0 <= align < 0x40:
        raise ValueError(f"alignment exponent {align} out of range")
    return encode_u(align | 0x40) + encode_u(memory) if memory else encode_u(align)


def _write_memarg(m: MemArg) -> bytes:
    return _memarg_head(m.align, m.memory) + encode_u(m.offset)


def _write_fixed(n: int):
    def write(value) -> bytes:
        if len(value) != n:
            raise ValueError(f"expected {n} bytes, got {len(value)}")
        return bytes(value)

    return write


def _write_byte(v: int) -> bytes:
    return bytes((v,))


def _write_br_table(v) -> bytes:
    labels, default = v
    return encode_u(len(labels)) + b"".join(encode_u(x) for x in labels) + encode_u(default)


def _write_catches(catches) -> bytes:
    out = [encode_u(len(catches))]
    for c in catches:
        code, tagged = _CATCH_BY_NAME[c.kind]
        out.append(bytes((code,)))
        if tagged:
            out.append(encode_u(c.tag))
        out.append(encode_u(c.label))
    return b"".join(out)


def _write_resume_table(handlers) -> bytes:
    out = [encode_u(len(handlers))]
    for h in handlers:
        code, labelled = _HANDLER_BY_NAME[h.kind]
        out.append(bytes((code,)) + encode_u(h.tag))
        if labelled:
            out.append(encode_u(h.label))
    return b"".join(out)


_WRITERS: dict[str, Callable] = {kind: encode_u for kind in T.INDEX_KINDS}
_WRITERS.update({
    T.MEMARG: _write_memarg,
    T.LANE: _write_byte,
    T.BLOCKTYPE: _write_blocktype,
    T.BR_TABLE: _write_br_table,
    T.I32: encode_s,
    T.I64: encode_s,
    T.F32: _write_fixed(4),
    T.F64: _write_fixed(8),
    T.V128: _write_fixed(16),
    T.SHUFFLE: _write_fixed(16),
    T.VALTYPES: lambda ts: encode_u(len(ts)) + b"".join(write_valtype(t) for t in ts),
    T.HEAPTYPE: _write_heaptype,
    T.CAST_FLAGS: _write_byte,
    T.CATCHES: _write_catches,
    T.RESUME_TABLE: _write_resume_table,
    T.ZERO_BYTE: _write_byte,
})
assert set(_READERS) == set(_WRITERS)

# -- dispatch tables derived from the opcode table ---------------------------------
# (op, readers) per opcode: the decoder does one list index (or one dict lookup
# after a prefix) and then calls the readers of that opcode's immediates.

_DECODE_ONE: list = [None] * 256
_DECODE_PREFIXED: dict[int, dict[int, tuple]] = {p: {} for p in T.PREFIXES}
for _op in T.ALL_OPS:
    _entry = (_op, tuple(_READERS[k] for k in _op.immediates))
    if _op.prefix is None:
        _DECODE_ONE[_op.code] = _entry
    else:
        _DECODE_PREFIXED[_op.prefix][_op.code] = _entry


def _opcode_error(buf, pos, prefix=None, sub=None) -> DecodeError:
    if prefix is None:
        return UnsupportedError(f"unknown opcode 0x{buf[pos]:02x}", pos)
    return UnsupportedError(f"unknown opcode 0x{prefix:02x} 0x{sub:02x}", pos)


def _decode_one(buf, pos: int, end: int) -> tuple[OpInfo, tuple, int]:
    """Decode the instruction at ``pos``: ``(op, immediates, next)``; strict."""
    start = pos
    b = buf[pos]
    entry = _DECODE_ONE[b]
    if entry is None:
        table = _DECODE_PREFIXED.get(b)
        if table is None:
            raise _opcode_error(buf, pos)
        sub, pos = read_u32(buf, pos + 1)
        entry = table.get(sub)
        if entry is None:
            raise _opcode_error(buf, start, b, sub)
    else:
        pos += 1
    op, readers = entry
    if not readers:
        return op, (), pos
    try:
        if len(readers) == 1:
            value, pos = readers[0](buf, pos)
            return op, (value,), pos
        values = []
        for read in readers:
            value, pos = read(buf, pos)
            values.append(value)
        return op, tuple(values), pos
    except DecodeError as e:
        raise type(e)(f"{e.message} (in {op.name}, opcode {op.label})", e.offset) from None
    except IndexError:
        raise DecodeError(f"unexpected end of code in the immediates of {op.name} ({op.label})", end) from None


def _decode(buf, pos: int, end: int):
    """Yield ``(op, immediates, start, next)`` for each instruction in buf[pos:end]."""
    while pos < end:
        op, imms, nxt = _decode_one(buf, pos, end)
        yield op, imms, pos, nxt
        pos = nxt


def _rebased(e: DecodeError, base: int) -> DecodeError:
    offset = None if e.offset is None else e.offset + base
    return type(e)(e.message, offset, section=e.section)


# -- instructions -------------------------------------------------------------------


class Instruction:
    """One instruction: its table entry, immediates, absolute offset and original bytes.

    Built by the decoder with ``raw`` (a memoryview of its bytes); ``replace``
    gives a changed copy without ``raw``, which the encoder writes canonically.
    Equality compares opcode and immediates only.
    """

    __slots__ = ("op", "immediates", "offset", "raw")

    def __init__(self, op: OpInfo | str, immediates: tuple = (), offset: int | None = None, raw=None):
        if isinstance(op, str):
            try:
                op = T.BY_NAME[op]
            except KeyError:
                raise ValueError(f"unknown instruction {op!r}") from None
        if len(immediates) != len(op.immediates):
            raise ValueError(f"{op.name} takes {len(op.immediates)} immediates, got {len(immediates)}")
        self.op = op
        self.immediates = tuple(immediates)
        self.offset = offset
        self.raw = raw

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def end(self) -> int | None:
        """Absolute offset just past the instruction (None if it was not decoded)."""
        if self.offset is None or self.raw is None:
            return None
        return self.offset + len(self.raw)

    @property
    def span(self) -> tuple[int, int] | None:
        return None if self.end is None else (self.offset, self.end)

    def replace(self, *immediates) -> "Instruction":
        return Instruction(self.op, immediates, self.offset, None)

    def __eq__(self, other):
        if not isinstance(other, Instruction):
            return NotImplemented
        return self.op == other.op and self.immediates == other.immediates

    def __hash__(self):
        return hash((self.op, self.immediates))

    def __repr__(self):
        where = "" if self.offset is None else f" @0x{self.offset:x}"
        args = "".join(f" {v!r}" for v in self.immediates)
        return f"<{self.op.name}{args}{where}>"


def encode_instruction(instr: Instruction, *, preserve: bool = True) -> bytes:
    """The bytes of ``instr``: its original bytes when it has them (and ``preserve``), else canonical."""
    if preserve and instr.raw is not None:
        return bytes(instr.raw)
    op = instr.op
    out = [bytes((op.code,)) if op.prefix is None else bytes((op.prefix,)) + encode_u(op.code)]
    for kind, value in zip(op.immediates, instr.immediates):
        out.append(_WRITERS[kind](value))
    return b"".join(out)


def iter_instructions(data, base_offset: int = 0, start: int = 0, end: int | None = None) -> Iterator[Instruction]:
    """Decode the instructions of ``data[start:end]`` (bytes or memoryview); offsets are ``base_offset + pos``."""
    if end is None:
        end = len(data)
    buf = memoryview(data)[:end]  # reads past `end` fail instead of running on
    try:
        for op, imms, at, nxt in _decode(buf, start, end):
            yield Instruction(op, imms, base_offset + at, buf[at:nxt])
    except DecodeError as e:
        raise _rebased(e, base_offset) from None


# -- function bodies ----------------------------------------------------------------


class FunctionBody:
    """One entry of the code section, framed but not decoded.

    ``offset`` is the absolute offset of the body's first byte (after its size),
    ``raw`` the body bytes (locals and expression) as a memoryview slice and
    ``framed`` the same with the size prefix as read. ``locals`` (a tuple of
    ``(count, valtype)``) and ``expr_offset`` are decoded on first use.
    """

    __slots__ = ("index", "offset", "raw", "framed", "_locals", "_expr_start")

    def __init__(self, index: int, offset: int, raw, framed):
        self.index = index
        self.offset = offset
        self.raw = raw
        self.framed = framed
        self._locals = None
        self._expr_start = None

    @property
    def size(self) -> int:
        return len(self.raw)

    def _decode_locals(self) -> None:
        buf = self.raw
        try:
            groups, pos = read_count(buf, 0, 2)
            total = 0
            out = []
            for _ in range(groups):
                at = pos
                n, pos = read_u32(buf, pos)
                total += n
                if total > MAX_LOCALS:
                    raise DecodeError(f"too many locals: {total} exceeds 2**32-1", at)
                t, pos = read_valtype(buf, pos)
                out.append((n, t))
        except DecodeError as e:
            raise _rebased(e, self.offset) from None
        except IndexError:
            raise DecodeError("unexpected end of function body in its locals", self.offset + len(buf)) from None
        self._locals = tuple(out)
        self._expr_start = pos

    @property
    def locals(self) -> tuple[tuple[int, ValType], ...]:
        if self._locals is None:
            self._decode_locals()
        return self._locals

    @property
    def expr_start(self) -> int:
        """Position of the expression within ``raw``."""
        if self._expr_start is None:
            self._decode_locals()
        return self._expr_start

    @property
    def expr_offset(self) -> int:
        """Absolute offset of the body's expression (its first instruction)."""
        return self.offset + self.expr_start

    def instructions(self) -> Iterator[Instruction]:
        return iter_instructions(self.raw, self.offset, self.expr_start)

    def __repr__(self):
        return f"<FunctionBody #{self.index} @0x{self.offset:x} size={self.size}>"


def _read_count(buf, base: int) -> tuple[int, int]:
    try:
        return read_count(buf, 0, 2)  # a body takes at least two bytes: its size and one byte
    except DecodeError as e:
        raise _rebased(e, base) from None


def split_code_section(payload, base_offset: int) -> list[FunctionBody]:
    """Frame the bodies of a code section payload that starts at absolute ``base_offset``."""
    mv = memoryview(payload)
    size = len(mv)
    count, pos = _read_count(mv, base_offset)
    bodies = []
    for i in range(count):
        framed_start = pos
        try:
            body_size, pos = read_u32(mv, pos)
        except DecodeError as e:
            raise _rebased(e, base_offset) from None
        if body_size > size - pos:
            raise DecodeError(f"function body {i} size {body_size} runs past the end of the code section "
                              f"({size - pos} bytes left)", base_offset + framed_start)
        if body_size == 0:
            raise DecodeError(f"function body {i} is empty", base_offset + framed_start)
        end = pos + body_size
        bodies.append(FunctionBody(i, base_offset + pos, mv[pos:end], mv[framed_start:end]))
        pos = end
    if pos != size:
        raise DecodeError(f"section size mismatch: {size - pos} bytes left over after {count} function bodies",
                          base_offset + pos)
    return bodies


def encode_code_section(bodies: Iterable[FunctionBody | bytes]) -> bytes:
    """A code section payload: a FunctionBody is copied with its size prefix as read, bytes get a minimal one."""
    items = list(bodies)
    out = [encode_u(len(items))]
    for b in items:
        if isinstance(b, FunctionBody):
            out.append(b.framed)
        else:
            out.append(encode_u(len(b)))
            out.append(b)
    return b"".join(out)


# -- fast runs: the table compiled to regular expressions ----------------------------
# Python's regex engine steps over long runs of ordinary instructions in C; the
# Python decoder above takes over only where a run stops (a control instruction
# for the structure check, a memory index that may change for a remap, a vector
# immediate a regex cannot count, or anything malformed, which the decoder then
# reports). Each immediate kind has one pattern, as strict as its reader: a run
# never accepts bytes the decoder would reject.


def _leb(max_cont: int, last: bytes) -> bytes:
    # up to max_cont continuation bytes then a final byte; a full-length LEB's
    # final byte is limited to `last` (the unused-bits rule)
    return rb"(?:[\x80-\xff]{0,%d}[\x00-\x7f]|[\x80-\xff]{%d}%s)" % (max_cont - 1, max_cont, last)


def _byte_class(codes) -> bytes:
    return b"[" + b"".join(b"\\x%02x" % c for c in sorted(codes)) + b"]"


_U32 = _leb(4, rb"[\x00-\x0f]")
_S32 = _leb(4, rb"[\x00-\x07\x78-\x7f]")
_U64 = _leb(9, rb"[\x00\x01]")
_S64 = _leb(9, rb"[\x00\x7f]")
_S33_INDEX = rb"(?:[\x80-\xff]{0,3}[\x00-\x3f]|[\x80-\xff]{4}[\x00-\x0f])"  # non-negative s33
_HEAPTYPE = b"(?:" + _byte_class(T.HEAPTYPE_BYTES) + b"|" + _S33_INDEX + b")"
_VALTYPE = b"(?:" + _byte_class(T.VALTYPE_BYTES) + rb"|[\x63\x64]" + _HEAPTYPE + b")"
_MEMARG_FLAGS_0 = rb"(?:[\x00-\x3f]|[\x80-\xbf]\x80{0,3}\x00)"  # align < 64, no memory index
_MEMARG_FLAGS_X = rb"(?:[\x40-\x7f]|[\xc0-\xff]\x80{0,3}\x00)"  # bit 6: a memory index follows

_PATTERNS: dict[str, bytes | None] = {kind: _U32 for kind in T.INDEX_KINDS}
_PATTERNS.update({
    T.MEMARG: b"(?:" + _MEMARG_FLAGS_0 + b"|" + _MEMARG_FLAGS_X + _U32 + b")" + _U64,
    T.LANE: rb"[\x00-\xff]",
    T.BLOCKTYPE: rb"(?:\x40|" + _VALTYPE + b"|" + _S33_INDEX + b")",
    T.BR_TABLE: None,  # vectors: a regex cannot count, the decoder reads them
    T.I32: _S32,
    T.I64: _S64,
    T.F32: rb"[\x00-\xff]{4}",
    T.F64: rb"[\x00-\xff]{8}",
    T.V128: rb"[\x00-\xff]{16}",
    T.SHUFFLE: rb"[\x00-\xff]{16}",
    T.VALTYPES: None,
    T.HEAPTYPE: _HEAPTYPE,
    T.CAST_FLAGS: rb"[\x00-\x03]",
    T.CATCHES: None,
    T.RESUME_TABLE: None,
    T.ZERO_BYTE: rb"\x00",
})
assert set(_PATTERNS) == set(_READERS)
# For a remap that keeps memory 0: memory-0 operands are ordinary, others stop the run.
_MEMORY0_PATTERNS = {T.MEMARG: _MEMARG_FLAGS_0 + _U64, T.MEMORY: rb"\x00"}

_CONTROL = T.BLOCK_OPENERS | {"end", "else", "catch", "catch_all", "delegate"}
_MEMORY_OPS = frozenset(op for op in T.ALL_OPS if op.memory_immediates)
_MEMARG_ONLY = (T.MEMARG,)


def _op_encoding(op: OpInfo) -> bytes:
    return bytes((op.code,)) if op.prefix is None else bytes((op.prefix,)) + encode_u(op.code)


def _opcodes_pattern(encodings: list[bytes]) -> bytes:
    # group encodings by all-but-last byte: `\xfd[\x0e-\x14...]` rather than a long alternation
    groups: dict[bytes, list[int]] = {}
    for e in encodings:
        groups.setdefault(e[:-1], []).append(e[-1])
    alts = [b"".join(b"\\x%02x" % c for c in head) + _byte_class(last) for head, last in sorted(groups.items())]
    return alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"


# Shapes tried first, by how common their instructions are in compiled code.
_HOT = ("local.get", "i32.add", "i32.load", "i32.const", "br_if", "end", "call", "block", "global.get",
        "i64.const", "f64.const", "f32.const", "call_indirect")


def _compile_run(skip_control: bool, memory0_only: bool, skip_memory: bool) -> "re.Pattern":
    """One regex matching a (possibly empty) run of ordinary instructions.

    Top-level alternatives each start with a byte class (one per shape of
    one-byte opcode) or a prefix byte, which the engine tests cheaply.
    """
    import re

    shapes: dict[int | None, dict[bytes, list[bytes]]] = {None: {}}
    hot: dict[bytes, int] = {}
    for op in T.ALL_OPS:
        if skip_control and op.name in _CONTROL:
            continue
        if skip_memory and op in _MEMORY_OPS:
            continue
        parts = [(_MEMORY0_PATTERNS.get(kind) if memory0_only else None) or _PATTERNS[kind] for kind in op.immediates]
        if None in parts:
            continue
        imms = b"".join(parts)
        encoding = _op_encoding(op)
        shapes.setdefault(op.prefix, {}).setdefault(imms, []).append(encoding[1:] if op.prefix else encoding)
        if op.prefix is None and op.name in _HOT:
            hot[imms] = min(hot.get(imms, len(_HOT)), _HOT.index(op.name))
    one_byte = sorted(shapes.pop(None).items(), key=lambda kv: (hot.get(kv[0], len(_HOT)), -len(kv[1])))
    alts = [_opcodes_pattern(encs) + imms for imms, encs in one_byte]
    for prefix, by_shape in sorted(shapes.items()):
        inner = [_opcodes_pattern(encs) + imms for imms, encs in by_shape.items()]
        alts.append(b"\\x%02x(?:" % prefix + b"|".join(inner) + b")")
    return re.compile(b"(?:" + b"|".join(alts) + b")*+")


_RUNS: dict[str, "re.Pattern"] = {}


def _run(name: str):
    """The compiled run regex for a purpose (compiled on first use: ~10 ms)."""
    pattern = _RUNS.get(name)
    if pattern is None:
        pattern = _RUNS[name] = {
            "check": lambda: _compile_run(True, False, False),
            "remap0": lambda: _compile_run(False, True, False),
            "remap": lambda: _compile_run(False, False, True),
        }[name]()
    return pattern.match


# -- strict structure check ------------------------------------------------------------

_ELSE_OK = frozenset(("if",))
_PLAIN_BLOCK_OPENERS = {T.BY_NAME[n].code: n for n in ("block", "loop", "if")}
_ONE_BYTE_BLOCKTYPES = frozenset(T.VALTYPE_BYTES) | {T.EMPTY_BLOCK}
_CATCH_OK = frozenset(("try", "catch"))


def check_body(body: FunctionBody) -> None:
    """Decode every instruction and check the block structure; raise DecodeError if malformed.

    Blocks must nest (``else`` only in ``if``, ``catch``/``catch_all``/``delegate``
    only in a legacy ``try``) and the function's own final ``end`` must be the
    body's last byte.
    """
    buf = body.raw
    end = len(buf)
    pos = body.expr_start
    stack = ["func"]
    run = _run("check")
    try:
        while True:
            pos = run(buf, pos, end).end()
            if pos >= end:
                break
            at = pos
            b = buf[pos]
            # fast paths for the commonest stops: `end` and a block with a one-byte type
            if b == 0x0B:
                name = "end"
                pos += 1
            elif b in _PLAIN_BLOCK_OPENERS and pos + 1 < end and buf[pos + 1] in _ONE_BYTE_BLOCKTYPES:
                name = _PLAIN_BLOCK_OPENERS[b]
                pos += 2
            else:
                op, _imms, pos = _decode_one(buf, pos, end)
                name = op.name
            if name in T.BLOCK_OPENERS:
                stack.append(name)
            elif name == "end":
                stack.pop()
                if not stack:
                    if pos != end:
                        raise DecodeError(f"{end - pos} bytes after the final end of function body {body.index}", pos)
                    return
            elif name == "else":
                if stack[-1] not in _ELSE_OK:
                    raise DecodeError(f"else outside an if block (in {stack[-1]})", at)
                stack[-1] = "else"
            elif name == "catch" or name == "catch_all":
                if stack[-1] not in _CATCH_OK:
                    raise DecodeError(f"{name} outside a try block (in {stack[-1]})", at)
                stack[-1] = "catch" if name == "catch" else "catch_all"
            elif name == "delegate":
                if stack[-1] != "try":
                    raise DecodeError(f"delegate outside a try block (in {stack[-1]})", at)
                stack.pop()
    except DecodeError as e:
        raise _rebased(e, body.offset) from None
    raise DecodeError(f"function body {body.index} ends inside {len(stack)} open block(s): `end` expected",
                      body.offset + end)


def check_code_section(payload, base_offset: int) -> list[FunctionBody]:
    """Split a code section and decode every body fully; DecodeError at the first malformed spot."""
    bodies = split_code_section(payload, base_offset)
    for body in bodies:
        check_body(body)
    return bodies


# -- memory index remapping -----------------------------------------------------------


def _memory_index_fn(mapping: MemoryMapping) -> Callable[[int], int]:
    if callable(mapping):
        return mapping
    get = mapping.get
    return lambda i: get(i, i)


def _remap_instruction(buf, op: OpInfo, start: int, imm: int, new_index) -> tuple[bytes | None, int]:
    """(new bytes or None if unchanged, end of instruction); untouched immediates keep their bytes."""
    if op.immediates == _MEMARG_ONLY:  # loads, stores, atomics: the bulk of the work
        align, memory, _, offset_pos, end = _memarg_fields(buf, imm)
        new = new_index(memory)
        if new == memory:
            return None, end
        return bytes(buf[start:imm]) + _memarg_head(align, new) + bytes(buf[offset_pos:end]), end
    pieces = [buf[start:imm]]
    changed = False
    pos = imm
    for kind in op.immediates:
        at = pos
        if kind == T.MEMARG:
            align, memory, _, offset_pos, pos = _memarg_fields(buf, pos)
            new = new_index(memory)
            if new != memory:
                changed = True
                pieces.append(_memarg_head(align, new))
                pieces.append(buf[offset_pos:pos])  # the offset as it was written
            else:
                pieces.append(buf[at:pos])
        elif kind == T.MEMORY:
            memory, pos = read_u32(buf, pos)
            new = new_index(memory)
            if new != memory:
                changed = True
                pieces.append(encode_u(new))
            else:
                pieces.append(buf[at:pos])
        else:
            _, pos = _READERS[kind](buf, pos)
            pieces.append(buf[at:pos])
    if not changed:
        return None, pos
    return b"".join(pieces), pos


def remap_memory_indices(body: FunctionBody, mapping: MemoryMapping) -> bytes | None:
    """Renumber the memory indices of one body: None if none changes, else the new body bytes.

    ``mapping`` is a dict (old index -> new; absent indices stay) or a callable.
    Covers memargs (loads, stores, atomics, SIMD) and memory.size/grow/fill/
    copy/init/discard. Locals and every instruction whose memory index stays
    are copied byte for byte; a changed memarg gets canonical flags (the index
    bit set only for a memory other than 0) and keeps its offset bytes.
    """
    new_index = _memory_index_fn(mapping)
    run = _run("remap0" if new_index(0) == 0 else "remap")
    buf = body.raw
    end = len(buf)
    pos = body.expr_start
    out = None
    copied = 0
    try:
        while True:
            pos = run(buf, pos, end).end()
            if pos >= end:
                break
            entry = _DECODE_ONE[buf[pos]]
            if entry is not None and entry[0] in _MEMORY_OPS:
                op, imm = entry[0], pos + 1  # a one-byte memory opcode: straight to its immediates
            else:
                op, _imms, nxt = _decode_one(buf, pos, end)  # strict: also validates what it steps over
                if op not in _MEMORY_OPS:
                    pos = nxt
                    continue
                imm = read_u32(buf, pos + 1)[1]  # after the prefix and sub-opcode
            try:
                new, nxt = _remap_instruction(buf, op, pos, imm, new_index)
            except DecodeError as e:
                raise type(e)(f"{e.message} (in {op.name}, opcode {op.label})", e.offset) from None
            except IndexError:  # cut short by the end of the body
                raise DecodeError(f"unexpected end of code in the immediates of {op.name} ({op.label})", end) from None
            if new is not None:
                if out is None:
                    out = []
                out.append(buf[copied:pos])
                out.append(new)
                copied = nxt
            pos = nxt
    except DecodeError as e:
        raise _rebased(e, body.offset) from None
    if out is None:
        return None
    out.append(buf[copied:end])
    return b"".join(out)


def remap_code_section(payload, base_offset: int, mapping: MemoryMapping) -> bytes | None:
    """Remap memory indices across a code section: None when no body changes.

    The count and every unchanged body (with its size prefix) are copied as read.
    """
    bodies = split_code_section(payload, base_offset)
    new_bodies = [remap_memory_indices(b, mapping) for b in bodies]
    if all(n is None for n in new_bodies):
        return None
    mv = memoryview(payload)
    _, head_end = read_u32(mv, 0)
    out = [mv[:head_end]]  # the body count as it was written
    for body, new in zip(bodies, new_bodies):
        if new is None:
            out.append(body.framed)
        else:
            out.append(encode_u(len(new)))
            out.append(new)
    return b"".join(out)

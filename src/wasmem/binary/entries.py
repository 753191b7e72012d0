"""Hand-written readers and writers of the entries the views decode on the
start-up path (imports, exports, memory and global types, globals), equal to
``grammar.py`` by property test (tests/test_entries_vs_grammar.py).

Why: ``import construct`` alone costs about 60 ms, a third of ``wasmem info``
on a small module, and these entries are all ``info`` and ``import-memory``
need. The grammar stays the reference definition, and the module's fallback
for everything rarer (constant expressions beyond a plain constant, the name
section).

Readers take ``(buf, pos)`` with ``pos`` absolute in ``buf`` and return the
value and the new position; errors are DecodeError at the offending byte.
"""

from __future__ import annotations

from ..errors import DecodeError
from .valtypes import KIND_CODES, KINDS, VALTYPE_BYTES
from .leb import encode_s, encode_u, read_count, read_s32, read_s33, read_s64, read_u32, read_u64

LIMITS_MAX, LIMITS_SHARED, LIMITS_64, LIMITS_PAGE = 1, 2, 4, 8
MEMORY_FLAGS = LIMITS_MAX | LIMITS_SHARED | LIMITS_64 | LIMITS_PAGE
TABLE_FLAGS = LIMITS_MAX | LIMITS_SHARED | LIMITS_64


def _byte(buf, pos: int, what: str, *args) -> int:
    """The byte at ``pos``; at the end of input, an error about reading ``what.format(*args)``
    (formatted only then: some readers run once per entry)."""
    try:
        return buf[pos]
    except IndexError:
        raise DecodeError(f"unexpected end of input while reading {what.format(*args)}", len(buf)) from None


def read_name(buf, pos: int, what: str = "name") -> tuple[str, int]:
    """name ::= vec(byte) holding valid UTF-8."""
    n, p = read_u32(buf, pos)
    end = p + n
    if end > len(buf):
        raise DecodeError(f"unexpected end of input: {what} of {n} bytes runs past the end", pos)
    try:
        return str(bytes(buf[p:end]), "utf-8"), end
    except UnicodeDecodeError as e:
        raise DecodeError(f"malformed UTF-8 encoding in {what}", p + e.start) from None


def read_limits(buf, pos: int, allowed: int, what: str):
    """(flags, min, max|None, page_size_log2|None), pos"""
    flags = _byte(buf, pos, "limits flags")  # a byte, not a LEB: 0x81 0x00 is malformed
    if flags & ~allowed:
        raise DecodeError(f"malformed {what} limits flags 0x{flags:02x}", pos)
    lo, p = read_u64(buf, pos + 1)
    hi = page = None
    if flags & LIMITS_MAX:
        hi, p = read_u64(buf, p)
    if flags & LIMITS_PAGE:
        at = p
        page, p = read_u32(buf, p)
        if page >= 64:  # a page size that does not fit a u64 is malformed (others are invalid)
            raise DecodeError(f"invalid custom page size 2**{page}", at)
    return (flags, lo, hi, page), p


def read_valtype(buf, pos: int):
    b = _byte(buf, pos, "a value type")
    if b in (0x63, 0x64):
        ht, p = read_s33(buf, pos + 1)
        return (b, ht), p
    if b not in VALTYPE_BYTES:
        raise DecodeError(f"malformed value type 0x{b:02x}", pos)
    return b, pos + 1


def read_globaltype(buf, pos: int):
    """(valtype, mutable), pos"""
    vt, p = read_valtype(buf, pos)
    m = _byte(buf, p, "a mutability flag")
    if m > 1:
        raise DecodeError(f"malformed mutability 0x{m:02x}", p)
    return (vt, bool(m)), p + 1


def read_kind(buf, pos: int, what: str) -> tuple[str, int]:
    b = _byte(buf, pos, "an {} kind", what)
    kind = KINDS.get(b)
    if kind is None:
        raise DecodeError(f"malformed {what} kind 0x{b:02x}", pos)
    return kind, pos + 1


COMPACT_ITEMS, COMPACT_TYPE = 0x7F, 0x7E  # compact import groups: items with their types; one type for all


def read_import(buf, pos: int):
    """(module, name, kind, desc, desc_start), pos: one import in the single-item encoding.
    ``desc``: a type index (func), limits (memory), (valtype, mutable) (global); for table
    and tag the raw bytes of the type, which no rewrite changes."""
    module, p = read_name(buf, pos)
    name, p = read_name(buf, p)
    kind, (desc, start), p = _read_externtype(buf, p)
    return (module, name, kind, desc, start), p


def read_payload(reader, payload, base: int, section: str):
    """``reader(payload)`` over a whole section payload, its errors at file offsets; an index
    past the end (a reader that steps with buf[pos]) is the section's unexpected end."""
    try:
        return reader(payload)
    except IndexError:
        raise DecodeError(f"unexpected end of input in the {section} section", base + len(payload)) from None
    except DecodeError as e:
        raise at_base(e, base) from None


def read_imports(buf, base: int = 0) -> list:
    """Every import of an import section payload, as ((module, name, kind, desc, type bytes),
    raw, group), in order: ``raw`` is the import's single-item encoding: its own bytes, or
    for an item of a compact group (the compact-import-section proposal: ``module "" 0x7F
    vec(name type)`` or ``module "" 0x7E type vec(name)``) the single encoding of the same
    names and type, made of their bytes; ``group`` is None, or for a group's items one
    (start, end) tuple, the group's place in the payload."""
    return read_payload(_read_imports, buf, base, "import")


def _read_imports(buf) -> list:
    n, p = read_count(buf, 0)  # (single imports and compact groups)
    out = []
    for _ in range(n):
        start = p
        module, after_module = read_name(buf, p)
        if (after_module + 1 < len(buf) and buf[after_module] == 0
                and buf[after_module + 1] in (COMPACT_ITEMS, COMPACT_TYPE)):
            p = _read_compact_group(buf, start, module, after_module, out)
            continue
        (module, name, kind, desc, type_start), p = read_import(buf, start)
        out.append(((module, name, kind, desc, buf[type_start:p]), buf[start:p], None))
    vector_end(buf, p, n, "imports")
    return out


def _read_compact_group(buf, start: int, module: str, after_module: int, out: list) -> int:
    """Append a compact group's items to ``out`` (see read_imports); the position after it."""
    head = buf[start:after_module]  # (the module name's own bytes, length first)
    items = []
    p = after_module + 2
    if buf[after_module + 1] == COMPACT_TYPE:  # one type, then the names
        kind, (desc, type_start), p = _read_externtype(buf, p)
        t = buf[type_start:p]
        shared = bytes((KIND_CODES[kind],)) + t  # (each item's kind and type, as a single import writes them)
        count, p = read_count(buf, p, 1)
        for _ in range(count):
            name_start = p
            name, p = read_name(buf, p)
            items.append(((module, name, kind, desc, t), head + buf[name_start:p] + shared))
    else:  # each item with its type
        count, p = read_count(buf, p, 2)
        for _ in range(count):
            name_start = p
            name, p = read_name(buf, p)
            kind, (desc, type_start), p = _read_externtype(buf, p)
            items.append(((module, name, kind, desc, buf[type_start:p]), head + buf[name_start:p]))
    span = (start, p)
    out.extend((v, raw, span) for v, raw in items)
    return p


def _read_externtype(buf, p: int):
    """kind, (desc, where the type's bytes start), pos: an import's kind byte and type."""
    kind, p = read_kind(buf, p, "import")
    start = p
    if kind == "func":
        desc, p = read_u32(buf, p)
    elif kind == "memory":
        desc, p = read_limits(buf, p, MEMORY_FLAGS, "memory")
    elif kind == "global":
        desc, p = read_globaltype(buf, p)
    elif kind == "table":
        _, p = read_valtype(buf, p)
        _, p = read_limits(buf, p, TABLE_FLAGS, "table")
        desc = bytes(buf[start:p])
    else:  # tag: attribute byte, type index
        _byte(buf, p, "a tag attribute")
        _, p = read_u32(buf, p + 1)
        desc = bytes(buf[start:p])
    return kind, (desc, start), p


def read_export(buf, pos: int):
    name, p = read_name(buf, pos)
    kind, p = read_kind(buf, p, "export")
    index, p = read_u32(buf, p)
    return (name, kind, index), p


# const-expression instructions that are a single plain immediate
_SIMPLE_CONST = {0x41: read_s32, 0x42: read_s64, 0x23: read_u32, 0xD2: read_u32}


def read_const_expr(buf, pos: int) -> tuple[bytes, int]:
    """A constant expression's raw bytes (with its ``end``). The usual
    ``i32.const N end`` / ``global.get N end`` are read here; anything else
    goes to the grammar (offsets stay relative to ``buf``)."""
    op = _byte(buf, pos, "a constant expression")
    reader = _SIMPLE_CONST.get(op)
    if reader is not None:
        _, p = reader(buf, pos + 1)
        if _byte(buf, p, "a constant expression") == 0x0B:
            return bytes(buf[pos:p + 1]), p + 1
    from .grammar import ConstExpr, Reader

    r = Reader(buf[pos:], pos)
    expr = r.parse(ConstExpr)
    return bytes(expr), pos + len(expr)


def read_global(buf, pos: int):
    """((valtype, mutable), init bytes), pos"""
    gt, p = read_globaltype(buf, pos)
    init, p = read_const_expr(buf, p)
    return (gt, init), p


# -- writers ----------------------------------------------------------------------


def encode_name(text: str) -> bytes:
    data = text.encode("utf-8")
    return encode_u(len(data)) + data


def names_are_utf8(texts) -> bool:
    """Whether encode_name can spell each of ``texts``: no lone surrogate (one C-level encode
    of them all; joined, two lone surrogates stay two, never a pair)."""
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_limits(flags: int, lo: int, hi, page) -> bytes:
    out = bytes((flags,)) + encode_u(lo)
    if flags & LIMITS_MAX:
        out += encode_u(hi)
    if flags & LIMITS_PAGE:
        out += encode_u(page)
    return out


def encode_valtype(vt) -> bytes:
    if isinstance(vt, tuple):
        return bytes((vt[0],)) + encode_s(vt[1])
    return bytes((vt,))


def encode_globaltype(vt, mutable: bool) -> bytes:
    return encode_valtype(vt) + (b"\x01" if mutable else b"\x00")


def encode_export(name: str, kind: str, index: int) -> bytes:
    return encode_name(name) + bytes((KIND_CODES[kind],)) + encode_u(index)


def encode_import_head(module: str, name: str, kind: str) -> bytes:
    return encode_name(module) + encode_name(name) + bytes((KIND_CODES[kind],))


def encode_data_segment(flags: int, memory: int, offset_expr, data) -> bytes:
    out = encode_u(flags)
    if flags == 2:
        out += encode_u(memory)
    if flags != 1:
        out += bytes(offset_expr)
    return out + encode_u(len(data)) + bytes(data)


def read_vector(buf, base: int, reader, what: str, make=None):
    """Decode a whole vector section payload: [make(value, raw bytes, offset)] (by default
    the tuple of the three). Checks the count against the bytes left and that nothing
    is left over."""
    if make is None:
        make = _triple
    try:
        n, p = read_count(buf, 0)
        out = []
        add = out.append
        for _ in range(n):
            start = p
            value, p = reader(buf, p)
            add(make(value, buf[start:p], start))
        vector_end(buf, p, n, what)
        return out
    except DecodeError as e:
        raise at_base(e, base) from None


def vector_end(buf, p: int, n: int, what: str) -> None:
    """A vector section's payload ends with its ``n``-th entry, at ``p``: nothing left over."""
    if p != len(buf):
        raise DecodeError(f"section size mismatch: {len(buf) - p} bytes left over after the {n} {what}", p)


def at_base(e: DecodeError, base: int) -> DecodeError:
    """``e`` raised at an offset in a payload, moved to the file offset (the payload's at ``base``)."""
    return DecodeError(e.message, base + (e.offset or 0))


def _triple(*values):
    return values


# -- the name section's maps ------------------------------------------------------


def _read_index_map(buf, pos: int, read_value):
    """vec(idx value) -> {index: value}, pos (each entry takes at least 2 bytes)"""
    n, p = read_count(buf, pos, 2)
    out = {}
    for _ in range(n):
        i, p = read_u32(buf, p)
        out[i], p = read_value(buf, p)
    return out, p


def read_namemap(buf, pos: int):
    """namemap ::= vec(idx name) -> {index: name}, pos"""
    return _read_index_map(buf, pos, read_name)


def read_indirect_namemap(buf, pos: int):
    """indirectnamemap ::= vec(idx namemap) -> {index: {index: name}}, pos"""
    return _read_index_map(buf, pos, read_namemap)


def encode_namemap(m: dict) -> bytes:
    return encode_u(len(m)) + b"".join(encode_u(i) + encode_name(n) for i, n in sorted(m.items()))


def encode_indirect_namemap(m: dict) -> bytes:
    return encode_u(len(m)) + b"".join(encode_u(i) + encode_namemap(v) for i, v in sorted(m.items()))


# name subsection id -> (kind, reader, writer)
NAME_SUBSECTIONS = {
    0: ("module", read_name, encode_name),
    1: ("function", read_namemap, encode_namemap),
    2: ("local", read_indirect_namemap, encode_indirect_namemap),
    3: ("label", read_indirect_namemap, encode_indirect_namemap),
    4: ("type", read_namemap, encode_namemap),
    5: ("table", read_namemap, encode_namemap),
    6: ("memory", read_namemap, encode_namemap),
    7: ("global", read_namemap, encode_namemap),
    8: ("elem", read_namemap, encode_namemap),
    9: ("data", read_namemap, encode_namemap),
    10: ("field", read_indirect_namemap, encode_indirect_namemap),
    11: ("tag", read_namemap, encode_namemap),
}

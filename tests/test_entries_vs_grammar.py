"""The hand-written entry readers and writers (binary/entries.py) equal the
construct grammar (binary/grammar.py), on real modules and generated input."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import corpus_files
from wasmem.binary import entries as E
from wasmem.binary import grammar as g
from wasmem.binary.leb import encode_u
from wasmem.errors import DecodeError
from wasmem.module import Module


def by_grammar(con, payload: bytes):
    r = g.Reader(payload, 0)
    n = r.count()
    out = []
    for _ in range(n):
        start = r.tell()
        out.append((r.parse(con), r.raw_since(start)))
    r.expect_end("entries")
    return out


def norm_import(c):
    d = c.desc
    if c.kind == "memory":
        d = (d.flags, d.min, d.max, d.page_size_log2)
    elif c.kind == "global":
        d = (d.valtype, d.mutable)
    elif c.kind in ("table", "tag"):
        d = None  # kept as bytes by the fast reader: compared through the raw spans
    return (c.module, c.name, c.kind, d)


NORMALIZE = {
    2: (g.Import, E.read_import, norm_import, lambda v: v[:3] + ((None if v[2] in ("table", "tag") else v[3]),)),
    5: (g.MemType, lambda b, p: E.read_limits(b, p, E.MEMORY_FLAGS, "memory"),
        lambda c: (c.flags, c.min, c.max, c.page_size_log2), lambda v: v),
    6: (g.Global, E.read_global, lambda c: ((c.type.valtype, c.type.mutable), bytes(c.init)), lambda v: v),
    7: (g.Export, E.read_export, lambda c: (c.name, c.kind, c.index), lambda v: v),
}


def compare(sid: int, payload: bytes):
    con, reader, norm_g, norm_e = NORMALIZE[sid]
    try:
        a = [(norm_g(c), bytes(raw)) for c, raw in by_grammar(con, payload)]
    except DecodeError:
        a = "error"
    try:
        b = [(norm_e(v), bytes(raw)) for v, raw, _ in E.read_vector(payload, 0, reader, "entries")]
    except DecodeError:
        b = "error"
    assert a == b, (sid, payload.hex())
    return a


def test_entries_equal_grammar_on_corpus(corpus):
    n = 0
    for kind in ("valid", "invalid", "malformed"):
        for f in corpus_files(kind):
            try:
                m = Module.from_bytes(f.read_bytes())
            except DecodeError:
                continue
            for sid in NORMALIZE:
                sec = m.section(sid)
                if sec is not None:
                    compare(sid, bytes(sec.payload))
                    n += 1
    assert n > 3000


names = st.text(max_size=6)
u32 = st.integers(0, (1 << 32) - 1)


@st.composite
def import_payloads(draw):
    items = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["func", "table", "memory", "global", "tag"]))
        desc = {
            "func": lambda: draw(u32),
            "table": lambda: {"elem": draw(st.sampled_from([0x70, 0x6F, (0x63, 3), (0x64, -16)])),
                              "limits": {"flags": draw(st.sampled_from([0, 1, 4, 5])), "min": draw(u32),
                                         "max": draw(u32), "page_size_log2": None}},
            "memory": lambda: {"flags": draw(st.integers(0, 15)), "min": draw(u32), "max": draw(u32),
                               "page_size_log2": draw(st.integers(0, 70))},
            "global": lambda: {"valtype": draw(st.sampled_from([0x7F, 0x7E, 0x7B, (0x63, 0)])),
                               "mutable": draw(st.booleans())},
            "tag": lambda: {"attribute": 0, "type": draw(u32)},
        }[kind]()
        if kind in ("table",):
            lim = desc["limits"]
            lim["max"] = lim["max"] if lim["flags"] & 1 else None
        if kind == "memory":
            desc["max"] = desc["max"] if desc["flags"] & 1 else None
            desc["page_size_log2"] = desc["page_size_log2"] if desc["flags"] & 8 else None
        items.append({"module": draw(names), "name": draw(names), "kind": kind, "desc": desc})
    return encode_u(len(items)) + b"".join(g.build(g.Import, i) for i in items)


def damage(data, payload: bytes) -> bytes:
    if not payload:
        return payload
    i = data.draw(st.integers(0, len(payload) - 1))
    how = data.draw(st.sampled_from(["none", "cut", "flip", "insert"]))
    if how == "cut":
        return payload[:i]
    if how == "flip":
        return payload[:i] + bytes([payload[i] ^ data.draw(st.integers(1, 255))]) + payload[i + 1:]
    if how == "insert":
        return payload[:i] + data.draw(st.binary(min_size=1, max_size=3)) + payload[i:]
    return payload


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(import_payloads(), st.data())
def test_imports_equal_grammar(payload, data):
    compare(2, damage(data, payload))


def _outcome(read):
    try:
        return read()
    except DecodeError:
        return "error"


def _singles(payload: bytes):
    return [(v[:3], bytes(raw)) for v, raw, _ in E.read_vector(payload, 0, E.read_import, "imports")]


def _all(payload: bytes):
    return [(v[:3], bytes(raw)) for v, raw, _ in E.read_imports(payload)]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(import_payloads(), st.data())
def test_import_section_reader_equals_the_entry_reader(payload, data):
    # without compact groups, read_imports is read_vector of read_import, errors included
    payload = damage(data, payload)
    assert _outcome(lambda: _all(payload)) == _outcome(lambda: _singles(payload))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(import_payloads(), st.data())
def test_compact_groups_read_as_their_single_imports(payload, data):
    # the imports of a single-item section, regrouped into compact groups (0x7F: items with
    # their types; 0x7E: one type, where the items share it), read as the same imports with
    # the same single-item raw bytes
    try:
        singles = [(v, bytes(raw)) for v, raw, _ in E.read_vector(payload, 0, E.read_import, "imports")]
    except DecodeError:  # (the generator draws some limits no memory has)
        assume(False)
    groups, i = [], 0
    while i < len(singles):
        (module, _, _, _, type_start), raw = singles[i]
        j = i + 1
        while j < len(singles) and singles[j][0][0] == module and data.draw(st.booleans()):
            j += 1
        members = singles[i:j]
        head = E.encode_name(module)
        parts = [E.read_name(raw, len(head))[1] for _, raw in members]  # where each name ends in its raw
        types = [raw[p:] for (_, raw), p in zip(members, parts)]  # kind byte and type
        names = [raw[len(head):p] for (_, raw), p in zip(members, parts)]
        if len(set(types)) == 1 and data.draw(st.booleans()):
            groups.append(head + b"\x00\x7e" + types[0] + encode_u(len(names)) + b"".join(names))
        elif j - i > 1 or data.draw(st.booleans()):
            groups.append(head + b"\x00\x7f" + encode_u(len(names)) + b"".join(n + t for n, t in zip(names, types)))
        else:
            groups.append(members[0][1])
        i = j
    compact = encode_u(len(groups)) + b"".join(groups)
    assert _all(compact) == [(v[:3], raw) for v, raw in singles]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(names, st.sampled_from(["func", "table", "memory", "global", "tag"]), u32), max_size=4),
       st.data())
def test_exports_equal_grammar_and_encoders(items, data):
    payload = encode_u(len(items)) + b"".join(E.encode_export(*i) for i in items)
    assert payload == encode_u(len(items)) + b"".join(
        g.build(g.Export, {"name": n, "kind": k, "index": x}) for n, k, x in items)
    compare(7, damage(data, payload))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(0, 15), u32, u32, st.integers(0, 70), st.data())
def test_limits_equal_grammar_and_encoders(flags, lo, hi, page, data):
    hi = hi if flags & 1 else None
    page = page if flags & 8 else None
    enc = E.encode_limits(flags, lo, hi, page)
    assert enc == g.build(g.MemType, {"flags": flags, "min": lo, "max": hi, "page_size_log2": page})
    compare(5, damage(data, b"\x01" + enc))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from([0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F, (0x63, 5), (0x64, -17)]), st.booleans(),
       st.sampled_from([b"\x41\x05\x0b", b"\x42\x7f\x0b", b"\x23\x00\x0b", b"\x41\x01\x41\x02\x6a\x0b",
                        b"\xd0\x70\x0b", b"\xd2\x03\x0b", b"\x44" + bytes(8) + b"\x0b"]), st.data())
def test_globals_equal_grammar_and_encoders(vt, mutable, init, data):
    enc = E.encode_globaltype(vt, mutable)
    assert enc == g.build(g.GlobalType, {"valtype": vt, "mutable": mutable})
    compare(6, damage(data, b"\x01" + enc + init))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(u32, names, max_size=4), st.dictionaries(u32, st.dictionaries(u32, names, max_size=3),
                                                                 max_size=3))
def test_name_maps_equal_grammar(m, im):
    assert E.encode_namemap(m) == g.build(g.NameMap, [{"index": i, "name": n} for i, n in sorted(m.items())])
    assert E.encode_indirect_namemap(im) == g.build(g.IndirectNameMap, [
        {"index": i, "names": [{"index": j, "name": n} for j, n in sorted(v.items())]} for i, v in sorted(im.items())])
    assert E.read_namemap(E.encode_namemap(m), 0)[0] == m
    assert E.read_indirect_namemap(E.encode_indirect_namemap(im), 0)[0] == im

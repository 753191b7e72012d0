"""Property tests of binary/code.py: generated from the opcode table, mutated from real bodies.

The fast paths (regex runs in check_body and remap_memory_indices) are checked
against plain reference implementations built on the instruction decoder.
"""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, corpus_files, wat
from fixtures_index import modules as fixture_modules
from wasmem.binary import code as C
from wasmem.binary import uses as U
from wasmem.binary import opcodes as T
from wasmem.binary.code import (
    Catch,
    FunctionBody,
    Handler,
    Instruction,
    MemArg,
    RefType,
    check_body,
    encode_instruction,
    iter_instructions,
    remap_memory_indices,
    split_code_section,
)
from wasmem.binary.leb import encode_u
from wasmem.errors import DecodeError, WasmError

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u32 = st.integers(0, 2**32 - 1)
small = st.integers(0, 200) | u32  # mostly one- and two-byte LEBs, sometimes five
heaptype = st.sampled_from(sorted(T.HEAPTYPE_CODES)) | small
valtype = st.sampled_from(sorted(T.VALTYPE_CODES)) | st.builds(RefType, st.booleans(), heaptype)
KIND_STRATEGIES = {k: small for k in T.INDEX_KINDS}
KIND_STRATEGIES.update({
    T.MEMARG: st.builds(MemArg, st.integers(0, 63), st.integers(0, 2**64 - 1) | st.integers(0, 300),
                        st.just(0) | small),
    T.LANE: st.integers(0, 255),
    T.BLOCKTYPE: st.none() | valtype | small,
    T.BR_TABLE: st.tuples(st.lists(small, max_size=4).map(tuple), small),
    T.I32: st.integers(-(2**31), 2**31 - 1),
    T.I64: st.integers(-(2**63), 2**63 - 1),
    T.F32: st.binary(min_size=4, max_size=4),
    T.F64: st.binary(min_size=8, max_size=8),
    T.V128: st.binary(min_size=16, max_size=16),
    T.SHUFFLE: st.binary(min_size=16, max_size=16),
    T.VALTYPES: st.lists(valtype, max_size=3).map(tuple),
    T.HEAPTYPE: heaptype,
    T.CAST_FLAGS: st.integers(0, 3),
    T.CATCHES: st.lists(
        st.builds(Catch, st.sampled_from(["catch", "catch_ref"]), small, small)
        | st.builds(Catch, st.sampled_from(["catch_all", "catch_all_ref"]), st.none(), small),
        max_size=3).map(tuple),
    T.RESUME_TABLE: st.lists(
        st.builds(Handler, st.just("on_label"), small, small) | st.builds(Handler, st.just("on_switch"), small,
                                                                           st.none()),
        max_size=3).map(tuple),
    T.ZERO_BYTE: st.just(0),
})
assert set(KIND_STRATEGIES) == set(C._READERS)


def instruction_of(op: T.OpInfo):
    return st.tuples(*(KIND_STRATEGIES[k] for k in op.immediates)).map(lambda imms: Instruction(op, imms))


instruction = st.sampled_from(T.ALL_OPS).flatmap(instruction_of)
# memory instructions are a small part of the table: draw them more often for the remap properties
memory_instruction = st.sampled_from([op for op in T.ALL_OPS if op.memory_immediates]).flatmap(instruction_of)
sequence = st.lists(instruction | memory_instruction, max_size=40)


def encode_all(instrs) -> bytes:
    return b"".join(encode_instruction(i) for i in instrs)


def as_body(expr: bytes, base: int = 1000) -> FunctionBody:
    body = b"\x00" + expr  # no locals
    return split_code_section(b"\x01" + encode_u(len(body)) + body, base)[0]


@SETTINGS
@given(sequence)
def test_encode_decode_encode_round_trip(instrs):
    data = encode_all(instrs)
    decoded = list(iter_instructions(data, 7))
    assert decoded == instrs
    assert encode_all(decoded) == data
    assert b"".join(encode_instruction(i, preserve=False) for i in decoded) == data
    pos = 7
    for ins in decoded:  # offsets and spans tile the input
        assert ins.offset == pos
        pos = ins.end
    assert pos == 7 + len(data)


# -- the regex runs stop exactly where the decoder says they must ----------------------------


def _stops(mode: str, ins: Instruction) -> bool:
    """Whether a run of `mode` must stop before this instruction (canonical encodings)."""
    op = ins.op
    if any(C._PATTERNS[k] is None for k in op.immediates):
        return True  # vectors
    if mode == "check":
        return op.name in C._CONTROL
    memories = [ins.immediates[i] for i in op.memory_immediates]
    if mode == "remap":
        return bool(memories)
    return any((m.memory if isinstance(m, MemArg) else m) != 0 for m in memories)  # remap0


@SETTINGS
@given(sequence, st.sampled_from(["check", "remap0", "remap"]))
def test_runs_stop_at_the_first_instruction_they_must_not_take(instrs, mode):
    data = encode_all(instrs)
    expected = len(data)
    pos = 0
    for ins in instrs:
        if _stops(mode, ins):
            expected = pos
            break
        pos += len(encode_instruction(ins))
    assert C._run(mode)(data, 0, len(data)).end() == expected


# -- fast paths against reference implementations --------------------------------------------


def reference_check(body: FunctionBody) -> None:
    """check_body written plainly over the decoder."""
    stack = ["func"]
    end = body.offset + body.size
    for ins in body.instructions():
        name = ins.name
        if name in T.BLOCK_OPENERS:
            stack.append(name)
        elif name == "end":
            stack.pop()
            if not stack:
                if ins.end != end:
                    raise DecodeError("bytes after the final end", ins.end)
                return
        elif name == "else":
            if stack[-1] != "if":
                raise DecodeError("else", ins.offset)
            stack[-1] = "else"
        elif name in ("catch", "catch_all"):
            if stack[-1] not in ("try", "catch"):
                raise DecodeError(name, ins.offset)
            stack[-1] = name
        elif name == "delegate":
            if stack[-1] != "try":
                raise DecodeError(name, ins.offset)
            stack.pop()
    raise DecodeError("open blocks", end)


def reference_remap(body: FunctionBody, mapping: dict) -> bytes | None:
    """remap_memory_indices written plainly: decode all, re-encode the changed instructions."""
    out, changed = [bytes(body.raw[: body.expr_start])], False
    for ins in body.instructions():
        imms = list(ins.immediates)
        for i in ins.op.memory_immediates:
            v = imms[i]
            if isinstance(v, MemArg):
                imms[i] = v._replace(memory=mapping.get(v.memory, v.memory))
            else:
                imms[i] = mapping.get(v, v)
        if tuple(imms) != ins.immediates:
            changed = True
            out.append(encode_instruction(ins.replace(*imms)))
        else:
            out.append(bytes(ins.raw))
    return b"".join(out) if changed else None


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except WasmError as e:
        return (type(e).__name__, e.offset)


mapping_strategy = st.dictionaries(st.integers(0, 3), st.integers(0, 3), max_size=4)


@SETTINGS
@given(sequence, mapping_strategy)
def test_remap_equals_reference_on_generated_code(instrs, mapping):
    body = as_body(encode_all(instrs))
    assert outcome(remap_memory_indices, body, mapping) == outcome(reference_remap, body, mapping)


@functools.lru_cache(maxsize=1)
def real_bodies() -> list[bytes]:
    """Bodies (with their size prefix stripped) from the corpus and a multi-memory WAT module."""
    from test_code import BODY, code_of

    modules = [wat("(module (memory $a 1) (memory $b i64 1) (memory $c 1 2 shared)" + BODY + ")")]
    # asc-built fixtures are always there; the spec corpus only where ../shared is
    modules += [p.read_bytes() for p in fixture_modules()[::9]]
    if CORPUS.is_dir():
        files = corpus_files("valid")
        modules += [p.read_bytes() for p in files[::7]]
    out = []
    for data in modules:
        found = code_of(data)
        if found:
            out += [bytes(b.raw) for b in split_code_section(*found) if 8 <= b.size <= 2000]
    return out


def decoded(raw: bytes) -> list[Instruction]:
    return list(split_code_section(b"\x01" + encode_u(len(raw)) + raw, 0)[0].instructions())


mutation = st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "insert", "delete"]),
                     st.integers(0, 255))


@SETTINGS
@given(st.integers(0, 10**6), st.lists(mutation, min_size=1, max_size=4), mapping_strategy)
def test_mutated_real_bodies_raise_only_wasm_errors_and_fast_equals_reference(which, mutations, mapping):
    bodies = real_bodies()
    raw = bytearray(bodies[which % len(bodies)])
    for at, kind, value in mutations:
        at %= len(raw) + (kind == "insert")
        if kind == "set" and at < len(raw):
            raw[at] = value
        elif kind == "insert":
            raw.insert(at, value)
        elif len(raw) > 1:
            del raw[at % len(raw)]
    payload = b"\x01" + encode_u(len(raw)) + bytes(raw)
    body = split_code_section(payload, 500)[0]
    # everything raises only WasmError (outcome() lets nothing else through) ...
    fast_check = outcome(check_body, body)
    assert fast_check == outcome(reference_check, body)
    if fast_check[0] == "ok":
        fast, reference = remap_memory_indices(body, mapping), reference_remap(body, mapping)
        assert (fast is None) == (reference is None)
        if fast is not None:
            # same instructions; ours may be longer where it kept a padded memarg offset as written
            assert decoded(fast) == decoded(reference) and len(fast) >= len(reference)
    else:
        outcome(remap_memory_indices, body, mapping)  # may pass or fail, but only with WasmError
    outcome(lambda: body.locals)
    outcome(lambda: list(body.instructions()))


def test_real_bodies_are_available():
    assert len(real_bodies()) >= 3
    for raw in real_bodies()[:50]:
        check_body(split_code_section(b"\x01" + encode_u(len(raw)) + raw, 0)[0])


# -- binary/uses.py: byte searches first, then a decode of the bodies that hold them ----------

@functools.lru_cache(maxsize=None)
def _decoded_uses(path):
    from wasmem.module import Module

    m = Module.from_file(path)
    code = m.section(10)
    gets, consts = set(), set()
    if code is not None:
        for body in split_code_section(code.payload, code.offset):
            for ins in body.instructions():
                if ins.op.name == "global.get":
                    gets.add(ins.immediates[0])
                elif ins.op.name == "i32.const":
                    consts.add(ins.immediates[0])
    return code, sorted(gets), sorted(consts)


_MODULES = [p for p in fixture_modules() if p.stat().st_size < 200_000]


@SETTINGS
@given(st.sampled_from(_MODULES), st.data())
def test_global_and_const_uses_agree_with_a_full_decode(path, data):
    code, gets, consts = _decoded_uses(path)
    if code is None:
        return
    index = data.draw(st.sampled_from(gets) | st.integers(0, 300) if gets else st.integers(0, 300))
    value = data.draw(st.sampled_from(consts) | st.integers(-2**31, 2**31 - 1) if consts
                      else st.integers(-2**31, 2**31 - 1))
    expected = (index in gets, value in consts)
    assert U.global_and_const_uses(code.payload, code.offset, index, value) == expected
    assert U.global_and_const_uses(code.payload, code.offset, index, value % 2**32) == expected  # (as an address)
    assert U.holds_but_never_reads(code.payload, code.offset, index, value) == (expected[1] and not expected[0])

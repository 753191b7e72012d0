"""binary/code.py: the instruction table, bodies, the strict check and memory remapping.

Oracles: wasm-tools (print, print --print-offsets, parse, validate) and
wasmtime.wat2wasm; the spec-testsuite corpus for coverage.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import corpus_files, wasm_tools, wat
from wasmem.binary import code as C
from wasmem.binary import opcodes as T
from wasmem.binary.code import (
    FunctionBody,
    Instruction,
    MemArg,
    RefType,
    check_body,
    check_code_section,
    encode_code_section,
    encode_instruction,
    iter_instructions,
    remap_code_section,
    remap_memory_indices,
    split_code_section,
)
from wasmem.binary.leb import encode_u, read_u32
from wasmem.errors import DecodeError, UnsupportedError, WasmError

# -- a minimal section walker (the test's own, independent of binary/sections.py) --------


def sections(data: bytes) -> list[tuple[int, int, int]]:
    """(id, payload offset, payload end) per section."""
    assert data[:8] == b"\0asm\1\0\0\0"
    out, pos = [], 8
    while pos < len(data):
        sid = data[pos]
        size, p = read_u32(data, pos + 1)
        out.append((sid, p, p + size))
        pos = p + size
    return out


def code_of(data: bytes) -> tuple[memoryview, int] | None:
    for sid, start, end in sections(data):
        if sid == 10:
            return memoryview(data)[start:end], start
    return None


def splice(data: bytes, replacements: dict[int, bytes]) -> bytes:
    """The module with the payloads of some sections replaced (sizes re-encoded)."""
    out = [data[:8]]
    for sid, start, end in sections(data):
        payload = replacements.get(sid, data[start:end])
        out.append(bytes((sid,)) + encode_u(len(payload)) + payload)
    return b"".join(out)


def tool(*args, data: bytes | None = None) -> subprocess.CompletedProcess:
    exe = wasm_tools()
    if exe is None:
        pytest.skip("wasm-tools is not installed")
    return subprocess.run([exe, *args], input=data, capture_output=True)


# -- the opcode table against wasm-tools ----------------------------------------------------

# distinctive immediates, so a swapped or mis-sized field shows up in the printed text
SAMPLE = {k: 3 for k in T.INDEX_KINDS}
SAMPLE.update({
    T.LABEL: 0, T.MEMARG: MemArg(1, 5, 2), T.LANE: 1, T.BLOCKTYPE: None, T.BR_TABLE: ((0, 0), 0),
    T.I32: -7, T.I64: 1 << 40, T.F32: bytes(4), T.F64: bytes(8), T.V128: bytes(range(16)),
    T.SHUFFLE: bytes(range(16)), T.VALTYPES: ("i32",), T.HEAPTYPE: "func", T.CAST_FLAGS: 1,
    T.CATCHES: (C.Catch("catch", 3, 0), C.Catch("catch_all_ref", None, 0)),
    T.RESUME_TABLE: (C.Handler("on_label", 3, 0), C.Handler("on_switch", 3, None)), T.ZERO_BYTE: 0,
})
# our names where the text format shares one name between two opcodes
TEXT_NAME = {"select_t": "select", "ref.test_null": "ref.test", "ref.cast_null": "ref.cast"}
NESTED_ONLY = {"end", "else", "catch", "catch_all", "delegate"}


def every_instruction() -> list[Instruction]:
    """Each opcode of the table once, blocks closed, else/catch inside their blocks."""
    out = []

    def emit(name, *imms):
        op = T.BY_NAME[name]
        out.append(Instruction(op, imms or tuple(SAMPLE[k] for k in op.immediates)))

    for op in T.ALL_OPS:
        if op.name in NESTED_ONLY:
            continue
        emit(op.name)
        if op.name == "if":
            emit("else")
        elif op.name == "try":
            emit("catch")
            emit("catch_all")
        if op.name in T.BLOCK_OPENERS:
            emit("end")
    out += [Instruction("try", (None,)), Instruction("delegate", (0,)), Instruction("end")]
    return out  # the last `end` closes the function


def module_with_body(expr: bytes, locals_: bytes = b"\x00") -> bytes:
    body = locals_ + expr
    code = encode_u(1) + encode_u(len(body)) + body

    def sec(sid, payload):
        return bytes((sid,)) + encode_u(len(payload)) + payload

    return b"\0asm\1\0\0\0" + sec(1, b"\x01\x60\x00\x00") + sec(3, b"\x01\x00") + sec(10, code)


def test_table_has_every_group():
    assert len(T.ALL_OPS) == 583
    assert sum(op.prefix == T.PREFIX_SIMD for op in T.ALL_OPS) == 256  # 236 SIMD + 20 relaxed
    assert sum(op.prefix == T.PREFIX_ATOMIC for op in T.ALL_OPS) == 67
    assert T.BY_NAME["memory.copy"].memory_immediates == (0, 1)
    assert T.BY_NAME["memory.init"].memory_immediates == (1,)
    assert T.BY_NAME["data.drop"].memory_immediates == ()
    assert T.BY_NAME["v128.store64_lane"].immediates == (T.MEMARG, T.LANE)


def test_table_names_and_immediates_agree_with_wasm_tools(tmp_path):
    instrs = every_instruction()
    expr = b"".join(encode_instruction(i) for i in instrs)
    module = module_with_body(expr)
    printed = tool("print", "-", data=module)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.decode().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("(func"))
    names = [line.split()[0] for line in lines[start + 1:] if line.strip() and not line.strip().startswith(")")]
    assert names == [TEXT_NAME.get(i.name, i.name) for i in instrs[:-1]]  # the function's end prints as `)`
    # the text wasm-tools printed parses back to our bytes (immediates included)
    parsed = tool("parse", "-", data=printed.stdout)
    assert parsed.returncode == 0, parsed.stderr
    assert bytes(code_of(parsed.stdout)[0]) == bytes(code_of(module)[0])
    # and we decode what we encoded
    body = split_code_section(*code_of(module))[0]
    assert list(body.instructions()) == instrs


# -- the spec corpus ---------------------------------------------------------------------------


def bodies_of(path) -> list[FunctionBody]:
    found = code_of(path.read_bytes())
    return split_code_section(*found) if found else []


def test_valid_corpus_decodes_and_reencodes_byte_for_byte(corpus):
    files = corpus_files("valid")
    n_bodies = n_instrs = n_padded = 0
    names = set()
    for path in files:
        for body in bodies_of(path):
            n_bodies += 1
            check_body(body)
            pieces = [bytes(body.raw[: body.expr_start])]
            for ins in body.instructions():
                n_instrs += 1
                names.add(ins.name)
                raw = bytes(ins.raw)
                assert ins.end - ins.offset == len(raw)
                pieces.append(encode_instruction(ins))
                canonical = encode_instruction(ins, preserve=False)
                if canonical != raw:
                    # only padded LEBs or an explicit memory 0 differ: longer, same meaning
                    n_padded += 1
                    assert len(raw) > len(canonical), (path.name, ins)
                    assert list(iter_instructions(canonical)) == [ins]
            assert b"".join(pieces) == bytes(body.raw), path.name
    print(f"\nvalid/: {len(files)} modules, {n_bodies} bodies, {n_instrs} instructions, "
          f"{len(names)} distinct opcodes, {n_padded} non-canonical instructions")
    assert (len(files), n_bodies, n_instrs) == (1838, 7475, 47032)
    assert n_padded == 8  # binary-leb128's padded 0xfc sub-opcodes and wide-arithmetic's
    assert len(names) > 480


def test_invalid_corpus_bodies_are_well_formed(corpus):
    # invalid/ fails validation, not decoding: every body must decode
    n = 0
    for path in corpus_files("invalid"):
        found = code_of(path.read_bytes())
        if found:
            n += len(check_code_section(*found))
    assert n == 2603


def _wasm_tools_error(path) -> str:
    return subprocess.run([wasm_tools(), "validate", "--features", "all", str(path)],
                          capture_output=True, text=True).stderr


def test_malformed_corpus_gives_only_wasm_errors_at_wasm_tools_offsets(corpus):
    if wasm_tools() is None:
        pytest.skip("wasm-tools is not installed")
    files = corpus_files("malformed")
    failures = {}
    with_code = []
    for path in files:
        data = path.read_bytes()
        try:
            found = code_of(data)
        except (AssertionError, WasmError, IndexError):
            continue  # this test's own section walker gave up: nothing of ours to test
        if found:
            with_code.append(path)
        try:
            if found:
                for body in check_code_section(*found):
                    list(body.instructions())
                    remap_memory_indices(body, {0: 1})
        except WasmError as e:  # anything else fails the test
            failures[path.name] = e
    assert len(failures) == 25
    # where wasm-tools blames a function body, it names the same byte
    with ThreadPoolExecutor(8) as pool:
        verdicts = dict(zip(with_code, pool.map(_wasm_tools_error, with_code)))
    compared = 0
    for path, err in verdicts.items():
        if "failed to validate" not in err or "data count section required" in err:
            continue  # not a body error (data count is a cross-section rule)
        theirs = int(re.search(r"at offset (0x[0-9a-f]+)", err).group(1), 16)
        mine = failures[path.name]
        if "too many locals" in err:
            assert "too many locals" in mine.message  # wasmparser points at the first group, we at the overflow
            continue
        assert mine.offset == theirs, (path.name, err, str(mine))
        compared += 1
    assert compared == 16


@pytest.mark.slow
def test_instruction_offsets_agree_with_wasm_tools_print(corpus):
    if wasm_tools() is None:
        pytest.skip("wasm-tools is not installed")
    # the largest module of each script about memory, SIMD, atomics, GC, exceptions, tail calls, encodings
    largest = {}
    for p in corpus_files("valid"):
        if re.match(r"(memory|simd_l|simd_s|simd_a|threads|try|throw|br_on|ref_|call_ref|return_call|array|"
                    r"struct|bulk|select|wide|binary|align|i31|relaxed|tag|unwind|br_table)", p.name):
            stem = p.name.split(".")[0]
            if stem not in largest or p.stat().st_size > largest[stem].stat().st_size:
                largest[stem] = p
    files = sorted(largest.values())
    assert len(files) > 60
    line_re = re.compile(r"^\(;@([0-9a-f]+)\s*;\)(\s*)(.*)$")

    def printed(path):
        return subprocess.run([wasm_tools(), "print", "--print-offsets", str(path)],
                              capture_output=True, text=True, check=True).stdout

    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(printed, files))
    checked = 0
    for path, text in zip(files, outputs):
        theirs = []  # (offset, first word) of each instruction, the function's closing `)` as its end
        in_func = None
        for line in text.splitlines():
            m = line_re.match(line)
            if not m:
                continue
            offset, indent, rest = int(m.group(1), 16), len(m.group(2)), m.group(3)
            if rest.startswith("(func"):
                in_func = indent
            elif in_func is not None:
                if rest == ")" and indent == in_func:
                    theirs.append((offset, "end"))
                    in_func = None
                elif not rest.startswith("("):
                    theirs.append((offset, rest.split()[0]))
        mine = [(ins.offset, TEXT_NAME.get(ins.name, ins.name)) for b in bodies_of(path) for ins in b.instructions()]
        assert mine == theirs, path.name
        checked += len(mine)
    print(f"\n{len(files)} modules, {checked} instruction offsets agree with wasm-tools print")
    assert checked > 5000


# -- bodies and framing ---------------------------------------------------------------------


def test_locals_and_offsets():
    data = wat("""(module (type $t (func)) (memory 1)
      (func (local i32 i32 i64) (local (ref null $t)) (local v128) (local externref)
        i32.const 1 drop))""")
    payload, base = code_of(data)
    (body,) = split_code_section(payload, base)
    assert body.locals == ((2, "i32"), (1, "i64"), (1, RefType(True, 0)), (1, "v128"), (1, "externref"))
    assert body.offset == base + 2 and body.size == len(body.raw) == payload[1]
    assert bytes(body.framed) == bytes(payload[1:])
    ins = list(body.instructions())
    assert [i.name for i in ins] == ["i32.const", "drop", "end"]
    assert ins[0].offset == body.expr_offset and ins[0].immediates == (1,)
    assert ins[-1].end == base + len(payload)


def test_multi_memory_memarg_and_memory64_offset_decode():
    data = wat("""(module (memory 1) (memory i64 1)
      (func
        (drop (i32.load offset=7 (i32.const 0)))
        (drop (i64.load 1 offset=0x1_0000_0000 align=4 (i64.const 0)))
        (drop (memory.size 1)) (memory.copy 0 1 (i32.const 0) (i64.const 0) (i32.const 0))))""")
    (body,) = split_code_section(*code_of(data))
    by_name = {i.name: i.immediates for i in body.instructions()}
    assert by_name["i32.load"] == (MemArg(2, 7, 0),)
    assert by_name["i64.load"] == (MemArg(2, 1 << 32, 1),)
    assert by_name["memory.size"] == (1,)
    assert by_name["memory.copy"] == (0, 1)


def test_gc_exception_and_typed_reference_immediates():
    data = wat("""(module
      (type $s (struct (field (mut i32))))
      (type $f (func (result i32)))
      (tag $e (param i32))
      (func (param anyref (ref null $f)) (result i32)
        (block $l (result anyref)
          (br_on_cast_fail $l anyref (ref $s) (local.get 0))
          (drop (struct.get $s 0))
          (ref.null none))
        (drop (ref.test (ref null $s)))
        (block $h (result i32)
          (try_table (result i32) (catch $e $h) (call_ref $f (local.get 1)))
          (return))
        ))""")
    (body,) = split_code_section(*code_of(data))
    ins = {i.name: i.immediates for i in body.instructions()}
    assert ins["br_on_cast_fail"] == (1, 0, "any", 0)  # source nullable, target not
    assert ins["ref.null"] == ("none",)
    assert ins["ref.test_null"] == (0,)
    assert ins["try_table"] == ("i32", (C.Catch("catch", 0, 0),))  # catch labels count from outside try_table
    assert ins["call_ref"] == (1,)
    assert ins["block"] == ("i32",)  # the last block seen


def test_encode_preserves_padding_unless_changed():
    # i32.load with a padded offset (3 bytes for 5), then end
    expr = bytes([0x41, 0x00, 0x28, 0x02, 0x85, 0x80, 0x00, 0x1A, 0x0B])
    load = list(iter_instructions(expr, 100))[1]
    assert load.offset == 102 and load.span == (102, 107)
    assert load.immediates == (MemArg(2, 5, 0),)
    assert encode_instruction(load) == bytes([0x28, 0x02, 0x85, 0x80, 0x00])
    assert encode_instruction(load, preserve=False) == bytes([0x28, 0x02, 0x05])
    moved = load.replace(MemArg(2, 5, 3))
    assert encode_instruction(moved) == bytes([0x28, 0x42, 0x03, 0x05])
    assert Instruction("block", (70,)).op.code == 0x02
    assert encode_instruction(Instruction("block", (70,))) == bytes([0x02, 0xC6, 0x00])  # s33: 70 needs 2 bytes
    with pytest.raises(ValueError):
        Instruction("i32.load", ())
    with pytest.raises(ValueError):
        Instruction("i32.frobnicate")


@pytest.mark.parametrize("payload, offset, message", [
    (b"\x05\x02\x00\x0b", 100, "larger than the 3 remaining bytes"),  # count past the end
    (b"\x01\x05\x00\x0b", 101, "runs past the end"),  # size past the end
    (b"\x02\x00\x02\x00\x0b", 101, "empty"),
    (b"\x01\x02\x00\x0b\x00", 104, "section size mismatch"),
    (b"\x01\x02\x00\x0b" + b"\x80" * 5, 104, "section size mismatch"),
    (b"\x81", 101, "unexpected end"),
])
def test_split_rejects_bad_framing_with_offsets(payload, offset, message):
    with pytest.raises(DecodeError) as e:
        split_code_section(payload, 100)
    assert message in e.value.message
    assert e.value.offset == offset


@pytest.mark.parametrize("expr, offset, message", [
    (b"\x0b\x01", 11, "1 bytes after the final end"),
    (b"\x02\x40\x0b", 13, "ends inside 1 open block"),
    (b"\x05\x0b", 10, "else outside an if"),
    (b"\x04\x40\x05\x05\x0b\x0b", 13, "else outside an if"),
    (b"\x19\x0b", 10, "catch_all outside a try"),
    (b"\x06\x40\x19\x07\x00\x0b\x0b", 13, "catch outside a try"),
    (b"\xff\x0b", 10, "unknown opcode 0xff"),
    (b"\xfd\x9a\x01\x0b", 10, "unknown opcode 0xfd 0x9a"),
    (b"\xfc\x20\x0b", 10, "unknown opcode 0xfc 0x20"),
    (b"\x02\x50\x0b\x0b", 11, "malformed block type 0x50"),
    (b"\xd0\x65\x70\x0b", 11, "shared heap types"),
    (b"\x28\x80\x01\x00\x0b", 11, "alignment exponent 128"),
    (b"\x1c\x01\x50\x0b", 12, "malformed value type 0x50"),
    (b"\x0e\xff\xff\xff\xff\x0f\x0b", 11, "count 4294967295 is larger than the"),
    (b"\x43\x00\x00", 13, "unexpected end of code in the immediates of f32.const"),
    (b"\xfb\x18\x04\x00\x70\x70\x0b", 12, "invalid cast flags 0x04"),
    (b"\x1f\x40\x01\x04\x00\x0b\x0b", 13, "malformed try_table catch kind 0x04"),
])
def test_check_body_errors(expr, offset, message):
    # a body at absolute offset 9: one byte of locals (none), expression from 10
    payload = b"\x01" + encode_u(len(expr) + 1) + b"\x00" + expr
    with pytest.raises(DecodeError) as e:
        check_code_section(payload, 7)
    assert message in e.value.message
    assert e.value.offset == offset
    if message.startswith("unknown opcode") or message.startswith("shared"):
        assert isinstance(e.value, UnsupportedError)


def test_too_many_locals_refused_before_allocating():
    locals_ = b"\x02" + b"\xff\xff\xff\xff\x0f\x7f" + b"\x02\x7e"
    payload = b"\x01" + encode_u(len(locals_) + 1) + locals_ + b"\x0b"
    (body,) = split_code_section(payload, 0)
    with pytest.raises(DecodeError, match="too many locals") as e:
        body.locals
    assert e.value.offset == 9  # the group that overflows
    huge_groups = b"\xff\xff\xff\xff\x0f\x0b"
    payload = b"\x01" + encode_u(len(huge_groups)) + huge_groups
    with pytest.raises(DecodeError, match="count 4294967295 is larger than the"):
        split_code_section(payload, 0)[0].locals


def test_encode_code_section_copies_framing():
    padded = b"\x02" + b"\x83\x00\x00\x41\x00" + b"\x02\x00\x0b"  # body 0's size is a padded LEB
    bodies = split_code_section(padded, 0)
    assert bodies[0].raw.tobytes() == b"\x00\x41\x00"  # no end: framing does not decode
    assert encode_code_section(bodies) == padded
    assert encode_code_section([bodies[0], b"\x00\x01\x0b"]) == b"\x02\x83\x00\x00\x41\x00\x03\x00\x01\x0b"


# -- memory remapping: goldens from wasm-tools -----------------------------------------------------

MEMORIES = {
    "a": "(memory $a 1 2)",
    "b": "(memory $b i64 1 2)",
    "c": "(memory $c 1 2 shared)",
}
# Every instruction that names a memory, against each memory ($b is 64-bit).
BODY = """
  (func $use (param $p i32) (param $q i64) (result i32)
    (local v128)
    (drop (i32.load $a offset=4 (local.get $p)))
    (i64.store $b offset=8 align=4 (local.get $q) (i64.const 7))
    (drop (i32.load8_u $c (local.get $p)))
    (drop (memory.size $a)) (drop (memory.size $b)) (drop (memory.grow $c (i32.const 0)))
    (memory.fill $b (local.get $q) (i32.const 0) (i64.const 0))
    (memory.copy $a $b (local.get $p) (local.get $q) (i32.const 0))
    (memory.copy $c $a (local.get $p) (local.get $p) (i32.const 0))
    (memory.init $b $d (local.get $q) (i32.const 0) (i32.const 0))
    (data.drop $d)
    (drop (i32.atomic.rmw.add $c (local.get $p) (i32.const 1)))
    (drop (memory.atomic.notify $a (local.get $p) (i32.const 1)))
    (drop (memory.atomic.wait32 $c (local.get $p) (i32.const 0) (i64.const 0)))
    (atomic.fence)
    (local.set 2 (v128.load $b offset=16 (local.get $q)))
    (v128.store32_lane $c 1 (local.get $p) (local.get 2))
    (local.set 2 (v128.load8_lane $a 3 (local.get $p) (local.get 2)))
    (v128.store $a (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
                                    (local.get 2) (v128.load64_splat $b (local.get $q))))
    (block (br_table 0 0 (i32.const 0)))
    (i32.load16_s $b (local.get $q)))
  (func (result i32) (i32.load $a (i32.const 0)))
  (func (result i32) (i32.const 1))
  (data $d "hi")
"""


def memories_module(order: str) -> bytes:
    return wat("(module " + " ".join(MEMORIES[m] for m in order) + BODY + ")")


@pytest.mark.parametrize("order", ["bac", "cab", "acb", "cba"])
def test_remap_matches_wasm_tools_layout(order, validate_wasm):
    """Renumbering the code of memories 'abc' to order `order` gives what the text compiler writes for it."""
    before, after = memories_module("abc"), memories_module(order)
    mapping = {i: order.index(m) for i, m in enumerate("abc")}
    payload, base = code_of(before)
    new = remap_code_section(payload, base, mapping)
    assert new == bytes(code_of(after)[0])
    # the third body uses no memory: it is left alone
    bodies = split_code_section(payload, base)
    assert remap_memory_indices(bodies[2], mapping) is None
    # splice: the memories in their new order plus the remapped code is the other module exactly
    memory_section = next(after[s:e] for sid, s, e in sections(after) if sid == 5)
    spliced = splice(before, {5: memory_section, 10: new})
    assert non_custom(spliced) == non_custom(after)  # the name section lists memory names in index order
    ok, err = validate_wasm(spliced)
    assert ok, err
    # the new indices decode as mapped
    old_mems = [memory_indices(i) for b in bodies for i in b.instructions()]
    new_mems = [memory_indices(i) for b in split_code_section(new, base) for i in b.instructions()]
    assert new_mems == [tuple(mapping[m] for m in ms) for ms in old_mems]
    assert sum(len(m) for m in old_mems) == 22


def non_custom(data: bytes) -> list[tuple[int, bytes]]:
    return [(sid, data[s:e]) for sid, s, e in sections(data) if sid != 0]


def memory_indices(ins: Instruction) -> tuple[int, ...]:
    out = []
    for i in ins.op.memory_immediates:
        v = ins.immediates[i]
        out.append(v.memory if isinstance(v, MemArg) else v)
    return tuple(out)


TWO_MEMORIES = {"x": "(memory $x 1)", "y": "(memory $y i64 1)"}
TWO_BODY = """
  (func (param $p i32) (param $q i64)
    (i32.store $x (local.get $p) (i32.load $y offset=3 (local.get $q)))
    (i64.atomic.store $y (local.get $q) (i64.atomic.load $x (local.get $p)))
    (memory.copy $y $x (local.get $q) (local.get $p) (i32.const 1))
    (drop (memory.grow $y (i64.const 1))) (drop (memory.size $x))
    (v128.store16_lane $y 7 (local.get $q) (v128.load32_zero $x (local.get $p))))
"""


def test_remap_swaps_two_memories(validate_wasm):
    before = wat("(module " + TWO_MEMORIES["x"] + TWO_MEMORIES["y"] + TWO_BODY + ")")
    after = wat("(module " + TWO_MEMORIES["y"] + TWO_MEMORIES["x"] + TWO_BODY + ")")
    payload, base = code_of(before)
    new = remap_code_section(payload, base, {0: 1, 1: 0})
    assert new == bytes(code_of(after)[0])
    memory_section = next(after[s:e] for sid, s, e in sections(after) if sid == 5)
    spliced = splice(before, {5: memory_section, 10: new})
    ok, err = validate_wasm(spliced)
    assert ok, err
    # the code alone, without the memories swapped, does not validate: the remap is what made it fit
    ok, err = validate_wasm(splice(before, {10: new}))
    assert not ok and "type mismatch" in err


def test_remap_identity_and_callable():
    payload, base = code_of(memories_module("abc"))
    assert remap_code_section(payload, base, {0: 0, 1: 1, 2: 2}) is None
    assert remap_code_section(payload, base, {}) is None
    assert remap_code_section(payload, base, lambda i: i) is None
    for body in split_code_section(payload, base):
        assert remap_memory_indices(body, {5: 6}) is None
    swapped = remap_code_section(payload, base, lambda i: {0: 1, 1: 0}.get(i, i))
    assert swapped == remap_code_section(payload, base, {0: 1, 1: 0})
    assert remap_code_section(swapped, base, {0: 1, 1: 0}) == bytes(payload)


def test_remap_memory0_explicit_and_padded_forms():
    # i32.load with memory 0 written explicitly (flag bit 6, index 0) and a padded offset; memory.size 0 padded
    expr = bytes([0x41, 0x00, 0x28, 0x42, 0x00, 0x84, 0x00, 0x1A, 0x3F, 0x80, 0x00, 0x1A, 0x0B])
    body = split_code_section(b"\x01" + encode_u(len(expr) + 1) + b"\x00" + expr, 0)[0]
    assert remap_memory_indices(body, {1: 0}) is None  # memory 0 stays: bytes as they were
    new = remap_memory_indices(body, {0: 3})
    # the load gets canonical flags with index 3 and keeps its padded offset; memory.size gets 3
    assert new == b"\x00" + bytes([0x41, 0x00, 0x28, 0x42, 0x03, 0x84, 0x00, 0x1A, 0x3F, 0x03, 0x1A, 0x0B])
    back = split_code_section(b"\x01" + encode_u(len(new)) + new, 0)[0]
    assert remap_memory_indices(back, {3: 0}) == b"\x00" + bytes(
        [0x41, 0x00, 0x28, 0x02, 0x84, 0x00, 0x1A, 0x3F, 0x00, 0x1A, 0x0B])


def test_remap_reports_malformed_body():
    expr = bytes([0x41, 0x00, 0x28, 0x42])  # memarg cut short
    body = split_code_section(b"\x01" + encode_u(len(expr) + 1) + b"\x00" + expr, 50)[0]
    with pytest.raises(DecodeError, match="i32.load"):
        remap_memory_indices(body, {0: 1})
    expr = bytes([0x41, 0x00, 0xFD, 0x9A, 0x01, 0x0B])
    body = split_code_section(b"\x01" + encode_u(len(expr) + 1) + b"\x00" + expr, 50)[0]
    with pytest.raises(UnsupportedError, match="unknown opcode 0xfd 0x9a") as e:
        remap_memory_indices(body, {0: 1})
    assert e.value.offset == 50 + 2 + 1 + 2

"""The instruction table: every opcode of the core spec and its immediates.

This is the single grammar of instructions. Each row gives an opcode, its text
format name and the kinds of its immediates, in encoding order; ``code.py``
reads and writes each kind in exactly one place and derives its fast scanning
tables from this file, so an opcode is added here and nowhere else.

Covered: MVP, sign extension, saturating truncation, bulk memory, reference
types, multi-value, typed function references, tail calls, legacy and new
exception handling, GC, SIMD and relaxed SIMD, threads, multi-memory, memory64,
wide arithmetic, stack switching and the memory-control ``memory.discard``.
Shared-everything threads (``0xFE 0x4F..``, the ``0x65`` shared heap type) is not.
"""

from __future__ import annotations

from typing import NamedTuple

# -- immediate kinds ------------------------------------------------------------
# Indices: each a u32 LEB; the kind says which index space it points into.
LABEL = "label"
FUNC = "func"
LOCAL = "local"
GLOBAL = "global"
TABLE = "table"
TYPE = "type"
ELEM = "elem"
DATA = "data"
TAG = "tag"
FIELD = "field"
MEMORY = "memory"  # a memory index (memory.size/grow/fill/copy/init/discard)
COUNT = "count"  # a plain u32 (array.new_fixed's length)
INDEX_KINDS = frozenset((LABEL, FUNC, LOCAL, GLOBAL, TABLE, TYPE, ELEM, DATA, TAG, FIELD, MEMORY, COUNT))

MEMARG = "memarg"  # align flags u32 (bit 6: a memory index u32 follows), offset u64
LANE = "lane"  # one byte
BLOCKTYPE = "blocktype"  # 0x40 | valtype | s33 type index
BR_TABLE = "br_table"  # vec(label) label
I32 = "i32"  # s32
I64 = "i64"  # s64
F32 = "f32"  # 4 raw bytes (kept as bytes: NaN payloads must survive)
F64 = "f64"  # 8 raw bytes
V128 = "v128"  # 16 raw bytes
SHUFFLE = "shuffle"  # 16 lane bytes
VALTYPES = "valtypes"  # vec(valtype) of typed select
HEAPTYPE = "heaptype"  # abstract heap type byte | s33 type index
CAST_FLAGS = "castflags"  # one byte, 0..3: bit 0 source nullable, bit 1 target nullable
CATCHES = "catches"  # vec(catch) of try_table
RESUME_TABLE = "resume_table"  # vec(handler) of resume/resume_throw
ZERO_BYTE = "zero_byte"  # atomic.fence's reserved 0x00

# Prefix bytes: the sub-opcode after them is a u32 LEB.
PREFIX_GC = 0xFB
PREFIX_MISC = 0xFC
PREFIX_SIMD = 0xFD
PREFIX_ATOMIC = 0xFE
PREFIXES = (PREFIX_GC, PREFIX_MISC, PREFIX_SIMD, PREFIX_ATOMIC)


class OpInfo(NamedTuple):
    name: str
    prefix: int | None  # None for a one-byte opcode
    code: int
    immediates: tuple[str, ...]

    @property
    def label(self) -> str:
        """The opcode as errors print it: ``0x28`` or ``0xfd 0x54``."""
        if self.prefix is None:
            return f"0x{self.code:02x}"
        return f"0x{self.prefix:02x} 0x{self.code:02x}"

    @property
    def memory_immediates(self) -> tuple[int, ...]:
        """Positions (in ``immediates``) of immediates that hold a memory index."""
        return tuple(i for i, k in enumerate(self.immediates) if k in (MEMARG, MEMORY))


# -- the table -------------------------------------------------------------------
# "hexcode name kind kind ..." per line; blank lines and #-comments ignored.

_ONE_BYTE = """
00 unreachable
01 nop
02 block blocktype
03 loop blocktype
04 if blocktype
05 else
06 try blocktype          # legacy exception handling
07 catch tag              # legacy
08 throw tag
09 rethrow label          # legacy
0a throw_ref
0b end
0c br label
0d br_if label
0e br_table br_table
0f return
10 call func
11 call_indirect type table
12 return_call func
13 return_call_indirect type table
14 call_ref type
15 return_call_ref type
18 delegate label         # legacy
19 catch_all              # legacy
1a drop
1b select
1c select_t valtypes      # typed select: `select (result t*)`
1f try_table blocktype catches
20 local.get local
21 local.set local
22 local.tee local
23 global.get global
24 global.set global
25 table.get table
26 table.set table
28 i32.load memarg
29 i64.load memarg
2a f32.load memarg
2b f64.load memarg
2c i32.load8_s memarg
2d i32.load8_u memarg
2e i32.load16_s memarg
2f i32.load16_u memarg
30 i64.load8_s memarg
31 i64.load8_u memarg
32 i64.load16_s memarg
33 i64.load16_u memarg
34 i64.load32_s memarg
35 i64.load32_u memarg
36 i32.store memarg
37 i64.store memarg
38 f32.store memarg
39 f64.store memarg
3a i32.store8 memarg
3b i32.store16 memarg
3c i64.store8 memarg
3d i64.store16 memarg
3e i64.store32 memarg
3f memory.size memory
40 memory.grow memory
41 i32.const i32
42 i64.const i64
43 f32.const f32
44 f64.const f64
d0 ref.null heaptype
d1 ref.is_null
d2 ref.func func
d3 ref.eq
d4 ref.as_non_null
d5 br_on_null label
d6 br_on_non_null label
e0 cont.new type          # stack switching
e1 cont.bind type type
e2 suspend tag
e3 resume type resume_table
e4 resume_throw type tag resume_table
e5 resume_throw_ref type resume_table
e6 switch type tag
"""

# Numeric instructions without immediates, in opcode order from 0x45.
_NUMERIC = """
i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u
i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u
f32.eq f32.ne f32.lt f32.gt f32.le f32.ge
f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u
i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u
i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt
f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign
f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt
f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign
i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64
f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32
i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64
i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s
"""

_GC = """
00 struct.new type
01 struct.new_default type
02 struct.get type field
03 struct.get_s type field
04 struct.get_u type field
05 struct.set type field
06 array.new type
07 array.new_default type
08 array.new_fixed type count
09 array.new_data type data
0a array.new_elem type elem
0b array.get type
0c array.get_s type
0d array.get_u type
0e array.set type
0f array.len
10 array.fill type
11 array.copy type type
12 array.init_data type data
13 array.init_elem type elem
14 ref.test heaptype        # (ref ht)
15 ref.test_null heaptype   # (ref null ht)
16 ref.cast heaptype
17 ref.cast_null heaptype
18 br_on_cast castflags label heaptype heaptype
19 br_on_cast_fail castflags label heaptype heaptype
1a any.convert_extern
1b extern.convert_any
1c ref.i31
1d i31.get_s
1e i31.get_u
"""

_MISC = """
00 i32.trunc_sat_f32_s
01 i32.trunc_sat_f32_u
02 i32.trunc_sat_f64_s
03 i32.trunc_sat_f64_u
04 i64.trunc_sat_f32_s
05 i64.trunc_sat_f32_u
06 i64.trunc_sat_f64_s
07 i64.trunc_sat_f64_u
08 memory.init data memory
09 data.drop data
0a memory.copy memory memory   # destination, source
0b memory.fill memory
0c table.init elem table
0d elem.drop elem
0e table.copy table table
0f table.grow table
10 table.size table
11 table.fill table
12 memory.discard memory       # memory-control proposal
13 i64.add128                  # wide arithmetic
14 i64.sub128
15 i64.mul_wide_s
16 i64.mul_wide_u
"""

_SIMD = """
00 v128.load memarg
01 v128.load8x8_s memarg
02 v128.load8x8_u memarg
03 v128.load16x4_s memarg
04 v128.load16x4_u memarg
05 v128.load32x2_s memarg
06 v128.load32x2_u memarg
07 v128.load8_splat memarg
08 v128.load16_splat memarg
09 v128.load32_splat memarg
0a v128.load64_splat memarg
0b v128.store memarg
0c v128.const v128
0d i8x16.shuffle shuffle
0e i8x16.swizzle
0f i8x16.splat
10 i16x8.splat
11 i32x4.splat
12 i64x2.splat
13 f32x4.splat
14 f64x2.splat
15 i8x16.extract_lane_s lane
16 i8x16.extract_lane_u lane
17 i8x16.replace_lane lane
18 i16x8.extract_lane_s lane
19 i16x8.extract_lane_u lane
1a i16x8.replace_lane lane
1b i32x4.extract_lane lane
1c i32x4.replace_lane lane
1d i64x2.extract_lane lane
1e i64x2.replace_lane lane
1f f32x4.extract_lane lane
20 f32x4.replace_lane lane
21 f64x2.extract_lane lane
22 f64x2.replace_lane lane
23 i8x16.eq
24 i8x16.ne
25 i8x16.lt_s
26 i8x16.lt_u
27 i8x16.gt_s
28 i8x16.gt_u
29 i8x16.le_s
2a i8x16.le_u
2b i8x16.ge_s
2c i8x16.ge_u
2d i16x8.eq
2e i16x8.ne
2f i16x8.lt_s
30 i16x8.lt_u
31 i16x8.gt_s
32 i16x8.gt_u
33 i16x8.le_s
34 i16x8.le_u
35 i16x8.ge_s
36 i16x8.ge_u
37 i32x4.eq
38 i32x4.ne
39 i32x4.lt_s
3a i32x4.lt_u
3b i32x4.gt_s
3c i32x4.gt_u
3d i32x4.le_s
3e i32x4.le_u
3f i32x4.ge_s
40 i32x4.ge_u
41 f32x4.eq
42 f32x4.ne
43 f32x4.lt
44 f32x4.gt
45 f32x4.le
46 f32x4.ge
47 f64x2.eq
48 f64x2.ne
49 f64x2.lt
4a f64x2.gt
4b f64x2.le
4c f64x2.ge
4d v128.not
4e v128.and
4f v128.andnot
50 v128.or
51 v128.xor
52 v128.bitselect
53 v128.any_true
54 v128.load8_lane memarg lane
55 v128.load16_lane memarg lane
56 v128.load32_lane memarg lane
57 v128.load64_lane memarg lane
58 v128.store8_lane memarg lane
59 v128.store16_lane memarg lane
5a v128.store32_lane memarg lane
5b v128.store64_lane memarg lane
5c v128.load32_zero memarg
5d v128.load64_zero memarg
5e f32x4.demote_f64x2_zero
5f f64x2.promote_low_f32x4
60 i8x16.abs
61 i8x16.neg
62 i8x16.popcnt
63 i8x16.all_true
64 i8x16.bitmask
65 i8x16.narrow_i16x8_s
66 i8x16.narrow_i16x8_u
67 f32x4.ceil
68 f32x4.floor
69 f32x4.trunc
6a f32x4.nearest
6b i8x16.shl
6c i8x16.shr_s
6d i8x16.shr_u
6e i8x16.add
6f i8x16.add_sat_s
70 i8x16.add_sat_u
71 i8x16.sub
72 i8x16.sub_sat_s
73 i8x16.sub_sat_u
74 f64x2.ceil
75 f64x2.floor
76 i8x16.min_s
77 i8x16.min_u
78 i8x16.max_s
79 i8x16.max_u
7a f64x2.trunc
7b i8x16.avgr_u
7c i16x8.extadd_pairwise_i8x16_s
7d i16x8.extadd_pairwise_i8x16_u
7e i32x4.extadd_pairwise_i16x8_s
7f i32x4.extadd_pairwise_i16x8_u
80 i16x8.abs
81 i16x8.neg
82 i16x8.q15mulr_sat_s
83 i16x8.all_true
84 i16x8.bitmask
85 i16x8.narrow_i32x4_s
86 i16x8.narrow_i32x4_u
87 i16x8.extend_low_i8x16_s
88 i16x8.extend_high_i8x16_s
89 i16x8.extend_low_i8x16_u
8a i16x8.extend_high_i8x16_u
8b i16x8.shl
8c i16x8.shr_s
8d i16x8.shr_u
8e i16x8.add
8f i16x8.add_sat_s
90 i16x8.add_sat_u
91 i16x8.sub
92 i16x8.sub_sat_s
93 i16x8.sub_sat_u
94 f64x2.nearest
95 i16x8.mul
96 i16x8.min_s
97 i16x8.min_u
98 i16x8.max_s
99 i16x8.max_u
9b i16x8.avgr_u
9c i16x8.extmul_low_i8x16_s
9d i16x8.extmul_high_i8x16_s
9e i16x8.extmul_low_i8x16_u
9f i16x8.extmul_high_i8x16_u
a0 i32x4.abs
a1 i32x4.neg
a3 i32x4.all_true
a4 i32x4.bitmask
a7 i32x4.extend_low_i16x8_s
a8 i32x4.extend_high_i16x8_s
a9 i32x4.extend_low_i16x8_u
aa i32x4.extend_high_i16x8_u
ab i32x4.shl
ac i32x4.shr_s
ad i32x4.shr_u
ae i32x4.add
b1 i32x4.sub
b5 i32x4.mul
b6 i32x4.min_s
b7 i32x4.min_u
b8 i32x4.max_s
b9 i32x4.max_u
ba i32x4.dot_i16x8_s
bc i32x4.extmul_low_i16x8_s
bd i32x4.extmul_high_i16x8_s
be i32x4.extmul_low_i16x8_u
bf i32x4.extmul_high_i16x8_u
c0 i64x2.abs
c1 i64x2.neg
c3 i64x2.all_true
c4 i64x2.bitmask
c7 i64x2.extend_low_i32x4_s
c8 i64x2.extend_high_i32x4_s
c9 i64x2.extend_low_i32x4_u
ca i64x2.extend_high_i32x4_u
cb i64x2.shl
cc i64x2.shr_s
cd i64x2.shr_u
ce i64x2.add
d1 i64x2.sub
d5 i64x2.mul
d6 i64x2.eq
d7 i64x2.ne
d8 i64x2.lt_s
d9 i64x2.gt_s
da i64x2.le_s
db i64x2.ge_s
dc i64x2.extmul_low_i32x4_s
dd i64x2.extmul_high_i32x4_s
de i64x2.extmul_low_i32x4_u
df i64x2.extmul_high_i32x4_u
e0 f32x4.abs
e1 f32x4.neg
e3 f32x4.sqrt
e4 f32x4.add
e5 f32x4.sub
e6 f32x4.mul
e7 f32x4.div
e8 f32x4.min
e9 f32x4.max
ea f32x4.pmin
eb f32x4.pmax
ec f64x2.abs
ed f64x2.neg
ef f64x2.sqrt
f0 f64x2.add
f1 f64x2.sub
f2 f64x2.mul
f3 f64x2.div
f4 f64x2.min
f5 f64x2.max
f6 f64x2.pmin
f7 f64x2.pmax
f8 i32x4.trunc_sat_f32x4_s
f9 i32x4.trunc_sat_f32x4_u
fa f32x4.convert_i32x4_s
fb f32x4.convert_i32x4_u
fc i32x4.trunc_sat_f64x2_s_zero
fd i32x4.trunc_sat_f64x2_u_zero
fe f64x2.convert_low_i32x4_s
ff f64x2.convert_low_i32x4_u
# relaxed SIMD
100 i8x16.relaxed_swizzle
101 i32x4.relaxed_trunc_f32x4_s
102 i32x4.relaxed_trunc_f32x4_u
103 i32x4.relaxed_trunc_f64x2_s_zero
104 i32x4.relaxed_trunc_f64x2_u_zero
105 f32x4.relaxed_madd
106 f32x4.relaxed_nmadd
107 f64x2.relaxed_madd
108 f64x2.relaxed_nmadd
109 i8x16.relaxed_laneselect
10a i16x8.relaxed_laneselect
10b i32x4.relaxed_laneselect
10c i64x2.relaxed_laneselect
10d f32x4.relaxed_min
10e f32x4.relaxed_max
10f f64x2.relaxed_min
110 f64x2.relaxed_max
111 i16x8.relaxed_q15mulr_s
112 i16x8.relaxed_dot_i8x16_i7x16_s
113 i32x4.relaxed_dot_i8x16_i7x16_add_s
"""

_ATOMIC_HEAD = """
00 memory.atomic.notify memarg
01 memory.atomic.wait32 memarg
02 memory.atomic.wait64 memarg
03 atomic.fence zero_byte
10 i32.atomic.load memarg
11 i64.atomic.load memarg
12 i32.atomic.load8_u memarg
13 i32.atomic.load16_u memarg
14 i64.atomic.load8_u memarg
15 i64.atomic.load16_u memarg
16 i64.atomic.load32_u memarg
17 i32.atomic.store memarg
18 i64.atomic.store memarg
19 i32.atomic.store8 memarg
1a i32.atomic.store16 memarg
1b i64.atomic.store8 memarg
1c i64.atomic.store16 memarg
1d i64.atomic.store32 memarg
"""

# Read-modify-write atomics: seven widths per operation, operations in order from 0x1e.
_RMW_OPS = ("add", "sub", "and", "or", "xor", "xchg", "cmpxchg")
_RMW_WIDTHS = ("i32.atomic.rmw.{}", "i64.atomic.rmw.{}", "i32.atomic.rmw8.{}_u", "i32.atomic.rmw16.{}_u",
               "i64.atomic.rmw8.{}_u", "i64.atomic.rmw16.{}_u", "i64.atomic.rmw32.{}_u")


def _rows(text: str, prefix: int | None) -> list[OpInfo]:
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].split()
        if line:
            rows.append(OpInfo(line[1], prefix, int(line[0], 16), tuple(line[2:])))
    return rows


def _build() -> list[OpInfo]:
    ops = _rows(_ONE_BYTE, None)
    ops += [OpInfo(name, None, 0x45 + i, ()) for i, name in enumerate(_NUMERIC.split())]
    ops += _rows(_GC, PREFIX_GC) + _rows(_MISC, PREFIX_MISC) + _rows(_SIMD, PREFIX_SIMD)
    ops += _rows(_ATOMIC_HEAD, PREFIX_ATOMIC)
    code = 0x1E
    for op in _RMW_OPS:
        for width in _RMW_WIDTHS:
            ops.append(OpInfo(width.format(op), PREFIX_ATOMIC, code, (MEMARG,)))
            code += 1
    return ops


ALL_OPS: tuple[OpInfo, ...] = tuple(_build())

#: One-byte opcodes, indexed by the byte (None where unassigned or a prefix).
ONE_BYTE: list[OpInfo | None] = [None] * 256
#: Prefixed opcodes: prefix byte -> {sub-opcode: OpInfo}.
PREFIXED: dict[int, dict[int, OpInfo]] = {p: {} for p in PREFIXES}
BY_NAME: dict[str, OpInfo] = {}

for _op in ALL_OPS:
    if _op.prefix is None:
        ONE_BYTE[_op.code] = _op
    else:
        PREFIXED[_op.prefix][_op.code] = _op
    BY_NAME[_op.name] = _op

assert len(BY_NAME) == len(ALL_OPS), "duplicate instruction name in the table"
assert ONE_BYTE[0xC4].name == "i64.extend32_s" and ONE_BYTE[0xBF].name == "f64.reinterpret_i64"
assert PREFIXED[PREFIX_ATOMIC][0x4E].name == "i64.atomic.rmw32.cmpxchg_u"

# -- types -------------------------------------------------------------------------

#: Value types written as one byte: numbers, vector and the reference shorthands.
from .valtypes import VALTYPE_BYTES  # noqa: E402 - the one table of value types
VALTYPE_CODES: dict[str, int] = {v: k for k, v in VALTYPE_BYTES.items()}

#: Abstract heap types (the same bytes as the shorthands, named as in `(ref null func)`).
HEAPTYPE_BYTES: dict[int, str] = {
    0x70: "func", 0x6F: "extern", 0x6E: "any", 0x6D: "eq", 0x6C: "i31", 0x6B: "struct",
    0x6A: "array", 0x69: "exn", 0x68: "cont",
    0x73: "nofunc", 0x72: "noextern", 0x71: "none", 0x74: "noexn", 0x75: "nocont",
}
HEAPTYPE_CODES: dict[str, int] = {v: k for k, v in HEAPTYPE_BYTES.items()}

REF_NULL = 0x63  # (ref null ht)
REF = 0x64  # (ref ht)
EMPTY_BLOCK = 0x40

#: try_table catch clauses: kind byte -> (name, has a tag index).
CATCH_KINDS: dict[int, tuple[str, bool]] = {
    0x00: ("catch", True), 0x01: ("catch_ref", True), 0x02: ("catch_all", False), 0x03: ("catch_all_ref", False),
}
#: resume-table handlers: kind byte -> (name, has a label).
HANDLER_KINDS: dict[int, tuple[str, bool]] = {0x00: ("on_label", True), 0x01: ("on_switch", False)}

# Block structure (the binary grammar nests these; ``end`` closes the innermost).
BLOCK_OPENERS = frozenset(("block", "loop", "if", "try", "try_table"))

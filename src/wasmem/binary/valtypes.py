"""The value-type bytes and the import/export kinds: one table each, shared by
the grammar, the entry readers and the instruction decoder."""

from __future__ import annotations

# Value types, with the reference shorthands of reference types, GC, exceptions
# and stack switching. 0x63/0x64 (ref null ht / ref ht) carry an s33 heap type.
VALTYPE_BYTES: dict[int, str] = {
    0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
    0x70: "funcref", 0x6F: "externref", 0x6E: "anyref", 0x6D: "eqref", 0x6C: "i31ref",
    0x6B: "structref", 0x6A: "arrayref", 0x69: "exnref", 0x68: "contref",
    0x73: "nullfuncref", 0x72: "nullexternref", 0x71: "nullref", 0x74: "nullexnref", 0x75: "nullcontref",
}
REF_NULL, REF = 0x63, 0x64

# import and export descriptors
KINDS: dict[int, str] = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
KIND_CODES: dict[str, int] = {v: k for k, v in KINDS.items()}

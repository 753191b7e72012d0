"""wasmem read and host/read.py: objects decoded by their header and the module's RTTI.

Ground truth: asc-built modules (fixtures/host/statics.wasm, 0.28.20 unoptimized;
fixtures/info/*-strings*, 0.9.4 / 0.17.14 / 0.28.20) whose exported globals hold
the addresses of the source literals, and objects the AS runtime itself builds.
"""

from __future__ import annotations

import json
import struct

import pytest

from conftest import FIXTURES, wat
from wasmem.cli import main
from wasmem.errors import UnsupportedError, WasmError
from wasmem.host.instance import instantiate
from wasmem.host.objects import ReadError, write_arraybuffer, write_object, write_string
from wasmem.host.read import ObjectRead, json_value, module_abi, read_at, read_module_object, shape_of
from wasmem.layout.abi import for_version
from wasmem.layout.rtti import Rtti, RttiEntry
from wasmem.module import Module

STATICS = FIXTURES / "host" / "statics.wasm"
INFO = FIXTURES / "info"

# statics.ts literals, and the type/rtId asc gave them (RTTI of that module).
STATICS_VALUES = {
    "greeting": ("string", 2, "hello, wasmem ✓ 😀"),
    "empty": ("string", 2, ""),
    "primes": ("Array<i32>", 4, [2, 3, 5, 7, 11]),
    "words": ("Array<string>", 5, ["ab", "cde", "", "ab"]),
    "fixed": ("StaticArray<i32>", 6, [7, 8, 9]),
    "fixedWords": ("StaticArray<string>", 7, ["x", "yz"]),
    "ratios": ("Array<f64>", 8, [1.5, -0.25]),
    "flags": ("Array<u8>", 9, [1, 0, 1]),  # Array<bool> has the same flags
    "bigs": ("Array<i64>", 10, [-1, 0x123456789]),
    "bytes": ("Array<u8>", 11, [0, 127, 255]),
    "halves": ("Array<i16>", 12, [-2, 300]),
}


def run(capsys, *argv):
    code = main(["read", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def statics_host():
    return instantiate(STATICS.read_bytes())


@pytest.mark.parametrize("name", sorted(STATICS_VALUES))
def test_json_of_every_static_export(capsys, statics_host, name):
    type_, rt_id, value = STATICS_VALUES[name]
    code, out, err = run(capsys, STATICS, name, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["value"] == value
    assert doc["type"] == type_ and doc["rt_id"] == rt_id
    assert doc["address"] == statics_host.global_value(name)
    # rtSize: UTF-16 bytes of a string, 16 for an Array header, the elements of a StaticArray
    size = {"string": len(value.encode("utf-16-le")) if isinstance(value, str) else None,
            "StaticArray<i32>": 12, "StaticArray<string>": 8}.get(type_, 16)
    assert doc["size"] == size
    assert set(doc) == {"address", "type", "rt_id", "size", "value", "notes"}


def test_human_line_and_address_forms(capsys):
    code, out, err = run(capsys, STATICS, "greeting")
    assert code == 0 and err == ""
    assert out == 'greeting = string at 0x20 (rtId 2, 36 bytes): "hello, wasmem ✓ 😀"\n'
    # the same object by address, decimal and hex
    for addr in ("32", "0x20"):
        code, out, _ = run(capsys, STATICS, addr)
        assert code == 0 and out == 'string at 0x20 (rtId 2, 36 bytes): "hello, wasmem ✓ 😀"\n'
    code, out, _ = run(capsys, STATICS, "0x80")  # primes' backing buffer
    assert code == 0 and out == 'ArrayBuffer at 0x80 (rtId 1, 20 bytes): "020000000300000005000000070000000b000000"\n'


def test_same_flags_are_noted_and_type_overrides(capsys):
    code, out, err = run(capsys, STATICS, "flags")
    assert code == 0 and "Array<u8> and Array<bool> have the same flags" in err
    code, out, err = run(capsys, STATICS, "flags", "--type", "Array<bool>", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["value"] == [True, False, True] and doc["type"] == "Array<bool>"
    assert doc["notes"] == []  # rtId 9 does have Array<bool>'s flags
    # an override against the header works but says so
    code, out, err = run(capsys, STATICS, "greeting", "--type", "StaticArray<u16>", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["value"][:5] == [104, 101, 108, 108, 111] and doc["value"][-2:] == [0xD83D, 0xDE00]
    assert doc["notes"] == ["the header's rtId 2 is a string, not StaticArray<u16>; read as StaticArray<u16> as asked"]
    code, out, err = run(capsys, STATICS, "primes", "--type", "StaticArray<u8>")
    assert code == 0 and "(flags 0x902 ARRAY|VALUE_ALIGN_2|VALUE_SIGNED) is not StaticArray<u8>" in err


@pytest.mark.parametrize("target, message", [
    ("0", "null pointer"),
    ("0x10", "too low for an object"),
    ("0x21", "not 16-byte aligned"),
    ("0x1000000", "outside the memory (size 0x10000)"),
    ("0x70", "block size 0 (mmInfo 0x0) cannot hold its header"),
    ("0x40", "rtSize 2107155 runs past the end of memory"),
    ("0x50", "is the built-in Object base class"),
    ("4294967296", "is not a 32-bit address"),
])
def test_no_valid_object_is_exit_1(capsys, target, message):
    code, out, err = run(capsys, STATICS, target)
    assert code == 1 and out == ""
    assert err.startswith(f"wasmem: error: {STATICS}: no valid object at ") and message in err, err
    assert len(err.splitlines()) == 1


def test_type_override_that_does_not_read_is_exit_1(capsys):
    code, out, err = run(capsys, STATICS, "greeting", "--type", "Array<i32>")
    assert code == 1
    assert "the header's rtId 2 is a string, not Array<i32>, and read as Array<i32> it fails" in err


@pytest.mark.parametrize("argv, message", [
    (("nope",), "no exported global named 'nope' and not an address"),
    (("checkPositive",), "export 'checkPositive' is not a global"),
    (("greeting", "--type", "Array<i33>"), "--type: unknown type 'Array<i33>'"),
    (("greeting", "--type", "i32"), "i32 is a value type, not an object"),
    (("-5",), "-5 is not an address: addresses are not negative"),
])
def test_usage_errors_are_exit_2(capsys, argv, message):
    code, out, err = run(capsys, STATICS, *argv)
    assert code == 2 and out == "" and message in err, err


def test_a_global_of_another_type_is_exit_2(capsys, tmp_path):
    # (asking wasmtime-py for a v128 global's type would abort the process)
    from test_host_instance import UNPASSABLE

    path = tmp_path / "types.wasm"
    path.write_bytes(wat(UNPASSABLE))
    for name, t in (("vec", "v128"), ("ref", "(ref null 0)")):
        code, out, err = run(capsys, path, name, "--as-version", "0.28")
        assert (code, out) == (2, "")
        assert err == (f"wasmem: error: {path}: export '{name}' is a global of type {t}, not an address (an i32, "
                       "or an i64 for a memory64)\n")
    # without RTTI the version is unknown, which matters only once there is an object to read
    code, out, err = run(capsys, path, "__rtti_base")
    assert (code, out) == (2, "")
    assert err == (f"wasmem: error: {path}: no exported global named '__rtti_base' and not an address "
                   "(decimal or 0x); exported globals: num, ref, vec\n")


def test_unreadable_input_is_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asn\1\0\0\0")
    code, _, err = run(capsys, bad, "0x20")
    assert code == 2 and "offset 0x0: not a WebAssembly binary (magic number 0061736e, expected 0061736d)" in err
    code, _, err = run(capsys, tmp_path / "missing.wasm", "0x20")
    assert code == 2 and "missing.wasm" in err


def test_without_rtti_only_builtins_resolve(capsys):
    plain = INFO / "0.28.20-strings" / "module.wasm"
    assert "__rtti_base" not in Module.from_file(plain).symbols()
    code, out, _ = run(capsys, plain, "greeting", "--json")
    assert code == 0 and json.loads(out)["value"] == "hello"
    code, out, err = run(capsys, plain, "nums")
    assert code == 2 and "no RTTI table (__rtti_base)" in err and "give --type" in err
    code, out, _ = run(capsys, plain, "nums", "--type", "i32[]", "--json")
    assert code == 0 and json.loads(out)["value"] == [1, 2, 3]


# greeting/nums/sa/strs of strings.ts in three header variants (20-byte padded,
# 20-byte 0.17.14 with 8-byte RTTI entries, 16-byte 0.9.4).
@pytest.mark.parametrize("case, ids", [
    ("0.28.20-strings-exportRuntime", (2, 4, 5, 6)),
    ("0.17.14-strings", (1, 3, 4, 5)),
    ("0.9.4-strings", (1, 3, 4, 5)),
])
def test_versions(capsys, case, ids):
    wasm = INFO / case / "module.wasm"
    expect = {"greeting": ("string", "hello"), "nums": ("Array<i32>", [1, 2, 3]),
              "sa": ("StaticArray<i32>", [7, 8, 9]), "strs": ("Array<string>", ["ab", "cde"])}
    for (name, (type_, value)), rt_id in zip(expect.items(), ids):
        argv = [wasm, name, "--json"]
        if case.startswith("0.9.") and name == "sa":
            # 0.9.x StaticArrays carry only ACYCLIC: the flags cannot say what they are
            code, _, err = run(capsys, *argv)
            assert code == 2 and "give --type" in err
            argv += ["--type", type_]
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        doc = json.loads(out)
        assert (doc["type"], doc["rt_id"], doc["value"]) == (type_, rt_id, value)


def test_objects_the_runtime_built(statics_host):
    """Heap objects (TLSF mmInfo with flag bits) read like static ones."""
    m = Module.from_file(STATICS)
    abi, rtti = module_abi(m, None, None)
    mem = statics_host.memory()
    joined = statics_host.call("joinWords", statics_host.global_value("words"))[0]
    obj = read_at(mem, joined, abi, rtti)
    assert (obj.type, obj.rt_id, obj.value, obj.size) == ("string", 2, "ab+cde++ab", 20)
    assert joined >= m.symbols()["__heap_base"]["value"]


def test_read_module_object_api():
    obj = read_module_object(STATICS.read_bytes(), "fixedWords")
    assert isinstance(obj, ObjectRead)
    assert obj.to_json() == {"address": 0x1E0, "type": "StaticArray<string>", "rt_id": 7, "size": 8,
                             "value": ["x", "yz"], "notes": []}


# -- hand-made memories: what asc never emits ------------------------------------

ABI = for_version("0.28.20")
# ids 0-3 built-in; 4 Array<string|null>-like (ARRAY|ALIGN_2|MANAGED|NULLABLE); 5 Float64Array;
# 6 Uint8Array; 7 Set<i32>
FLAGS = [0x20, 0x20, 0x20, 0x0, 0x6102, 0x1A01, 0x41, 0x908]
RTTI = Rtti([RttiEntry(i, f, None) for i, f in enumerate(FLAGS)], ABI)


@pytest.fixture()
def mem():
    h = instantiate(wat('(module (memory (export "memory") 4))'))
    return h.memory()


def _array(mem, at, buffer_at, pointers, rt_id=4):
    write_object(mem, buffer_at, ABI.ids.array_buffer, struct.pack(f"<{len(pointers)}I", *pointers), abi=ABI)
    write_object(mem, at, rt_id, struct.pack("<IIii", buffer_at, buffer_at, 4 * len(pointers), len(pointers)),
                 abi=ABI)


def test_nested_and_typed_by_headers(mem):
    write_string(mem, 0x100, "ß", abi=ABI)
    write_string(mem, 0x140, "😀", abi=ABI)
    _array(mem, 0x200, 0x180, [0x100, 0, 0x140])             # inner Array<string | null>
    _array(mem, 0x300, 0x280, [0x200, 0x200])                # outer: the same inner twice
    obj = read_at(mem, 0x300, ABI, RTTI)
    assert obj.value == [["ß", None, "😀"], ["ß", None, "😀"]]
    assert obj.type == "Array<Array<string | null> | null>"
    write_arraybuffer(mem, 0x400, struct.pack("<2d", 0.5, float("inf")), abi=ABI)
    write_object(mem, 0x440, 5, struct.pack("<IIi", 0x400, 0x400, 16), abi=ABI)
    obj = read_at(mem, 0x440, ABI, RTTI)
    assert (obj.type, obj.value) == ("Float64Array", [0.5, float("inf")])
    assert obj.to_json()["value"] == [0.5, "inf"]
    write_arraybuffer(mem, 0x480, b"\x01\xff", abi=ABI)
    write_object(mem, 0x4C0, 6, struct.pack("<IIi", 0x480, 0x480, 2), abi=ABI)
    obj = read_at(mem, 0x4C0, ABI, RTTI)
    assert obj.value == [1, 255] and "Uint8ClampedArray" in obj.notes[0]
    _array(mem, 0x540, 0x500, [])
    obj = read_at(mem, 0x540, ABI, RTTI)
    assert obj.value == [] and obj.type == "Array<string | null>" and "no non-null element" in obj.notes[0]


def test_bad_ids_cycles_and_budget(mem):
    write_object(mem, 0x100, 8, b"", abi=ABI)
    with pytest.raises(ReadError, match=r"rtId 8 is not a class of this module \(its RTTI has 8"):
        read_at(mem, 0x100, ABI, RTTI)
    write_object(mem, 0x140, 7, b"\0" * 24, abi=ABI)
    with pytest.raises(UnsupportedError, match="class read cannot decode"):
        read_at(mem, 0x140, ABI, RTTI)
    _array(mem, 0x200, 0x180, [0x200])  # an array holding itself
    with pytest.raises(ReadError, match="nested more than 32 deep"):
        read_at(mem, 0x200, ABI, RTTI)
    # one 60 KB string referenced 2000 times: 120 MB to decode from 68 KB of memory
    write_string(mem, 0x1000, "x" * 30000, abi=ABI)
    _array(mem, 0x20000, 0x10000, [0x1000] * 2000)
    with pytest.raises(UnsupportedError, match="more than 64 MiB of payload"):
        read_at(mem, 0x20000, ABI, RTTI)
    # a string with an element id, without RTTI: only built-ins are known
    with pytest.raises(UnsupportedError, match="no RTTI table"):
        read_at(mem, 0x200, ABI, None)


def test_shape_of_legacy_flags():
    abi = for_version("0.17.14")
    rtti = Rtti([RttiEntry(i, f, 0) for i, f in enumerate([0x20, 0x20, 0x20, 0x922, 0x1a24, 0x61, 0x4122])], abi)
    shapes = [shape_of(i, abi, rtti) for i in range(3, 7)]
    assert [(s.kind, s.elem and s.elem.name, s.typed_name) for s in shapes] == [
        ("Array", "i32", None), ("StaticArray", "f64", None), ("typed", "u8", "Uint8Array"), ("Array", None, None)]


def test_json_value():
    assert json_value([b"\x00\xab", [float("nan"), -float("inf")], None, "s"]) == ["00ab", ["nan", "-inf"], None, "s"]


def test_imported_memory_and_memory_option(capsys):
    code, out, _ = run(capsys, FIXTURES / "host" / "statics-import.wasm", "words", "--json")
    assert code == 0 and json.loads(out)["value"] == ["ab", "cde", "", "ab"]
    code, out, _ = run(capsys, STATICS, "words", "--memory", "memory", "--json")
    assert code == 0 and json.loads(out)["value"] == ["ab", "cde", "", "ab"]
    code, _, err = run(capsys, STATICS, "words", "--memory", "1")
    assert code == 2 and "memory 1 does not exist or is not exported" in err
    code, out, _ = run(capsys, STATICS, "words", "--memory", "0x0", "--json")
    assert code == 0 and json.loads(out)["value"] == ["ab", "cde", "", "ab"]
    for text in ("²", "0xZZ", "01"):  # (not numbers: names, which no memory has)
        code, _, err = run(capsys, STATICS, "words", "--memory", text)
        assert code == 2 and f"no memory export or import named {text!r}" in err, err


# -- every object asc laid out in the layout fixtures (7 versions), read back ------------

def _float_words(v):
    """Spec values as read gives them back: NaN and the infinities spelled in words by the
    spec (which JSON cannot hold as numbers) as floats."""
    if isinstance(v, list):
        return [_float_words(x) for x in v]
    if isinstance(v, str) and v.strip().lower() in ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity",
                                                   "+infinity", "-infinity"):
        return float(v.strip().lower().replace("infinity", "inf"))
    return v


def _same(got, want) -> bool:
    if isinstance(want, list):
        got = list(got)
        return len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, float) and want != want:
        return got != got
    return got == want and type(got) is type(want) or (type(want) is int and type(got) is bool and got == want)


def _layout_objects():
    from fixtures_index import cases

    for case in cases("layout"):
        spec = json.loads((case / "spec.json").read_text())
        exports = json.loads((case / "expected.json").read_text())["globals"]
        for o in spec["object"]:
            if o["name"] in exports and "value" in o:
                yield pytest.param(case, o, exports[o["name"]], id=f"{case.name}-{o['name']}")


@pytest.fixture(scope="module")
def layout_hosts():
    hosts = {}

    def get(case):
        if case not in hosts:
            spec = json.loads((case / "spec.json").read_text())
            data = (case / "module.wasm").read_bytes()
            hosts[case] = (instantiate(data).memory(),
                           *module_abi(Module.from_bytes(data), spec.get("abi"), spec.get("as_version")))
        return hosts[case]

    return get


@pytest.mark.parametrize("case, obj, address", list(_layout_objects()))
def test_every_object_asc_laid_out_reads_back(layout_hosts, case, obj, address):
    memory, abi, rtti = layout_hosts(case)
    want = _float_words(obj["value"])
    assert _same(read_at(memory, address, abi, rtti, obj["type"]).value, want)
    # Without the type, the header and the RTTI tell it, but for asc 0.9's StaticArray,
    # whose RTTI entry has no STATICARRAY flag: read says so and asks for the type.
    if abi.version < (0, 10) and obj["type"].startswith("StaticArray"):
        with pytest.raises(UnsupportedError, match="cannot decode by itself"):
            read_at(memory, address, abi, rtti)
    else:
        got = read_at(memory, address, abi, rtti).value
        if "bool" in obj["type"]:  # (Array<bool> has Array<u8>'s flags: it reads as 0 and 1)
            want = [int(x) for x in want]
        assert _same(got, want)


# -- C data (read --abi c): no header, so the type and count come from --type ------------

def test_a_c_string_longer_than_one_read_decodes_says_so(monkeypatch):
    import wasmem.host.read as read_module

    host = instantiate(wat('(module (memory (export "memory") 1) (data (i32.const 16) "okay\\00"))'))
    monkeypatch.setattr(read_module, "MAX_DECODED", 4)
    with pytest.raises(ReadError, match=r"no NUL from 0x10 in the 4 bytes one read decodes: not a C string"):
        read_module.read_c(host.memory(0), 16, "cstring")
    monkeypatch.setattr(read_module, "MAX_DECODED", 5)
    assert read_module.read_c(host.memory(0), 16, "cstring").value == "okay"


def test_read_c_refuses_what_the_memory_does_not_hold():
    from wasmem.errors import LayoutError
    from wasmem.host.read import read_c

    host = instantiate(wat('(module (memory (export "memory") 1) '
                           '(data (i32.const 16) "ok\\00\\ff\\fe\\00") (data (i32.const 65532) "abcd"))'))
    mem = host.memory(0)
    assert read_c(mem, 16, "cstring").value == "ok"
    assert read_c(mem, 19, "bytes[3]").value == b"\xff\xfe\x00"
    assert read_c(mem, 16, "u16").value == 0x6B6F and read_c(mem, 16, "bool[3]").value == [True, True, False]
    for address, type_, message in [
            (19, "cstring", r"the C string at 0x13 is not UTF-8 \(byte 0\); read it as bytes\[3\]"),
            (65532, "cstring", r"no NUL from 0xfffc to the end of the memory"),
            (65536, "cstring", r"0x10000 is outside the memory \(size 0x10000\)"),
            (65532, "u32[2]", r"outside the memory"),
            (0, f"bytes[{(64 << 20) + 1}]", r"more than one read decodes"),
            (2**32, "u8", r"not a 32-bit address")]:
        with pytest.raises(ReadError, match=message):
            read_c(mem, address, type_)
    for type_, message in [("i32[]", r"give the count, as in i32\[4\]"), ("bytes", r"as in bytes\[4\]"),
                           ("cstring[2]", "a cstring runs to its NUL"), ("u8[two]", "the count must be a number"),
                           ("u8[²]", "the count must be a number"),
                           ("string", "unknown type 'string' for the c abi")]:
        with pytest.raises(LayoutError, match=message):
            read_c(mem, 16, type_)


def test_read_module_object_reads_c_data():
    from wasmem.errors import LayoutError

    data = wat('(module (memory (export "memory") 1) (global (export "msg") i32 (i32.const 16)) (data (i32.const 16) "hi\\00"))')
    got = read_module_object(data, "msg", type_="cstring", abi_name="c")
    assert (got.value, got.type, got.rt_id, got.size) == ("hi", "cstring", None, 3)
    with pytest.raises(LayoutError, match="give type_"):
        read_module_object(data, "msg", abi_name="c")


def test_a_start_function_that_never_returns_is_stopped_at_the_time_limit(capsys, tmp_path):
    path = tmp_path / "loop.wasm"
    path.write_bytes(wat('(module (memory (export "memory") 1) (func $s (loop $l (br $l))) (start $s))'))
    code, out, err = run(capsys, path, "16", "--abi", "c", "--type", "cstring", "--timeout", "0.2")
    assert (code, out) == (2, "")
    assert err == (f"wasmem: error: {path}: the start function did not finish within 0.2 s: stopped by the time "
                   "limit (--timeout; timeout= in the API)\n")
    with pytest.raises(WasmError, match="^the start function did not finish within 0.25 s"):
        read_module_object(path.read_bytes(), "16", abi_name="c", type_="cstring", timeout=0.25)

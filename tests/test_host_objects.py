"""host/memory.py and host/objects.py: bounds-checked memory access, AS objects by address.

Ground truth is asc 0.28.20 (fixtures/host/statics.ts built unoptimized): the
readers must give back the source literals from its static data, the writers
must produce the bytes asc put in its data segments, and the AS runtime's own
code must accept objects the host wrote.
"""

from __future__ import annotations

import struct

import pytest

from conftest import FIXTURES, wat
from wasmem.errors import WasmError
from wasmem.host.instance import instantiate
from wasmem.host.memory import MemoryAccessError, LinearMemory, pages, read_bytes, read_u32, write_bytes, write_u32
from wasmem.host.objects import (
    ObjectHeader,
    ReadError,
    encode_elements,
    read_array,
    read_arraybuffer,
    read_header,
    read_object,
    read_static_array,
    read_string,
    read_typed_array,
    write_array_header,
    write_arraybuffer,
    write_object,
    write_static_array,
    write_string,
    write_typed_array_header,
)
from wasmem.layout.abi import for_version


@pytest.fixture(scope="module")
def statics():
    return instantiate((FIXTURES / "host" / "statics.wasm").read_bytes())


@pytest.fixture()
def fresh():
    """A fresh 1-page memory (plain) and a 1-page shared one."""
    h = instantiate(wat("""(module (memory (export "m") 1) (memory (export "s") 1 2 shared))"""))
    return h.memory("m"), h.memory("s")


# -- LinearMemory ---------------------------------------------------------------

def test_linear_memory_plain_and_shared_alike(fresh):
    for mem in fresh:
        assert mem.data_len() == 65536 and mem.pages() == 1 and pages(mem) == 1
        write_bytes(mem, 10, b"abc")
        assert read_bytes(mem, 9, 5) == b"\0abc\0"
        write_u32(mem, 100, 0xDEADBEEF)
        assert read_u32(mem, 100) == 0xDEADBEEF and mem.read(100, 4) == bytes.fromhex("efbeadde")
        write_u32(mem, 104, -1)
        assert read_u32(mem, 104) == 0xFFFFFFFF
        mem.fill(0x5A, 200, 3)
        assert mem.read(199, 5) == b"\0ZZZ\0"
        assert mem.view()[10:13].tobytes() == b"abc"
        assert mem.read(65536, 0) == b""
    assert [m.shared for m in fresh] == [False, True]


@pytest.mark.parametrize("address,size", [(65533, 4), (65536, 1), (-1, 1), (0, -1), (0, 1 << 31), (1 << 40, 4)])
def test_linear_memory_bounds(fresh, address, size):
    for mem in fresh:
        with pytest.raises(MemoryAccessError) as e:
            mem.read(address, size)
        assert isinstance(e.value, WasmError)
    with pytest.raises(MemoryAccessError):
        fresh[0].write(65535, b"xy")


def test_linear_memory_follows_growth(fresh):
    mem = fresh[0]
    mem.raw.grow(mem.store, 1)
    assert mem.pages() == 2
    mem.write(70000, b"z")
    assert mem.read(70000, 1) == b"z"


def test_plain_memory_needs_its_store(fresh):
    with pytest.raises(WasmError, match="needs its store"):
        LinearMemory(fresh[0].raw)


# -- reading what asc laid out ----------------------------------------------------

STATICS = {
    "greeting": ("string", "hello, wasmem ✓ 😀"),
    "empty": ("string", ""),
    "primes": ("Array<i32>", [2, 3, 5, 7, 11]),
    "words": ("Array<string>", ["ab", "cde", "", "ab"]),
    "fixed": ("StaticArray<i32>", [7, 8, 9]),
    "fixedWords": ("StaticArray<string>", ["x", "yz"]),
    "ratios": ("f64[]", [1.5, -0.25]),
    "flags": ("Array<bool>", [True, False, True]),
    "bigs": ("Array<i64>", [-1, 0x123456789]),
    "bytes": ("Array<u8>", [0, 127, 255]),
    "halves": ("Array<i16>", [-2, 300]),
}


@pytest.mark.parametrize("name", list(STATICS))
def test_read_asc_static_objects(statics, name):
    type_, expected = STATICS[name]
    address = statics.global_value(name)
    value = read_object(statics.memory(), address, type_)
    assert value == expected
    if isinstance(expected, list):  # bools as bools, floats as floats
        assert [type(v) for v in value] == [type(v) for v in expected]


def test_read_header_of_asc_string(statics):
    mem = statics.memory()
    h = read_header(mem, statics.global_value("greeting"))
    # "hello, wasmem ✓ 😀" is 18 UTF-16 code units: rtSize 36, block size 60
    assert h == ObjectHeader(32, 60, 0, 0, 2, 36, 20)
    assert h.block == 12
    assert read_string(mem, 32) == "hello, wasmem ✓ 😀"
    assert read_header(mem, statics.global_value("words")).rt_id == 5


def test_typed_readers_directly(statics):
    mem = statics.memory()
    assert read_array(mem, statics.global_value("primes"), "i32") == [2, 3, 5, 7, 11]
    # the caller's type decides: length_ 5 of u8 over the i32 data
    assert read_array(mem, statics.global_value("primes"), "u8") == [2, 0, 0, 0, 3]
    assert read_static_array(mem, statics.global_value("fixed"), "u16") == [7, 0, 8, 0, 9, 0]
    ab = read_u32(mem, statics.global_value("primes"))  # the Array's buffer field
    assert read_arraybuffer(mem, ab) == struct.pack("<5i", 2, 3, 5, 7, 11)
    with pytest.raises(ReadError, match="rtId 4, not 9"):
        read_object(mem, statics.global_value("primes"), "Array<i32>", rt_id=9)
    assert read_object(mem, statics.global_value("primes"), "Array<i32>", rt_id=4) == [2, 3, 5, 7, 11]


# -- bad addresses and corrupt objects are ReadErrors --------------------------------

@pytest.mark.parametrize("address,type_,message", [
    (0, "string", "null pointer"),
    (4, "string", "too low for an object"),
    (0x7FFFFFF0, "string", "outside the memory"),
    (0xFFF0, "string", "runs past the end of memory"),  # zeros in front: rtSize 0 would be fine
    (32, "Array<i32>", "does not fit byteLength"),  # the greeting read as an Array
    (176, "Array<string>", "element 0"),  # ints read as string pointers
    (32, "i32", "value type"),
    (32, "Map<i32,i32>", "unknown type"),
])
def test_read_errors(statics, address, type_, message):
    mem = statics.memory()
    if address == 0xFFF0:
        write_u32(mem, 0xFFEC, 100)  # an rtSize that runs past the end of the page
    with pytest.raises(ReadError, match=message):
        read_object(mem, address, type_)


def test_read_nullable_and_null_elements(fresh):
    mem = fresh[0]
    assert read_object(mem, 0, "string | null") is None
    write_string(mem, 32, "x")
    write_arraybuffer(mem, 64, encode_elements([32, None, 32], "string"))
    write_array_header(mem, 96, 64, 3, "string", rt_id=5)
    assert read_object(mem, 96, "Array<string | null>") == ["x", None, "x"]


def test_corrupt_array_fields(fresh):
    mem = fresh[0]
    write_arraybuffer(mem, 32, bytes(8))
    # dataStart outside the buffer
    write_object(mem, 64, 4, struct.pack("<IIii", 32, 40, 8, 2))
    with pytest.raises(ReadError, match="outside its buffer"):
        read_array(mem, 64, "i32")
    # negative length, and a length with a null buffer
    write_object(mem, 96, 4, struct.pack("<IIii", 32, 32, 8, -1))
    with pytest.raises(ReadError, match="does not fit"):
        read_array(mem, 96, "i32")
    write_object(mem, 128, 4, struct.pack("<IIii", 0, 0, 8, 2))
    with pytest.raises(ReadError, match="null buffer"):
        read_array(mem, 128, "i32")
    # an Array header too short, an odd string, a StaticArray of the wrong size
    write_object(mem, 160, 4, bytes(8))
    with pytest.raises(ReadError, match="an Array needs 16"):
        read_array(mem, 160, "i32")
    write_object(mem, 192, 2, b"abc")
    with pytest.raises(ReadError, match="odd byte length 3"):
        read_string(mem, 192)
    with pytest.raises(ReadError, match="not a multiple of 4"):
        read_static_array(mem, 192, "i32")


def test_nesting_is_bounded(fresh):
    mem = fresh[0]
    # an Array whose only element is itself, read as a 40-deep Array type
    write_arraybuffer(mem, 32, struct.pack("<I", 64))
    write_array_header(mem, 64, 32, 1, "string", rt_id=4)
    deep = "Array<" * 40 + "i32" + ">" * 40
    with pytest.raises(ReadError, match="nested more than 32 deep"):
        read_object(mem, 64, deep)


# -- writers: asc's bytes, and the runtime accepts them -----------------------------------

def test_writers_reproduce_asc_static_data(statics, fresh):
    """Objects written by the host are byte for byte the blocks asc emitted."""
    src, dst = statics.memory(), fresh[0]

    def block(mem, address, size):  # header + payload + padding to the block end
        h = read_header(mem, address)
        return mem.read(h.block, 4 + h.mm_info) if size is None else mem.read(address - 20, size)

    g = statics.global_value("greeting")
    write_string(dst, g, "hello, wasmem ✓ 😀")
    assert block(dst, g, None) == block(src, g, None)

    primes = statics.global_value("primes")
    buf = read_u32(src, primes)
    write_arraybuffer(dst, buf, encode_elements([2, 3, 5, 7, 11], "i32"))
    write_array_header(dst, primes, buf, 5, "i32", rt_id=4)
    assert block(dst, buf, None) == block(src, buf, None)
    assert block(dst, primes, None) == block(src, primes, None)

    fixed = statics.global_value("fixed")
    write_static_array(dst, fixed, [7, 8, 9], "i32", rt_id=6)
    assert block(dst, fixed, None) == block(src, fixed, None)


def test_runtime_uses_host_written_objects(statics):
    mem = statics.memory()
    base = 0xF000  # above the heap's first blocks, below the end of the 1-page memory
    write_string(mem, base, "héllo 😀")
    assert statics.call("strlen", base) == [8]
    write_arraybuffer(mem, base + 0x40, encode_elements([1, 2, 3, 40], "i32"))
    write_array_header(mem, base + 0x80, base + 0x40, 4, "i32", rt_id=4)
    assert statics.call("sumArray", base + 0x80) == [46]
    write_string(mem, base + 0x100, "ab")
    write_string(mem, base + 0x140, "cd")
    write_arraybuffer(mem, base + 0x180, encode_elements([base + 0x100, base + 0x140], "string"))
    write_array_header(mem, base + 0x1C0, base + 0x180, 2, "string", rt_id=5)
    (joined,) = statics.call("joinWords", base + 0x1C0)
    assert read_string(mem, joined) == "ab+cd"  # a heap string the runtime allocated


def test_typed_array_and_nested_round_trip(fresh):
    mem = fresh[1]  # shared memory, same code path
    write_arraybuffer(mem, 32, encode_elements([5, -6, 7, 100], "i32"))
    write_typed_array_header(mem, 80, 32, 16, rt_id=7)
    assert read_typed_array(mem, 80, "Int32Array") == [5, -6, 7, 100]
    assert read_object(mem, 80, "Float32Array")[0] == pytest.approx(7e-45, abs=1e-45)
    assert read_object(mem, 80, "Uint8Array")[:5] == [5, 0, 0, 0, 0xFA]
    # StaticArray<Array<string>>: strings, inner buffer and header, outer static array
    write_string(mem, 128, "a\ud800")  # a lone surrogate survives
    write_arraybuffer(mem, 160, encode_elements([128, 128], "string"))
    write_array_header(mem, 192, 160, 2, "string", rt_id=5)
    write_static_array(mem, 240, [192, None], "Array<string>", rt_id=8)
    assert read_object(mem, 240, "StaticArray<Array<string>>") == [["a\ud800", "a\ud800"], None]
    assert read_object(mem, 240, "StaticArray<string[]>") == [["a\ud800", "a\ud800"], None]


def test_legacy_header_round_trip(fresh):
    mem = fresh[0]
    legacy = for_version("0.16.1", "assemblyscript-legacy")
    write_string(mem, 32, "hello", abi=legacy)
    # 0.9-0.16 header: mmInfo = rtSize, gcInfo 1, rtId 1 (String before 0.24), rtSize
    assert mem.read(16, 26) == struct.pack("<4I", 10, 1, 1, 10) + "hello".encode("utf-16-le")
    assert read_string(mem, 32, abi="assemblyscript-legacy") == "hello"
    h = read_header(mem, 32, abi=legacy)
    assert (h.mm_info, h.gc_info, h.gc_info2, h.rt_id, h.rt_size, h.block) == (10, 1, None, 1, 10, 16)
    with pytest.raises(ReadError, match="unknown abi"):
        read_header(mem, 32, abi="c")


def test_writer_checks(fresh):
    mem = fresh[0]
    with pytest.raises(WasmError, match="16-byte aligned"):
        write_string(mem, 40, "x")
    with pytest.raises(MemoryAccessError):
        write_string(mem, 65536 - 16, "too long for the page")
    with pytest.raises(WasmError, match="does not fit u8"):
        encode_elements([300], "u8")

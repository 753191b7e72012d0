"""Framing: the header, section ids, sizes and the order rules."""

import pytest

from conftest import wat
from wasmem.binary.sections import split_sections
from wasmem.errors import DecodeError
from wasmem.module import Module

HEADER = b"\x00asm\x01\x00\x00\x00"


def decode_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as e:
        Module.from_bytes(data)
    return e.value


def test_empty_module_roundtrips():
    m = Module.from_bytes(HEADER)
    assert m.sections == [] and m.to_bytes() == HEADER


@pytest.mark.parametrize("data,offset,text", [
    (b"", 0, "file too short"),
    (b"\x00as", 3, "file too short"),
    (b"\x00asm\x01\x00", 6, "file too short"),
    (b"\x7fELF\x01\x00\x00\x00", 0, "magic number 7f454c46"),
    (b"\x00asm\x0d\x00\x01\x00", 4, "WebAssembly component (version 0xd, layer 1)"),
    (b"\x00asm\x02\x00\x00\x00", 4, "unknown binary version 02000000"),
    (HEADER + b"\x0e\x00", 8, "malformed section id 14"),
    (HEADER + b"\x01\x05\x00", 9, "section size mismatch: type section declares 5 bytes but only 1 remain"),
    (HEADER + b"\x01\x80", 10, "unexpected end of input while reading u32"),
    (HEADER + b"\x05\x01\x00\x05\x01\x00", 11, "duplicate memory section"),
    (HEADER + b"\x0b\x01\x00\x05\x01\x00", 11, "out of order memory section (after the data section)"),
    (HEADER + b"\x0c\x01\x00\x0a\x01\x00\x0c\x01\x00", 14, "out of order datacount section (after the code section)"),
    (HEADER + b"\x00\x00", 10, "custom section without a name"),
    (HEADER + b"\x00\x02\x01\xff", 11, "malformed UTF-8"),
])
def test_framing_errors(data, offset, text):
    e = decode_error(data)
    assert e.offset == offset, str(e)
    assert text in str(e)


def test_tag_section_order():
    # tag (13) sits between memory (5) and global (6)
    ok = HEADER + b"\x05\x01\x00" + b"\x0d\x01\x00" + b"\x06\x01\x00"
    assert [s.id for s in split_sections(ok)] == [5, 13, 6]
    e = decode_error(HEADER + b"\x06\x01\x00\x0d\x01\x00")
    assert "out of order tag section" in str(e) and e.offset == 11


def test_custom_sections_anywhere_and_kept():
    data = wat('(module (memory 1) (func) (data (i32.const 0) "x"))')
    sections = split_sections(data)
    # put custom sections at the very start, between sections and at the end
    parts = [HEADER]
    custom = lambda name, body: b"\x00" + bytes([len(name) + 1 + len(body)]) + bytes([len(name)]) + name + body  # noqa
    parts.append(custom(b"first", b"\x01\x02"))
    for s in sections:
        parts.append(s.to_bytes())
        parts.append(custom(b"after-" + s.name.encode(), b""))
    data2 = b"".join(parts)
    m = Module.from_bytes(data2)
    names = [s.name for s in m.sections]
    assert names[0] == "custom:first" and "custom:after-memory" in names
    assert m.to_bytes() == data2
    m.data[0].data = b"y"
    out = m.to_bytes()
    assert out.replace(b'"y"', b"") != data2 and Module.from_bytes(out).data[0].data == b"y"
    assert [s.name for s in Module.from_bytes(out).sections] == names


def test_section_offsets_are_payload_offsets():
    data = wat("(module (memory 1))")
    (mem,) = Module.from_bytes(data).sections
    assert mem.id == 5 and data[mem.offset:mem.offset + mem.size] == b"\x01\x00\x01"

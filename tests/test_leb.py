import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasmem.binary import leb
from wasmem.errors import DecodeError


@pytest.mark.parametrize("data,value,width", [
    (b"\x00", 0, 1), (b"\x7f", 127, 1), (b"\xe5\x8e\x26", 624485, 3),
    (b"\x80\x80\x80\x80\x00", 0, 5), (b"\xff\xff\xff\xff\x0f", 0xFFFFFFFF, 5),
])
def test_u32(data, value, width):
    assert leb.read_u32(data, 0) == (value, width)


@pytest.mark.parametrize("data,offset,message", [
    (b"\x80\x80\x80\x80\x10", 4, "unused bits set in u32"),
    (b"\x80\x80\x80\x80\x80\x00", 4, "integer representation too long"),
    (b"\x80", 1, "unexpected end"),
    (b"", 0, "unexpected end"),
])
def test_u32_errors(data, offset, message):
    with pytest.raises(DecodeError) as e:
        leb.read_u32(data, 0)
    assert e.value.offset == offset
    assert message in str(e.value)
    assert str(e.value).startswith(f"offset 0x{offset:x}: ")


@pytest.mark.parametrize("reader,data,value", [
    (leb.read_s32, b"\x7f", -1), (leb.read_s32, b"\xff\xff\xff\xff\x7f", -1),
    (leb.read_s32, b"\x80\x80\x80\x80\x78", -(1 << 31)), (leb.read_s33, b"\x40", -64),
    (leb.read_s64, b"\x80" * 9 + b"\x7f", -(1 << 63)), (leb.read_u64, b"\xff" * 9 + b"\x01", (1 << 64) - 1),
])
def test_signed_and_64(reader, data, value):
    assert reader(data, 0) == (value, len(data))


@pytest.mark.parametrize("reader,data", [
    (leb.read_s32, b"\xff\xff\xff\xff\x4f"),  # sign bits disagree
    (leb.read_s32, b"\x80\x80\x80\x80\x08"),
    (leb.read_s64, b"\x80" * 9 + b"\x01"),
    (leb.read_u64, b"\xff" * 9 + b"\x02"),
    (leb.read_s33, b"\x80\x80\x80\x80\x20"),
])
def test_unused_bits(reader, data):
    with pytest.raises(DecodeError, match="unused bits"):
        reader(data, 0)


def test_padded_encoding():
    assert leb.encode_u(5, 5) == b"\x85\x80\x80\x80\x00"
    assert leb.encode_s(-1, 3) == b"\xff\xff\x7f"
    assert leb.encode_u(300) == b"\xac\x02"


@given(st.integers(0, (1 << 32) - 1), st.integers(1, 5))
def test_u32_roundtrip(v, width):
    e = leb.encode_u(v, width)
    assert leb.read_u32(e, 0) == (v, max(width, len(leb.encode_u(v))))


@given(st.integers(-(1 << 63), (1 << 63) - 1), st.integers(1, 10))
def test_s64_roundtrip(v, width):
    e = leb.encode_s(v, width)
    assert leb.read_s64(e, 0) == (v, len(e))
    assert len(e) == max(width, len(leb.encode_s(v)))


@given(st.binary(max_size=12))
def test_random_bytes_only_decode_errors(data):
    for reader in (leb.read_u32, leb.read_s32, leb.read_s33, leb.read_s64, leb.read_u64):
        try:
            reader(data, 0)
        except DecodeError:
            pass


@given(st.integers(0, (1 << 70)))
def test_unsigned_encoder_equals_the_leb128_package(v):
    import leb128

    assert leb.encode_u(v) == bytes(leb128.u.encode(v))


@given(st.integers(-(1 << 70), 1 << 70))
def test_signed_encoder_equals_the_leb128_package(v):
    import leb128

    assert leb.encode_s(v) == bytes(leb128.i.encode(v))


# The encoders' short forms (no loop) end where a byte more is needed: every boundary,
# both sides, against the leb128 package.
_EDGES = sorted({e + d for k in range(1, 10) for e in (1 << (7 * k - 1), 1 << (7 * k), -(1 << (7 * k - 1)))
                 for d in (-1, 0, 1)} | {0, -1, 1})


def test_encoders_at_every_length_boundary():
    import leb128

    for v in _EDGES:
        assert leb.encode_s(v) == bytes(leb128.i.encode(v)), v
        if v >= 0:
            assert leb.encode_u(v) == bytes(leb128.u.encode(v)), v

"""LEB128 as WebAssembly uses it: strict readers, minimal or padded writers.

Readers take ``(buf, pos)`` and return ``(value, new_pos)``; ``buf`` is bytes,
bytearray or a memoryview and ``pos`` an absolute offset in it, so errors carry
the absolute offset of the offending byte. The limits are the core spec's (and
wasmparser's ``read_var_u32``): an N-bit integer takes at most ceil(N/7) bytes
and the unused bits of the last byte must be zero (unsigned) or copies of the
sign bit (signed). Padded (non-minimal) encodings within those bounds are valid
and the width a value was read with is ``new_pos - pos``.

Encoding is minimal, or padded to a given width; the ``leb128`` package is the
reference the tests compare it with.
"""

from __future__ import annotations

from ..errors import DecodeError


def _end(pos: int, what: str) -> DecodeError:
    return DecodeError(f"unexpected end of input while reading {what}", pos)


def read_u32(buf, pos: int) -> tuple[int, int]:
    try:
        b = buf[pos]
        if b < 0x80:  # the common one-byte case, kept first for speed
            return b, pos + 1
        result = b & 0x7F
        shift = 7
        p = pos + 1
        while True:
            b = buf[p]
            p += 1
            if shift == 28:
                if b & 0x80:
                    raise DecodeError("integer representation too long (u32)", p - 1)
                if b & 0x70:
                    raise DecodeError("integer too large: unused bits set in u32", p - 1)
                return result | (b << 28), p
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result, p
            shift += 7
    except IndexError:
        raise _end(len(buf), "u32 LEB128") from None


def _read_unsigned(buf, pos: int, bits: int) -> tuple[int, int]:
    maxlen = (bits + 6) // 7
    result = shift = 0
    p = pos
    try:
        for i in range(maxlen):
            b = buf[p]
            p += 1
            if i == maxlen - 1:
                if b & 0x80:
                    raise DecodeError(f"integer representation too long (u{bits})", p - 1)
                used = bits - shift
                if b >> used:
                    raise DecodeError(f"integer too large: unused bits set in u{bits}", p - 1)
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result, p
            shift += 7
    except IndexError:
        raise _end(len(buf), f"u{bits} LEB128") from None
    raise AssertionError("unreachable")


def read_u64(buf, pos: int) -> tuple[int, int]:
    return _read_unsigned(buf, pos, 64)


def _read_signed(buf, pos: int, bits: int) -> tuple[int, int]:
    maxlen = (bits + 6) // 7
    result = shift = 0
    p = pos
    try:
        for i in range(maxlen):
            b = buf[p]
            p += 1
            if i == maxlen - 1:
                if b & 0x80:
                    raise DecodeError(f"integer representation too long (s{bits})", p - 1)
                # bits above the value's top bit must all equal the sign bit
                used = bits - shift  # value bits in this byte, including the sign bit
                rest = b >> (used - 1)  # the sign bit and everything above it (7-bit byte)
                if rest not in (0, (1 << (8 - used)) - 1):
                    raise DecodeError(f"integer too large: unused bits set in s{bits}", p - 1)
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                if b & 0x40:
                    result -= 1 << shift
                return result, p
    except IndexError:
        raise _end(len(buf), f"s{bits} LEB128") from None
    raise AssertionError("unreachable")


def read_s32(buf, pos: int) -> tuple[int, int]:
    return _read_signed(buf, pos, 32)


def read_s33(buf, pos: int) -> tuple[int, int]:
    return _read_signed(buf, pos, 33)


def read_s64(buf, pos: int) -> tuple[int, int]:
    return _read_signed(buf, pos, 64)


def read_count(buf, pos: int, min_item_size: int = 1) -> tuple[int, int]:
    """A vector's length, refused before anything is allocated when the bytes
    left could not hold that many items of at least ``min_item_size`` bytes."""
    n, p = read_u32(buf, pos)
    if n * min_item_size > len(buf) - p:
        raise DecodeError(f"count {n} is larger than the {len(buf) - p} remaining bytes could hold", pos)
    return n, p


def skip_leb(buf, pos: int, maxlen: int = 10) -> int:
    """Position after a LEB (no range checks): for quickly stepping over immediates."""
    for p in range(pos, pos + maxlen):
        if buf[p] < 0x80:
            return p + 1
    raise DecodeError("integer representation too long", pos + maxlen - 1)


def encode_u(value: int, width: int | None = None) -> bytes:
    """Unsigned LEB128: minimal, or padded to ``width`` bytes when given and enough.

    Written here rather than with the ``leb128`` package, whose import pulls in
    ``typing`` (about 15 ms of every command's start-up); tests/test_leb.py
    proves the two equal."""
    if value < 0:
        raise ValueError(f"unsigned LEB128 of negative value {value}")
    if width is None and value < 0x200000:  # up to 3 bytes without the loop (indices, sizes, names)
        if value < 0x80:
            return bytes((value,))
        if value < 0x4000:
            return bytes((value & 0x7F | 0x80, value >> 7))
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            break
    if width is not None and width > len(out):
        out[-1] |= 0x80
        out += b"\x80" * (width - len(out) - 1) + b"\x00"
    return bytes(out)


def encode_s(value: int, width: int | None = None) -> bytes:
    """Signed LEB128: minimal, or padded to ``width`` bytes with sign-extension bytes."""
    if width is None and -0x40 <= value < 0x8000000:  # up to 4 bytes without the loop (addresses)
        if value < 0x40:
            return bytes((value & 0x7F,))
        if value < 0x2000:
            return bytes((value & 0x7F | 0x80, value >> 7))
        if value < 0x100000:
            return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80, value >> 21))
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7  # arithmetic shift: ends at 0 or -1
        if (value == 0 and not b & 0x40) or (value == -1 and b & 0x40):
            out.append(b)
            break
        out.append(b | 0x80)
    if width is not None and width > len(out):
        fill = 0x7F if out[-1] & 0x40 else 0x00
        out[-1] |= 0x80
        out += bytes([fill | 0x80]) * (width - len(out) - 1) + bytes([fill])
    return bytes(out)

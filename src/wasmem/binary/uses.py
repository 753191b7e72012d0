"""Where a module's code uses a global or a constant: byte searches for each encoding an
instruction may have, and a decode only of the function bodies that hold one. add-data asks
whether a program reads its heap base from the __heap_base global or holds it as a constant
(rewrite/add_data.py); the decoder (code.py, with its tables) is imported only when a
search matches."""

from __future__ import annotations

from .leb import encode_s, encode_u


def _use_needles(global_index: int, value: int) -> tuple[list, list, int]:
    """The byte encodings of ``global.get global_index`` and ``i32.const value``: minimal, or
    padded to 5 bytes, as wasm-ld leaves the LEBs it relocates (`41 b0 88 84 80 00` is
    i32.const 66608); and the value as an i32.const immediate (signed)."""
    if value >= 1 << 31:
        value -= 1 << 32
    gets = [b"\x23" + encode_u(global_index, w) for w in range(len(encode_u(global_index)), 6)]
    consts = [b"\x41" + encode_s(value, w) for w in range(len(encode_s(value)), 6)]
    return gets, consts, value


def _holds(data: bytes, needles: list) -> bool:
    return any(n in data for n in needles)


def global_and_const_uses(payload, base_offset: int, global_index: int, value: int) -> tuple[bool, bool]:
    """(whether a function reads global ``global_index`` (global.get), whether one has the
    constant ``i32.const value``) in a code section payload. Only bodies whose bytes hold
    either encoding are decoded: most modules are answered by two searches."""
    gets, consts, value = _use_needles(global_index, value)
    raw = bytes(payload)
    if not _holds(raw, gets) and not _holds(raw, consts):
        return False, False
    return _decoded_uses(payload, base_offset, gets, consts, global_index, value, stop_at_read=False)


def holds_but_never_reads(payload, base_offset: int, global_index: int, value: int) -> bool:
    """Whether the code has ``i32.const value`` and never reads global ``global_index``:
    ``global_and_const_uses``, answered without a decode where the constant's bytes are
    nowhere, and ending at the first read."""
    gets, consts, value = _use_needles(global_index, value)
    if not _holds(bytes(payload), consts):
        return False
    reads, holds = _decoded_uses(payload, base_offset, gets, consts, global_index, value, stop_at_read=True)
    return holds and not reads


def _decoded_uses(payload, base_offset: int, gets: list, consts: list, global_index: int, value: int,
                  stop_at_read: bool) -> tuple[bool, bool]:
    """(reads, holds) from a decode of the bodies whose bytes hold a needle; with
    ``stop_at_read``, ending at the first read (the constant then as far as seen)."""
    from .code import split_code_section  # (the decoder: 30 ms of imports, only where a match needs it)

    reads = has_const = False
    for body in split_code_section(payload, base_offset):
        data = bytes(body.raw)
        if (reads or not _holds(data, gets)) and (has_const or not _holds(data, consts)):
            continue
        for ins in body.instructions():
            name = ins.op.name
            if name == "global.get" and ins.immediates[0] == global_index:
                reads = True
            elif name == "i32.const" and ins.immediates[0] == value:
                has_const = True
        if reads and (has_const or stop_at_read):
            break
    return reads, has_const

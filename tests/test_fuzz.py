"""Mutated real modules: only wasmem's own errors, never another exception or a hang."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import corpus_files
from fixtures_index import modules as fixture_modules
from wasmem.binary.leb import encode_u
from wasmem.binary.sections import split_sections
from wasmem.errors import WasmError
from wasmem.module import Module
from wasmem.rewrite.memory import define_memory, import_memory


def seeds() -> list[bytes]:
    files = fixture_modules()[:40]
    files += [f for f in corpus_files("valid") if f.stat().st_size > 300][:40]
    return [f.read_bytes() for f in files]


SEEDS = seeds()


def exercise(data: bytes) -> None:
    """Everything a command may ask of a module."""
    try:
        m = Module.from_bytes(data)
        m.info(segments=True)
        m.to_bytes()
        for seg in m.data[:3]:
            seg.data = bytes(seg.data) + b"!"
        m.to_bytes()
        Module.from_bytes(data, strict=True)
    except WasmError:
        pass
    # the rewrites, on every memory (renumbering decodes the code)
    for index in range(4):
        try:
            m = Module.from_bytes(data)
            if index < len(m.memories) and m.memories[index].imported:
                define_memory(m, memory=index)
            else:
                import_memory(m, memory=index, zero_fill=True)
            Module.from_bytes(m.to_bytes()).info()
        except WasmError:
            pass


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["truncate", "flip", "splice", "inflate", "bytes"]))
        if how == "truncate":
            del data[draw(st.integers(8, len(data))):]
        elif how == "flip":
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif how == "bytes":
            i = draw(st.integers(8, len(data)))
            data[i:i + draw(st.integers(0, 4))] = draw(st.binary(max_size=6))
        else:
            try:
                secs = split_sections(bytes(data))
            except WasmError:
                continue
            if not secs:
                continue
            s = draw(st.sampled_from(secs))
            if how == "splice":  # a copy of a section somewhere else (wrong order, duplicates)
                other = draw(st.sampled_from(secs))
                start = other.offset - len(other.header)
                data[start:start] = s.to_bytes()
            else:  # inflate the first LEB of a payload (a count) to something absurd
                p = s.offset
                n = 1
                while p + n <= len(data) and data[p + n - 1] & 0x80 and n < 5:
                    n += 1
                data[p:p + n] = encode_u(draw(st.sampled_from([0xFFFFFFFF, 1 << 28, 99999])), n)
    return bytes(data)


@pytest.mark.skipif(not SEEDS, reason="no seed modules (fixtures and corpus absent)")
@settings(max_examples=600, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutations_raise_only_wasm_errors(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gap warnings are expected here
        exercise(data)


COMMANDS_IN_WASMTIME = [["validate"], ["validate", "--dirty-memory", "--json"], ["read", "__rtti_base"],
                        ["read", "0x40", "--type", "string"], ["read", "16", "--abi", "c", "--type", "i32[4]"]]


@pytest.mark.skipif(not SEEDS, reason="no seed modules (fixtures and corpus absent)")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(mutated(), st.sampled_from(COMMANDS_IN_WASMTIME))
def test_mutations_through_validate_and_read_end_cleanly(tmp_path, data, command):
    """What wasmtime is given: exit 0, 1 or 2 and one line of error, never an internal error."""
    import io

    from wasmem.cli import main
    from wasmem.testing import _captured

    path = tmp_path / "in.wasm"
    path.write_bytes(data)
    out, err = io.BytesIO(), io.BytesIO()
    with _captured(out, err):
        code = main([command[0], str(path), *command[1:]])
    text = err.getvalue().decode()
    assert code in (0, 1, 2), (command, text)
    assert "internal error" not in text and "Traceback" not in text, (command, text)
    lines = text.splitlines()
    assert all(line.startswith(("wasmem: error: ", "wasmem: warning: ")) for line in lines), (command, text)
    errors = sum(line.startswith("wasmem: error: ") for line in lines)
    # (exit 1, found wanting, is an error line, or in --json the document's "error")
    assert errors == (code == 2) or (code == 1 and errors <= 1), (command, text)

"""Real modules from npm packages (tools/get-corpus.sh): round trips and memory
rewrites that validate. CI fetches the corpus first; without it these skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasmem.module import Module
from wasmem.rewrite.memory import define_memory, import_memory

CORPUS = Path(os.environ.get("WASMEM_CACHE", Path.home() / ".cache" / "wasmem")) / "corpus"
DEFINED = ["esbuild.wasm", "ffmpeg-core.wasm", "swc_wasm_bg.wasm", "sql-wasm.wasm"]
IMPORTED = ["ort-wasm-simd-threaded.wasm"]


def corpus_file(name: str) -> bytes:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: run tools/get-corpus.sh")
    return path.read_bytes()


@pytest.mark.parametrize("name", DEFINED + IMPORTED)
def test_roundtrip_and_strict_decode(name):
    data = corpus_file(name)
    m = Module.from_bytes(data, strict=True)
    assert m.to_bytes() == data
    info = m.info()
    assert info["size"] == len(data) and info["data"]["count"] == len(m.data)


@pytest.mark.parametrize("name", DEFINED)
def test_import_memory_validates(name, validate_wasm, recwarn):
    data = corpus_file(name)
    m = Module.from_bytes(data)
    before = m.memories[0].limits
    report = import_memory(m, zero_fill=True)
    out = m.to_bytes()
    ok, err = validate_wasm(out)
    assert ok, err
    m2 = Module.from_bytes(out)
    mem = m2.memories[report["index"]]
    assert mem.imported and (mem.import_.module, mem.import_.name) == ("env", "memory")
    assert mem.limits == before
    # zero-fill leaves no gaps and stays under the JS API's segment limit
    from wasmem.rewrite.data import static_gaps

    assert static_gaps(m2, report["index"])["count"] == 0
    assert len(m2.data) <= 100_000


@pytest.mark.parametrize("name", IMPORTED)
def test_define_memory_and_back(name, validate_wasm):
    data = corpus_file(name)
    m = Module.from_bytes(data)
    shared_limits = m.memories[0].limits
    assert shared_limits.shared
    define_memory(m)
    defined = m.to_bytes()
    assert validate_wasm(defined)[0]
    m2 = Module.from_bytes(defined)
    assert not m2.memories[0].imported and m2.memories[0].limits == shared_limits
    import_memory(m2, module=m.imports and "a" or "env", name="memory")
    back = m2.to_bytes()
    assert validate_wasm(back)[0]

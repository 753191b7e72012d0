"""Compiling once: wasmtime's cache on disk for the validate and read commands, and the
modules a process keeps compiled."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import FIXTURES, wat
from wasmem.host import instance
from wasmem.host.instance import compile_module, instantiate

MODULE = FIXTURES / "cli" / "add-data" / "module.wasm"


def _wasmem(*args, env):
    return subprocess.run([sys.executable, "-m", "wasmem", *args], capture_output=True, text=True, env=env)


def _cached_files(folder):
    """The compiled modules in a wasmtime cache folder (not its .stats and cleanup marks)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.suffix and not p.name.startswith("."))


def test_validate_and_read_keep_wasmtimes_cache_unless_told_not_to(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WASMEM_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    first = _wasmem("validate", str(MODULE), "--json", env=env)
    assert first.returncode == 0, first.stderr
    cached = _cached_files(tmp_path / "cache" / "wasmtime")
    assert cached, "no compiled module in the cache folder"
    again = _wasmem("validate", str(MODULE), "--json", env=env)
    assert (again.returncode, again.stdout) == (0, first.stdout)
    assert _cached_files(tmp_path / "cache" / "wasmtime") == cached  # (the same module: no new entry)
    strings = FIXTURES / "layout" / "strings-0.28.20" / "module.wasm"
    for _ in range(2):
        read = _wasmem("read", str(strings), "lone_mixed", "--json", env=env)
        assert read.returncode == 0 and json.loads(read.stdout)["value"] == "a\udc00b\ud83d", read.stderr
    assert len(_cached_files(tmp_path / "cache" / "wasmtime")) == len(cached) + 1

    env["XDG_CACHE_HOME"] = str(tmp_path / "off")
    env["WASMEM_NO_CACHE"] = "1"
    off = _wasmem("validate", str(MODULE), "--json", env=env)
    assert (off.returncode, off.stdout) == (0, first.stdout)
    assert not (tmp_path / "off").exists()


def test_a_module_compiled_again_is_the_one_kept():
    data = MODULE.read_bytes()
    module = compile_module(data)
    assert compile_module(bytearray(data)) is module
    host = instantiate(data)
    assert host.module is module
    others = [wat(f"(module (func (export \"f{i}\")))") for i in range(instance._COMPILED_KEPT)]
    for other in others:
        compile_module(other)
    assert compile_module(data) is not module  # (pushed out by as many newer ones)
    assert len(instance._compiled) == instance._COMPILED_KEPT


def test_turning_the_cache_on_compiles_with_an_engine_of_its_own(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # (where the engine's cache would go)
    data = wat('(module (func (export "g")))')
    plain_engine, plain = instance.engine(), compile_module(data)
    monkeypatch.setitem(instance._settings, "cache", True)
    try:
        assert instance.engine() is not plain_engine
        cached = compile_module(data)
        assert cached is not plain and compile_module(data) is cached
        assert instantiate(data).exports.keys() == {"g"}
    finally:
        instance._engine.cache_clear()  # (no engine of this test's folder for the others)


def test_a_cache_folder_that_cannot_be_made_leaves_the_cache_off_with_one_warning(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k != "WASMEM_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(blocker / "cache")  # (under a file: no folder can be made there)
    run = _wasmem("validate", str(MODULE), env=env)
    assert run.returncode == 0 and run.stdout.startswith(f"{MODULE}: valid, instantiated")
    [line] = run.stderr.splitlines()  # (one line: wasmtime's cause joined on)
    assert line.startswith(f"wasmem: warning: wasmtime's compilation cache is off: failed to create cache "
                           f"directory: {blocker}"), line

"""Mapped inputs and atomic outputs: the kernel copies unchanged sections, and every
way that copy can fail still gives the same bytes or no file at all."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from conftest import FIXTURES
from wasmem.cli import main
from wasmem.errors import DecodeError
from wasmem.module import Module
from wasmem.rewrite.memory import import_memory

PLAIN = FIXTURES / "import-memory" / "0.28.20-strings" / "plain.wasm"
EXPECTED = FIXTURES / "import-memory" / "0.28.20-strings" / "expected.wasm"

kernel_copy = pytest.mark.skipif(not hasattr(os, "copy_file_range"), reason="no copy_file_range on this system")


def rewritten(path, **kwargs) -> Module:
    m = Module.from_file(path, **kwargs)
    import_memory(m)
    return m


def test_the_fixture_pair_is_what_these_tests_think():
    assert rewritten(PLAIN).to_bytes() == EXPECTED.read_bytes()


@kernel_copy
def test_mapped_save_has_the_kernel_copy_the_unchanged_sections(tmp_path, monkeypatch):
    calls = []
    real = os.copy_file_range

    def spy(src, dst, count, offset_src=None, offset_dst=None):
        calls.append((offset_src, count))
        return real(src, dst, count, offset_src, offset_dst)

    monkeypatch.setattr(os, "copy_file_range", spy)
    m = rewritten(PLAIN, mapped=True)
    m.save(tmp_path / "out.wasm")
    assert (tmp_path / "out.wasm").read_bytes() == EXPECTED.read_bytes()
    # this module starts with its table section; the new import section goes before it
    # and the memory section (now the import) is dropped: so the header, the table
    # section, then every section after the memory section in one call
    table, memory = m.sections[0], m.sections[1]
    assert (table.id, memory.id) == (4, 5)
    after = memory.offset + len(memory.payload)
    assert calls == [(0, 8), (8, table.offset + len(table.payload) - 8), (after, PLAIN.stat().st_size - after)]


@pytest.mark.parametrize("call,error", [("copy_file_range", errno.EXDEV), ("posix_fallocate", errno.EOPNOTSUPP)])
@pytest.mark.parametrize("failure", ["unsupported", "missing"])
def test_without_the_kernel_copy_or_reservation_the_bytes_are_written(tmp_path, monkeypatch, call, error, failure):
    if failure == "missing":
        monkeypatch.delattr(os, call, raising=False)
    else:
        def refuse(*args):
            raise OSError(error, os.strerror(error))

        monkeypatch.setattr(os, call, refuse, raising=False)
    for mapped in (False, True):
        rewritten(PLAIN, mapped=mapped).save(tmp_path / "out.wasm")
        assert (tmp_path / "out.wasm").read_bytes() == EXPECTED.read_bytes()


@kernel_copy
@pytest.mark.parametrize("failure", ["input shrank", "disk full midway"])
def test_a_copy_that_fails_midway_leaves_no_file(tmp_path, monkeypatch, failure):
    real = os.copy_file_range
    state = {"calls": 0}

    def flaky(src, dst, count, offset_src=None, offset_dst=None):
        state["calls"] += 1
        if state["calls"] == 1:  # half of the first stretch, then trouble
            return real(src, dst, count // 2, offset_src, offset_dst)
        if failure == "input shrank":
            return 0
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", flaky)
    out = tmp_path / "out.wasm"
    out.write_bytes(b"keep")
    m = rewritten(PLAIN, mapped=True)
    with pytest.raises(OSError) as e:
        m.save(out)
    assert (f"the input {PLAIN} changed while being copied" if failure == "input shrank"
            else "No space left") in str(e.value)
    assert out.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wasm"]  # no temp file left


reserving = pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="no posix_fallocate on this system")


@reserving
@pytest.mark.parametrize("mapped", [False, True])
def test_the_output_space_is_reserved_before_writing(tmp_path, monkeypatch, mapped):
    calls = []
    real = os.posix_fallocate

    def spy(fd, offset, size):
        calls.append((offset, size, os.fstat(fd).st_size))  # (nothing written yet)
        return real(fd, offset, size)

    monkeypatch.setattr(os, "posix_fallocate", spy)
    rewritten(PLAIN, mapped=mapped).save(tmp_path / "out.wasm")
    assert (tmp_path / "out.wasm").read_bytes() == EXPECTED.read_bytes()
    assert calls == [(0, EXPECTED.stat().st_size, 0)]


@reserving
def test_the_reserved_size_counts_bytes_not_items(tmp_path, monkeypatch):
    from array import array

    from wasmem.fileio import write_atomic

    sizes = []
    monkeypatch.setattr(os, "posix_fallocate", lambda fd, offset, size: sizes.append(size))
    words = array("I", range(1000))
    write_atomic(tmp_path / "out.bin", [b"head", memoryview(words), bytearray(3)])
    assert sizes == [4 + 4000 + 3]
    assert (tmp_path / "out.bin").read_bytes() == b"head" + words.tobytes() + bytes(3)


@reserving
def test_a_full_disk_fails_at_the_reservation_and_leaves_no_file(tmp_path, monkeypatch, capsys):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    def never(*args):
        raise AssertionError("wrote after a failed reservation")

    monkeypatch.setattr(os, "posix_fallocate", full)
    monkeypatch.setattr(os, "copy_file_range", never, raising=False)
    out = tmp_path / "out.wasm"
    out.write_bytes(b"keep")
    assert main(["import-memory", str(PLAIN), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"wasmem: error: {out}: No space left on device\n"
    assert out.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wasm"]  # no temp file left


def test_an_unmappable_input_is_read(tmp_path):
    empty = tmp_path / "empty.wasm"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError) as e:  # (mmap refuses an empty file: read, then framed)
        Module.from_file(empty, mapped=True)
    assert e.value.offset == 0 and "file too short for a WebAssembly header" in str(e.value)
    r, w = os.pipe()  # a pipe cannot be mapped either
    os.write(w, PLAIN.read_bytes())
    os.close(w)
    m = rewritten(f"/dev/fd/{r}", mapped=True)
    os.close(r)
    m.save(tmp_path / "out.wasm")
    assert (tmp_path / "out.wasm").read_bytes() == EXPECTED.read_bytes()


@pytest.mark.parametrize("how", [["--in-place"], ["-o", "same"]])
def test_in_place_rewrite_of_a_mapped_input(tmp_path, how):
    target = tmp_path / "m.wasm"
    target.write_bytes(PLAIN.read_bytes())
    target.chmod(0o640)
    args = [str(target) if a == "same" else a for a in how]
    assert main(["import-memory", str(target), *args]) == 0
    assert target.read_bytes() == EXPECTED.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.wasm"]


def test_the_cli_writes_the_same_bytes_through_the_kernel(tmp_path):
    out = tmp_path / "out.wasm"
    run = subprocess.run([sys.executable, "-m", "wasmem", "import-memory", str(PLAIN), "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == EXPECTED.read_bytes()


def _fixture_rewrites():
    from conftest import FIXTURES as F
    from fixtures_index import modules

    for path in modules():
        m = Module.from_file(path)
        if m.defined_memories:  # every defined memory: converting one past the first renumbers code
            for k in range(len(m.memories)):
                if m.memories[k].import_ is None:
                    yield pytest.param(path, "import", k, id=f"{path.relative_to(F)}-import-{k}")
        elif m.memories:
            yield pytest.param(path, "define", 0, id=f"{path.relative_to(F)}-define")


@pytest.mark.filterwarnings("ignore::wasmem.WasmWarning")  # (the static data's warnings: tested elsewhere)
@pytest.mark.parametrize("path,how,index", list(_fixture_rewrites()))
def test_mapped_save_equals_to_bytes_on_every_fixture(tmp_path, path, how, index):
    """Sections copied by the kernel, re-encoded ones (the code of a renumbering), new ones
    and dropped ones: what a mapped module saves is what the read one gives as bytes."""
    from wasmem.rewrite.memory import define_memory

    results = []
    for mapped in (False, True):
        m = Module.from_file(path, mapped=mapped)
        if how == "import":
            import_memory(m, memory=index, name=f"wasmem{index}", zero_fill=True)  # (a name no fixture imports)
        else:
            define_memory(m, memory=index)
        m.save(tmp_path / "out.wasm")
        results.append(((tmp_path / "out.wasm").read_bytes(), m.to_bytes()))
    (read_saved, read_bytes), (mapped_saved, mapped_bytes) = results
    assert read_saved == read_bytes == mapped_saved == mapped_bytes

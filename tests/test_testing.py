"""wasmem.testing: command-line cases as folders, run against their snapshots."""

from __future__ import annotations

import os

import pytest

from conftest import wat
from wasmem import Module, import_memory
from wasmem.cli import main
from wasmem.testing import CaseError, _shown, cases, check_case, command_lines, run_case

MODULE = wat('(module (memory 1 4) (export "memory" (memory 0)) (data (i32.const 16) "hi"))')


def make_case(root, name: str, cmd: str, files: dict | None = None):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "cmd").write_text(cmd)
    for file, data in (files or {"m.wasm": MODULE}).items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(data)
    return folder


def listing(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_blessed_case_holds_what_the_commands_print_and_write(tmp_path, capsys, monkeypatch):
    case = make_case(tmp_path, "c", "# info, then a rewrite\n\nwasmem info m.wasm --json\n"
                                    "  wasmem import-memory m.wasm -o out/m.wasm\n",
                     {"m.wasm": MODULE, "out/keep": b""})
    run = check_case(case, bless=True)
    assert run.status == [0, 0] and run.stderr == b"" and sorted(run.files) == ["out/m.wasm"]
    # the snapshots are the command's own output and the rewrite's bytes
    monkeypatch.chdir(case)
    assert main(["info", "m.wasm", "--json"]) == 0
    monkeypatch.undo()
    m = Module.from_bytes(MODULE)
    import_memory(m)
    assert listing(case / "expected") == {"stdout": capsys.readouterr().out.encode(), "out/m.wasm": m.to_bytes()}
    # the case's own folder got nothing but the snapshots
    assert sorted(listing(case)) == ["cmd", "expected/out/m.wasm", "expected/stdout", "m.wasm", "out/keep"]
    assert check_case(case).status == [0, 0]  # and it passes against them


def test_each_difference_is_reported(tmp_path):
    case = make_case(tmp_path, "c", "wasmem info m.wasm --json\nwasmem import-memory m.wasm -o out.wasm\n")
    check_case(case, bless=True)
    expected = case / "expected"
    stdout = (expected / "stdout").read_text()
    (expected / "stdout").write_text(stdout.replace('"min": 1', '"min": 2'))
    out = bytearray((expected / "out.wasm").read_bytes())
    out[20] ^= 1
    (expected / "out.wasm").write_bytes(bytes(out))
    (expected / "extra.bin").write_bytes(b"x")
    (expected / "status").write_text("0\n2\n")
    with pytest.raises(CaseError) as caught:
        check_case(case)
    text = str(caught.value)
    assert "WASMEM_BLESS=1" in text
    assert "stdout differs:\n  --- expected\n  +++ got\n" in text
    assert '\n  -    {"index": 0, "imported": false' in text and '"min": 2, "max": 4' in text
    assert '\n  +    {"index": 0, "imported": false' in text and '"min": 1, "max": 4' in text
    assert "out.wasm differs:\n  " in text and "first difference at offset 0x14" in text
    assert "extra.bin: expected as an output, not written" in text
    assert "exit status [0, 0], expected [0, 2]" in text
    (expected / "out.wasm").unlink()
    with pytest.raises(CaseError, match="out.wasm: written, but there is no expected/out.wasm"):
        check_case(case)


def test_failing_commands_leave_their_status_and_message(tmp_path):
    case = make_case(tmp_path, "c", "wasmem info missing.wasm\nwasmem import-memory m.wasm\nwasmem info m.wasm\n")
    run = check_case(case, bless=True)
    assert run.status == [2, 2, 0]
    assert run.stderr.startswith(b"wasmem: error: missing.wasm: No such file or directory\nusage: wasmem import-memory")
    assert (case / "expected" / "status").read_text() == "2\n2\n0\n"
    assert run.stdout.startswith(b"m.wasm: ")
    assert check_case(case).status == [2, 2, 0]


def test_bless_removes_the_snapshots_a_run_no_longer_makes(tmp_path, monkeypatch):
    case = make_case(tmp_path, "c", "wasmem info nothing.wasm\nwasmem import-memory m.wasm -o a/out.wasm\n",
                     {"m.wasm": MODULE, "a/keep": b""})
    check_case(case, bless=True)
    assert sorted(listing(case / "expected")) == ["a/out.wasm", "status", "stderr"]
    (case / "cmd").write_text("wasmem info m.wasm\n")
    monkeypatch.setenv("WASMEM_BLESS", "1")  # (the environment's way to ask)
    check_case(case)
    assert sorted(listing(case / "expected")) == ["stdout"]
    assert not (case / "expected" / "a").exists()


def test_an_output_may_not_take_a_snapshots_name(tmp_path):
    case = make_case(tmp_path, "c", "wasmem import-memory m.wasm -o stdout\n")
    with pytest.raises(CaseError, match="a command wrote 'stdout', a snapshot's name"):
        check_case(case, bless=True)


def test_command_lines(tmp_path):
    case = make_case(tmp_path, "c", "# comment\n\nwasmem export-memory m.wasm -o o.wasm --name 'a b'\n")
    assert command_lines(case) == [["export-memory", "m.wasm", "-o", "o.wasm", "--name", "a b"]]
    assert run_case(case).status == [0]
    for text, message in [("wasm-tools validate m.wasm\n", r"cmd:1: a command line starts with `wasmem`, not 'wasm-tools'"),
                          ("# nothing\n", "cmd: no command lines"),
                          ("wasmem info 'm.wasm\n", r"cmd:1: No closing quotation")]:
        (case / "cmd").write_text(text)
        with pytest.raises(CaseError, match=message):
            run_case(case)


def test_a_line_may_end_in_standard_input(tmp_path):
    case = make_case(tmp_path, "c", "wasmem info - < m.wasm\nwasmem info -\nwasmem info - < absent.wasm\n")
    assert command_lines(case)[0] == ["info", "-"]
    with pytest.raises(CaseError, match="< absent.wasm: No such file or directory"):
        run_case(case)
    (case / "cmd").write_text("wasmem info - < m.wasm\nwasmem info -\n")
    run = run_case(case)
    assert run.status == [0, 2]  # (without `<`, an empty input)
    assert run.stdout.startswith(b"<stdin>: ") and run.stderr == (
        b"wasmem: error: <stdin>: offset 0x0: unexpected end of input: file too short for a WebAssembly header\n")


def test_cases_are_the_folders_with_a_cmd(tmp_path):
    a = make_case(tmp_path, "a", "wasmem info m.wasm\n")
    b = make_case(tmp_path / "group", "b", "wasmem info m.wasm\n")
    (tmp_path / "notes").mkdir()
    (a / "expected").mkdir()
    (a / "expected" / "cmd").write_text("an output named cmd is not a case")
    assert cases(tmp_path) == [a, b]
    with pytest.raises(CaseError, match="not a folder of cases"):
        cases(tmp_path / "missing")


def test_the_temporary_folder_shows_as_dot():
    here = os.fsencode("/tmp/wasmem-case-x/c")
    assert _shown(b"error: /tmp/wasmem-case-x/c/in.wasm: bad; in /tmp/wasmem-case-x/c", here) == \
        b"error: in.wasm: bad; in ."

"""What a command imports: a build step runs wasmem once per module, so a module a command
does not use must stay off its start-up path. Measured on the installed script itself
(src/bin/wasmem, not an entry point: pip's wrapper imports re)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "src" / "bin" / "wasmem"
PLAIN = ROOT / "fixtures" / "import-memory" / "0.28.20-strings" / "plain.wasm"

# re and json (with enum, functools and collections behind them) are 25M instructions, as
# much as all of `wasmem info` on a 700 KB module; wasmtime and construct are 0.1 s and 0.05 s.
NEVER = {"re", "json", "enum", "argparse", "typing", "types", "contextlib", "wasmtime", "construct"}


def imported(args: list[str], tmp_path: Path) -> set[str]:
    run = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), *args], capture_output=True,
                         text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [
    ["info", str(PLAIN)],
    ["info", "--json", "--segments", str(PLAIN)],
    ["import-memory", str(PLAIN), "-o", "out.wasm", "--zero-fill"],
    ["import-memory", str(PLAIN), "-o", "out.wasm", "--shared", "--maximum", "4"],
    ["export-memory", str(PLAIN), "-o", "out.wasm", "--name", "mem2"],
    ["set-memory", str(PLAIN), "-o", "out.wasm", "--initial", "3"],
], ids=lambda a: a[0] + (" --json" if "--json" in a else ""))
def test_a_command_imports_nothing_it_does_not_use(args, tmp_path):
    assert imported(args, tmp_path) & NEVER == set()


def test_layout_of_a_json_spec_imports_no_json(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"object": [{"name": "s", "type": "string", "value": "é"},
                                           {"name": "a", "type": "Array<i32>", "value": [1, 2]}]}))
    # (layout uses functools and collections, which import `types` themselves)
    assert imported(["layout", str(spec), "--format", "bin", "-o", "out.bin"], tmp_path) & (NEVER - {"types"}) == set()
    assert (tmp_path / "out.bin").stat().st_size > 0


def test_the_script_is_what_pyproject_installs():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'script-files = ["src/bin/wasmem"]' in text and "[project.scripts]" not in text
    assert SCRIPT.read_text().startswith("#!python\n")  # (pip points it at the environment's python)


# The process ends with os._exit, without the interpreter's teardown (cli.entrypoint):
# everything it printed or wrote must still be there, and its exit status must be main()'s.

def run_script(args, tmp_path, **kw):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, cwd=tmp_path, **kw)


def test_output_is_complete_and_the_status_is_mains(tmp_path):
    import hashlib

    from wasmem.cli.info import render
    from wasmem.module import Module

    run = run_script(["info", "--json", "--segments", str(PLAIN)], tmp_path)
    assert run.returncode == 0 and run.stderr == b""
    assert json.loads(run.stdout) == json.loads(json.dumps(Module.from_file(PLAIN).info(segments=True)))
    run = run_script(["info", str(PLAIN)], tmp_path)
    assert run.stdout.decode() == render(Module.from_file(PLAIN).info(), str(PLAIN)) + "\n"
    run = run_script(["import-memory", str(PLAIN), "-o", "out.wasm"], tmp_path)
    assert run.returncode == 0
    expected = PLAIN.with_name("expected.wasm").read_bytes()
    assert hashlib.sha256((tmp_path / "out.wasm").read_bytes()).digest() == hashlib.sha256(expected).digest()
    run = run_script(["info", str(tmp_path / "missing.wasm")], tmp_path)
    assert run.returncode == 2 and run.stderr.startswith(b"wasmem: error: ") and run.stdout == b""
    run = run_script(["import-memory", str(tmp_path / "out.wasm"), "-o", "again.wasm"], tmp_path)
    assert run.returncode == 2 and b"no defined memory" in run.stderr  # (a warning or an error still reaches stderr)


def test_the_start_block_that_raises_the_mmap_threshold_is_not_needed(tmp_path):
    # entrypoint makes and frees a 30 MiB block (glibc's mmap threshold: fewer fresh pages);
    # where it cannot be had (strict overcommit, a small address-space limit) the command runs
    code = ("import sys, wasmem.cli as cli; cli._MMAP_THRESHOLD = 1 << 62; sys.argv[0] = 'wasmem'; "
            "cli.entrypoint()")
    run = subprocess.run([sys.executable, "-c", code, "info", "--json", str(PLAIN)], capture_output=True)
    assert (run.returncode, run.stderr) == (0, b"")
    from wasmem.module import Module

    assert json.loads(run.stdout) == json.loads(json.dumps(Module.from_file(PLAIN).info()))


def test_a_reader_that_goes_away_is_no_error(tmp_path):
    # `wasmem layout ... | head -c 1`: the pipe closes with output still to write.
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"object": [{"name": f"s{i}", "type": "string", "value": "x" * 50}
                                           for i in range(3000)]}))
    p = subprocess.Popen([sys.executable, str(SCRIPT), "layout", str(spec), "--format", "wat"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(1)
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait() == 0 and err == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["info", str(PLAIN)], ["info", "--json", str(PLAIN)]], ids=["text", "json"])
def test_an_output_that_cannot_be_written_is_an_error(tmp_path, args):
    with open("/dev/full", "wb") as full:
        run = subprocess.run([sys.executable, str(SCRIPT), *args], stdout=full, stderr=subprocess.PIPE, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.decode().strip() == "wasmem: error: output: No space left on device"

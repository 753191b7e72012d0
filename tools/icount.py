#!/usr/bin/env python3
"""Count the instructions a wasmem command executes, for A/B comparisons on a noisy machine.

Wall-clock medians (tools/bench.py) are what users feel, but on a shared 2-core
VM the same command can vary by 30% from one minute to the next. Instruction
counts under valgrind are repeatable to a few parts in a million, so a change
that saves 5% shows as 5%. (They ignore page faults and cache misses: confirm a
win with bench.py.)

    tools/icount.py -- info --json module.wasm
    tools/icount.py --src ../old/src --src src -- import-memory in.wasm -o /tmp/out.wasm

Each --src is put first on PYTHONPATH (default: this checkout's src). Needs
valgrind (Debian package `valgrind`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def count(src: Path, args: list[str], python: str) -> int:
    """Instructions of ``python -m wasmem ARGS`` with ``src`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # count runs as installed: bytecode cached
    subprocess.run([python, "-m", "compileall", "-q", str(src)], check=True, env=env)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, "-m", "wasmem",
                              *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if not found:
        sys.exit(f"icount: no count from valgrind:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", action="append", type=Path,
                        help="a source tree to measure (repeat to compare; default: this checkout's src)")
    venv = ROOT / ".venv" / "bin" / "python"
    parser.add_argument("--python", default=str(venv) if venv.exists() else sys.executable,
                        help="the interpreter (default: the checkout's .venv, else this one; another with more "
                             "site-packages starts slower: sql-wasm's info counted 145 M, not 70 M, under "
                             "a global python)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the wasmem command line")
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    if not args:
        parser.error("give the wasmem command line after --")
    if shutil.which("valgrind") is None:
        sys.exit("icount: valgrind is not installed (apt-get install valgrind)")
    trees = opts.src or [ROOT / "src"]
    first = None
    for src in trees:
        n = count(src.resolve(), args, opts.python)
        change = "" if first is None else f"  {100 * (n - first) / first:+.1f}%"
        first = n if first is None else first
        print(f"{n / 1e6:10.1f} M instructions  {src}{change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

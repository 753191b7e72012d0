"""Writing files atomically: a temporary file in the same folder, then a rename.

A failed write leaves no partial file and an existing file untouched."""

from __future__ import annotations

import itertools
import os

_serial = itertools.count()


def write_atomic(path, pieces) -> None:
    """Write ``pieces`` (bytes-like, or an iterable of them) to ``path`` atomically.

    A new file gets the usual permissions (0666 less the umask); an existing
    file keeps its mode."""
    if isinstance(pieces, (bytes, bytearray, memoryview)):
        pieces = (pieces,)
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    while True:  # O_EXCL: never reuse a name someone else holds
        tmp = os.path.join(folder, f".{name}.wasmem-{os.getpid()}-{next(_serial)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            for p in pieces:
                f.write(p)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

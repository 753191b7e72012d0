"""Writing files atomically: a temporary file in the same folder, then a rename.

A failed write leaves no partial file and an existing file untouched."""

from __future__ import annotations

import os
import tempfile


def write_atomic(path, pieces) -> None:
    """Write ``pieces`` (bytes-like, or an iterable of them) to ``path`` atomically.

    A new file gets the usual permissions (0666 less the umask); an existing
    file keeps its mode."""
    if isinstance(pieces, (bytes, bytearray, memoryview)):
        pieces = (pieces,)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".wasmem-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            for p in pieces:
                f.write(p)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

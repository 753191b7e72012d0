"""Files: mapping an input, and writing an output atomically (a temporary file in
the same folder, then a rename), with the kernel copying what is unchanged.

A failed write leaves no partial file and an existing file untouched."""

from __future__ import annotations

import errno
import itertools
import os

_serial = itertools.count()


def map_file(f):
    """A read-only memoryview of open file ``f`` mapped into memory, or None where it
    cannot be mapped (empty, a pipe). Pages are read on first touch: a command that
    looks at a few sections of a 30 MB module does not copy the rest."""
    import mmap

    try:
        return memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    except (OSError, ValueError):
        return None


def write_atomic(path, pieces, source=None) -> None:
    """Write ``pieces`` (bytes-like, or an iterable of them) to ``path`` atomically.

    With ``source``, an (open file, its bytes) pair, a piece may also be a ``slice``
    of those bytes: the kernel copies it from the file (copy_file_range) where it can,
    without the pages passing through this process; elsewhere it is written as usual.
    A new file gets the usual permissions (0666 less the umask); an existing
    file keeps its mode. A list of pieces has its space reserved first (``_reserve``)."""
    if isinstance(pieces, (bytes, bytearray, memoryview)):
        pieces = (pieces,)
    size = _size_of(pieces) if isinstance(pieces, (list, tuple)) else None
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
            if size:
                _reserve(fd, size)
            kernel = source is not None and hasattr(os, "copy_file_range")
            for p in pieces:
                if p.__class__ is not slice:
                    f.write(p)
                elif not (kernel and _copy_range(source[0], f, p.start, p.stop)):
                    kernel = False  # (not on this file system: write the rest)
                    f.write(source[1][p])
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _size_of(pieces) -> int:
    """The bytes ``pieces`` make (a slice: its length in the source)."""
    return sum(p.stop - p.start if p.__class__ is slice else memoryview(p).nbytes for p in pieces)


# Where the file system cannot reserve space (or glibc's emulation would not): write as usual.
_NO_RESERVE = {errno.EOPNOTSUPP, errno.EINVAL, errno.ENODEV, errno.ESPIPE, errno.ENOSYS, errno.EBADF}


def _reserve(fd: int, size: int) -> None:
    """Allocate the output's blocks before writing it, as LLVM's FileOutputBuffer and Go's
    linker do: a full disk fails here, before a byte is written; and on ext4 the rename
    that replaces an existing file then has no delayed allocation to force out (its
    auto_da_alloc rule: 12-18 ms of replacing a 14 MB output on this project's machine,
    against 1-6 ms). A file system that cannot reserve is written as before."""
    if not hasattr(os, "posix_fallocate"):  # (macOS, Windows)
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as e:
        if e.errno not in _NO_RESERVE:
            raise


def _copy_range(src, out, start: int, stop: int) -> bool:
    """Have the kernel append bytes ``start:stop`` of file ``src`` to ``out``; False
    when it cannot (an old kernel, a file system without it) and nothing was copied."""
    out.flush()  # (the copy goes to the descriptor's position, past what is buffered)
    fd, src_fd = out.fileno(), src.fileno()
    pos = start
    while pos < stop:
        try:
            n = os.copy_file_range(src_fd, fd, stop - pos, pos)
        except OSError:
            if pos > start:
                raise
            return False
        if n == 0:  # the input is shorter than when it was read
            raise OSError(f"the input {src.name} changed while being copied (it now ends before byte {stop})")
        pos += n
    return True

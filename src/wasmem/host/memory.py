"""Bounds-checked access to a live linear memory, the same for every kind.

wasmtime-py has two memory classes with different calling conventions:
``Memory`` needs the store for every call, ``SharedMemory`` does not, and in
50.0.1 ``SharedMemory.size()`` raises (it passes a pointer to a pointer).
:class:`LinearMemory` hides both behind one small interface that works from
the raw data pointer and ``data_len`` (re-read on every access, since a grow
may move the memory).
"""

from __future__ import annotations

import ctypes
import struct

from ..errors import WasmError

# Largest single read or write; a bigger request is a corrupt size, not data.
MAX_ACCESS = 1 << 30


class MemoryAccessError(WasmError):
    """An access outside the memory's current size (or a negative/absurd one)."""

    def __init__(self, message: str, address: int | None = None, size: int | None = None):
        super().__init__(message)
        self.address = address
        self.size = size


class LinearMemory:
    """One wasm memory (``wasmtime.Memory`` or ``wasmtime.SharedMemory``).

    ``store`` is needed for a plain ``Memory`` (a ``Store`` or a ``Caller``)
    and ignored for a shared one. ``name`` only appears in error messages.
    """

    __slots__ = ("raw", "store", "shared", "name")

    def __init__(self, raw, store=None, *, name: str = "memory"):
        import wasmtime  # lazily: only host code pays for it

        self.raw = raw
        self.shared = isinstance(raw, wasmtime.SharedMemory)  # its methods take no store
        if not self.shared and store is None:
            raise WasmError("a non-shared wasmtime Memory needs its store")
        self.store = store
        self.name = name

    # -- sizes ---------------------------------------------------------------
    def data_len(self) -> int:
        return self.raw.data_len() if self.shared else self.raw.data_len(self.store)

    def page_size(self) -> int:
        ty = self.raw.type() if self.shared else self.raw.type(self.store)
        return ty.page_size

    def pages(self) -> int:
        return self.data_len() // self.page_size()

    def _base(self) -> int:
        ptr = self.raw.data_ptr() if self.shared else self.raw.data_ptr(self.store)
        return ctypes.addressof(ptr.contents)

    # -- access --------------------------------------------------------------
    def check(self, address: int, size: int) -> None:
        """Raise MemoryAccessError unless [address, address+size) is inside the memory."""
        if size < 0 or size > MAX_ACCESS:
            raise MemoryAccessError(f"{self.name}: absurd access size {size} at 0x{address:x}", address, size)
        length = self.data_len()
        if address < 0 or address + size > length:
            raise MemoryAccessError(
                f"{self.name}: bytes [0x{address:x}, 0x{address + size:x}) are outside the memory "
                f"(size 0x{length:x})", address, size)

    def read(self, address: int, size: int) -> bytes:
        self.check(address, size)
        if size == 0:
            return b""
        return ctypes.string_at(self._base() + address, size)

    def write(self, address: int, data) -> None:
        data = bytes(data)
        self.check(address, len(data))
        if data:
            ctypes.memmove(self._base() + address, data, len(data))

    def fill(self, byte: int, address: int = 0, size: int | None = None) -> None:
        """Set ``size`` bytes (default: to the end of memory) to ``byte``."""
        if size is None:
            size = self.data_len() - address
        self.check(address, size)
        if size:
            ctypes.memset(self._base() + address, byte, size)

    def view(self) -> memoryview:
        """A zero-copy view of the whole memory; invalid after the memory grows."""
        length = self.data_len()
        if length == 0:
            return memoryview(b"")
        return memoryview((ctypes.c_ubyte * length).from_address(self._base())).cast("B")

    def __repr__(self) -> str:
        kind = "shared " if self.shared else ""
        return f"<LinearMemory {self.name}: {kind}{self.data_len()} bytes>"


# Function forms, for callers that prefer them (same checks as the methods).
def read_bytes(mem: LinearMemory, address: int, size: int) -> bytes:
    return mem.read(address, size)


def write_bytes(mem: LinearMemory, address: int, data) -> None:
    mem.write(address, data)


def read_u32(mem: LinearMemory, address: int) -> int:
    return struct.unpack("<I", mem.read(address, 4))[0]


def write_u32(mem: LinearMemory, address: int, value: int) -> None:
    mem.write(address, struct.pack("<I", value & 0xFFFFFFFF))


def pages(mem: LinearMemory) -> int:
    return mem.pages()

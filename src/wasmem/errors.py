"""The one exception hierarchy of wasmem.

Every error the library raises on bad input is a :class:`WasmError`. The CLI
catches that base class once and turns it into ``wasmem: error: FILE: ...`` and
exit status 2. Decoding errors carry the absolute byte offset of the problem.
"""

from __future__ import annotations


class WasmError(Exception):
    """Base class of every error wasmem raises on purpose."""


class DecodeError(WasmError):
    """The bytes are not a well-formed module (or not one we can read).

    ``offset`` is the absolute byte offset in the file where the problem is;
    ``str()`` gives ``offset 0x1f: what is wrong`` as the CLI prints it.
    """

    def __init__(self, message: str, offset: int | None = None, *, section: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.section = section

    def __str__(self) -> str:
        where = f"offset 0x{self.offset:x}: " if self.offset is not None else ""
        return f"{where}{self.message}"


class UnsupportedError(DecodeError):
    """Well-formed, perhaps, but an encoding this tool does not model: never guessed."""


class RewriteError(WasmError):
    """A requested change cannot be carried out (limits, names, placement...)."""


class SpecError(WasmError):
    """A static-data spec is invalid: the message names the object, index and value."""


class LayoutError(WasmError):
    """Objects cannot be laid out as asked (unknown type, unresolved runtime id...)."""


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, in the plural but for one ("1 page", "2 pages"): the one place of
    that rule for every message and summary wasmem prints."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class WasmWarning(UserWarning):
    """Something worth telling the user that does not stop the work."""

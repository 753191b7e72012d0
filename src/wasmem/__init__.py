"""wasmem: inspect, rewrite and generate the memory and static data of wasm modules."""

from .errors import (
    DecodeError,
    LayoutError,
    RewriteError,
    SpecError,
    UnsupportedError,
    WasmError,
    WasmWarning,
)

__version__ = "0.1.0"

__all__ = [
    "DecodeError",
    "LayoutError",
    "RewriteError",
    "SpecError",
    "UnsupportedError",
    "WasmError",
    "WasmWarning",
    "Module",
]


def __getattr__(name):
    # Lazy so that `import wasmem.errors` (and the CLI) stays cheap.
    if name == "Module":
        from .module import Module

        return Module
    raise AttributeError(f"module 'wasmem' has no attribute {name!r}")

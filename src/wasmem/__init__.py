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

# The public API, imported lazily so that `import wasmem` (and the CLI) stays cheap.
_LAZY = {
    "Module": ("module", "Module"),
    "import_memory": ("rewrite.memory", "import_memory"),
    "define_memory": ("rewrite.memory", "define_memory"),
    "export_memory": ("rewrite.memory", "export_memory"),
    "set_memory": ("rewrite.memory", "set_memory"),
    "add_data": ("rewrite.add_data", "add_data"),
    "StaticLayout": ("layout.assemblyscript", "StaticLayout"),
    "CLayout": ("layout.c", "CLayout"),
    "load_spec": ("layout.spec", "load_spec"),
    "build_layout": ("layout.spec", "build_layout"),
}

__all__ = [
    "DecodeError",
    "LayoutError",
    "RewriteError",
    "SpecError",
    "UnsupportedError",
    "WasmError",
    "WasmWarning",
    *_LAZY,
]


def __getattr__(name):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'wasmem' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{target[0]}", __name__), target[1])
    globals()[name] = value
    return value

"""Static data layouts: AssemblyScript objects with their runtime headers, and headerless C data.

Independent of any module: runtime ids come from an explicit id, a type table,
or an :class:`~wasmem.layout.rtti.Rtti` read through a ``read(address, size)`` callable.
"""

from .assemblyscript import StaticLayout
from .c import CLayout
from .rtti import Rtti
from .spec import Spec, build_layout, load_spec, parse_spec

__all__ = ["StaticLayout", "CLayout", "Rtti", "Spec", "build_layout", "load_spec", "parse_spec"]

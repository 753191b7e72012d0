"""What wasmem can learn of an AssemblyScript build from its Module: the RTTI
table behind ``__rtti_base`` and the asc version it implies. The one place
where a Module meets ``layout/`` (which knows nothing of sections)."""

from __future__ import annotations

import struct
import warnings

from .errors import WasmWarning


def module_rtti(m, abi_name: str, version=None):
    """(version, Rtti or None) of an asc module. The version is inferred from
    the table and the static data when not given; None RTTI when the module
    has no ``__rtti_base`` (build with --exportRuntime to get one)."""
    from .layout import abi as abis
    from .layout.rtti import Rtti

    sym = m.symbols().get("__rtti_base")
    if sym is None:
        # Without the table only the version is missed: an array's missing id is an error
        # of its own, which says where ids come from (strings and buffers have built-in ids).
        if version is None and abi_name == "assemblyscript":
            warnings.warn("no __rtti_base found (build with --exportRuntime), so the asc version is not "
                          f"known; assuming {'.'.join(map(str, abis.NEWEST_VERIFIED))} (give --as-version)",
                          WasmWarning, stacklevel=2)
        return version, None
    base = sym["value"]
    if version is None and abi_name == "assemblyscript":
        words = list(struct.unpack("<10I", m.read_static(base, 40)))
        view = m.view(11, create=True)
        segs = [(off, view.segment_data(i)) for off, _, i in view.spans(0)]
        version = abis.infer_version(words, segs)
        if version is None:
            warnings.warn("cannot tell the asc version from the module; assuming "
                          f"{'.'.join(map(str, abis.NEWEST_VERIFIED))} (give --as-version)", WasmWarning,
                          stacklevel=2)
    abi = abis.for_version(version, abi_name)
    return version, Rtti.read(m.read_static, base, abi)

"""wasmem read FILE (EXPORT | ADDRESS) [--type T] [--abi A] [--json] [--timeout S]"""

from __future__ import annotations

import json
import sys

from ._common import about, add_timeout, print_json, read_input, shown, timeout_of, use_engine_cache

NAME = "read"
HELP = "instantiate a module and decode the AssemblyScript object (or C data) at an exported global or an address"

PREVIEW = 200  # characters of the value on the human line


def add_arguments(p):
    p.add_argument("file", metavar="FILE", help="the .wasm module (- for standard input)")
    p.add_argument("target", metavar="EXPORT|ADDRESS",
                   help="an exported i32 global holding the object's address, or the address itself "
                        "(decimal or 0x hex): the payload pointer the program holds")
    p.add_argument("--type", metavar="T",
                   help="read the object as this type (string, ArrayBuffer, Array<i32>, StaticArray<string>, "
                        "Int32Array, Array<Array<string>>, ...) instead of the one its header and the "
                        "module's RTTI give; with --abi c (no header): cstring, a scalar such as u32, "
                        "or T[N] / bytes[N] with the count")
    p.add_argument("--abi", choices=("assemblyscript", "assemblyscript-legacy", "c"),
                   help="header layout (default: inferred from the module's RTTI, else asc 0.28's); "
                        "c: headerless C data, read as --type says")
    p.add_argument("--as-version", metavar="V", help="asc version (default: inferred from the module)")
    p.add_argument("--memory", default="0", metavar="N|NAME",
                   help="the memory to read: index or export name (default 0)")
    p.add_argument("--json", action="store_true",
                   help='print {"address", "type", "rt_id", "size", "value", "notes"}: value is the string\'s '
                        "text, an ArrayBuffer's hex, or a list for arrays (nested objects decoded)")
    add_timeout(p)


def run(args) -> int:
    from ..host.instance import check_magic, instantiate
    from ..host.objects import ReadError
    from ..errors import WasmError
    from ..host.read import module_abi, read_at, read_c, target_address

    c_abi = args.abi == "c"
    if c_abi and args.type is None:
        raise WasmError("--abi c: C data has no header to tell its type; give --type (cstring, a scalar "
                        "such as u32, or T[N] / bytes[N] with the count)")
    use_engine_cache()
    data = read_input(args.file)
    with about(args.file):
        check_magic(data)
        if c_abi:
            _check_c_type(args.type)
        elif args.type is not None:
            _check_type(args.type)
        host = instantiate(data, timeout=timeout_of(args))
        address, export = target_address(host, args.target)
        if not c_abi:  # (after the address: "version unknown" is noise beside "no such export")
            abi, rtti = module_abi(host.parsed, args.abi, args.as_version)
        mem = host.memory(_index_or_name(args.memory))
        try:
            obj = read_c(mem, address, args.type) if c_abi else read_at(mem, address, abi, rtti, args.type)
        except ReadError as e:
            where = f"{export} = 0x{address:x}" if export else f"0x{address:x}"
            print(f"wasmem: error: {shown(args.file)}: no valid object at {where}: {e}", file=sys.stderr)
            return 1
    if args.json:
        print_json(obj.to_json())
        return 0
    if obj.notes:  # what the reading assumed (in the JSON, its "notes")
        import warnings

        from ..errors import WasmWarning

        for note in obj.notes:
            warnings.warn(note, WasmWarning)
    print(summary(obj, export))
    return 0


def _check_type(text: str) -> None:
    """A --type that is not an object type is a usage error (exit 2), not a failed read."""
    from ..errors import WasmError
    from ..host.objects import ReadError, parse_type
    from ..layout.types import Ref

    try:
        t = parse_type(text)
    except ReadError as e:
        raise WasmError(f"--type: {e}") from e
    if not isinstance(t, Ref):
        raise WasmError(f"--type: {t.name} is a value type, not an object")


def _check_c_type(text: str) -> None:
    """A --type the c abi cannot read is a usage error (exit 2), as for objects."""
    from ..errors import LayoutError, WasmError
    from ..host.read import parse_c_type

    try:
        parse_c_type(text)
    except LayoutError as e:
        raise WasmError(f"--type: {e}") from e


def summary(obj, export: str | None = None) -> str:
    """One line: what, where, rtId, size, and the value (cut to PREVIEW characters)."""
    from ..errors import counted
    from ..host.read import json_value

    value = json.dumps(json_value(obj.value), ensure_ascii=False)
    if len(value) > PREVIEW:
        count = f", {len(obj.value)} {'elements' if isinstance(obj.value, list) else 'units'}"
        value = value[:PREVIEW] + f"... ({len(value)} characters{count})"
    name = f"{export} = " if export else ""
    rt_id = "" if obj.rt_id is None else f"rtId {obj.rt_id}, "
    return f"{name}{obj.type} at 0x{obj.address:x} ({rt_id}{counted(obj.size, 'byte')}): {value}"


def _index_or_name(text: str):
    """--memory: an index (decimal or 0x) where the text reads as one, else a name."""
    try:
        return int(text, 0)
    except ValueError:
        return text

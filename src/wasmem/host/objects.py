"""Read and write AssemblyScript objects in a live memory, by address.

Every address is a *payload* pointer (what AS code and exported globals
hold); the header sits in front of it (assemblyscript-static-data.md 2):

    20-byte header (0.17+):  ptr-20 mmInfo, ptr-16 gcInfo, ptr-12 gcInfo2, ptr-8 rtId, ptr-4 rtSize
    16-byte header (0.9-0.16, abi "assemblyscript-legacy"): ptr-16 mmInfo, ptr-12 gcInfo, ptr-8 rtId, ptr-4 rtSize

The type of an object is not guessed here: callers pass a type descriptor
("string", "ArrayBuffer", "Array<i32>", "StaticArray<Array<string | null>>",
"Int32Array", ...; parsed by layout/types.py, the one type parser), resolved
from the module's RTTI by whoever knows it.
Every read is bounds-checked; a bad address, an inconsistent header or an
absurd size raises :class:`ReadError`, never anything else.
"""

from __future__ import annotations

import dataclasses
import struct

from ..errors import LayoutError, WasmError
from ..layout import abi as abis
from ..layout.types import SCALARS, TYPED_ARRAYS, Ref, Scalar, parse_type as _parse_type
from .memory import LinearMemory, MemoryAccessError

HEADER_SIZE = {"assemblyscript": 20, "assemblyscript-legacy": 16}
ARRAY_PAYLOAD = 16  # Array<T>: buffer, dataStart, byteLength, length_
VIEW_PAYLOAD = 12  # typed arrays: buffer, dataStart, byteLength
MAX_DEPTH = 32  # nesting of arrays of arrays; deeper means a cycle or garbage
POINTER = Scalar("pointer", 4, "I")  # references are u32 pointers on wasm32, 0 = null


class ReadError(WasmError):
    """No valid object of the expected type at that address."""

    def __init__(self, message: str, address: int | None = None):
        super().__init__(message)
        self.address = address


@dataclasses.dataclass(frozen=True)
class ObjectHeader:
    """The header in front of the payload at ``address``."""

    address: int  # payload pointer
    mm_info: int
    gc_info: int
    gc_info2: int | None  # None in the 16-byte legacy header
    rt_id: int
    rt_size: int
    header_size: int = 20

    @property
    def block(self) -> int:
        """Start of the block (the mmInfo word)."""
        return self.address - self.header_size


def parse_type(text) -> Scalar | Ref:
    """A type descriptor ("Array<string | null>", "i32[]", "Int32Array", ...), parsed
    by the layout code's one parser; ReadError when it is not a type."""
    if isinstance(text, (Scalar, Ref)):
        return text
    try:
        return _parse_type(text)
    except LayoutError as e:
        raise ReadError(str(e)) from e


def _header_size(abi) -> int:
    """20 or 16, from an abi name or a layout Abi."""
    if isinstance(abi, str):
        try:
            return HEADER_SIZE[abi]
        except KeyError:
            raise ReadError(f"unknown abi {abi!r} (expected one of {', '.join(HEADER_SIZE)})") from None
    return abi.header_size


def _elem_layout(elem) -> Scalar:
    return elem if isinstance(elem, Scalar) else POINTER


# -- raw access with object context ---------------------------------------------

def read_checked(mem: LinearMemory, address: int, size: int, what: str) -> bytes:
    """``mem.read``, an access outside the memory raised as a ReadError about ``what``."""
    try:
        return mem.read(address, size)
    except MemoryAccessError as e:
        raise ReadError(f"{what}: {e}", address) from e


def read_header(mem: LinearMemory, address: int, *, abi="assemblyscript") -> ObjectHeader:
    """The object header in front of payload pointer ``address``.

    ``abi``: "assemblyscript" (20-byte header), "assemblyscript-legacy"
    (16-byte) or a layout ``Abi``. The payload must fit in the memory.
    """
    size = _header_size(abi)
    if address == 0:
        raise ReadError("null pointer", 0)
    if address < size:
        raise ReadError(f"0x{address:x} is too low for an object (its {size}-byte header would start "
                        "below address 0)", address)
    words = struct.unpack(f"<{size // 4}I", read_checked(mem, address - size, size,
                                                    f"header of the object at 0x{address:x}"))
    if size == 20:
        mm, gc, gc2, rt_id, rt_size = words
    else:
        (mm, gc, rt_id, rt_size), gc2 = words, None
    if address + rt_size > mem.data_len():
        raise ReadError(f"object at 0x{address:x}: rtSize {rt_size} runs past the end of memory "
                        f"(0x{mem.data_len():x})", address)
    return ObjectHeader(address, mm, gc, gc2, rt_id, rt_size, size)


def _payload(mem: LinearMemory, address: int, abi, what: str) -> tuple[ObjectHeader, bytes]:
    header = read_header(mem, address, abi=abi)
    return header, read_checked(mem, address, header.rt_size, f"{what} at 0x{address:x}")


def _check_in_buffer(mem, what, address, buffer, data_start, byte_length, abi) -> None:
    """A view's [dataStart, +byteLength) must lie inside its backing buffer."""
    buf = read_header(mem, buffer, abi=abi)
    if not buffer <= data_start <= data_start + byte_length <= buffer + buf.rt_size:
        raise ReadError(f"{what}: data [0x{data_start:x}, +{byte_length}) lies outside its buffer "
                        f"[0x{buffer:x}, +{buf.rt_size})", address)


# -- readers -------------------------------------------------------------------

def read_string(mem: LinearMemory, address: int, *, abi="assemblyscript") -> str:
    """An AS string: UTF-16LE code units, rtSize bytes (lone surrogates kept)."""
    header, data = _payload(mem, address, abi, "string")
    if header.rt_size % 2:
        raise ReadError(f"string at 0x{address:x}: odd byte length {header.rt_size}", address)
    return data.decode("utf-16-le", "surrogatepass")


def read_arraybuffer(mem: LinearMemory, address: int, *, abi="assemblyscript") -> bytes:
    """An ArrayBuffer's bytes (rtSize of them)."""
    return _payload(mem, address, abi, "ArrayBuffer")[1]


def _decode_elements(mem, data: bytes, elem, count: int, abi, depth: int, what: str) -> list:
    layout = _elem_layout(elem)
    values = list(struct.unpack(f"<{count}{layout.fmt}", data[:count * layout.size]))
    if isinstance(elem, Scalar):
        return values  # struct gives bools for "?" and ints/floats otherwise
    out = []
    for i, ptr in enumerate(values):
        if ptr == 0:  # null, whatever the declared type: `new Array<string>(n)` holds nulls
            out.append(None)
            continue
        try:
            out.append(_read_any(mem, ptr, elem, abi, depth + 1))
        except ReadError as e:
            raise ReadError(f"{what}: element {i}: {e}", ptr) from e
    return out


def read_array(mem: LinearMemory, address: int, elem_type="i32", *, abi="assemblyscript",
               _depth: int = 0) -> list:
    """An ``Array<T>``'s elements (strings and nested arrays decoded, null -> None)."""
    elem = parse_type(elem_type)
    what = f"Array<{elem.name}> at 0x{address:x}"
    header = read_header(mem, address, abi=abi)
    if header.rt_size < ARRAY_PAYLOAD:
        raise ReadError(f"{what}: payload is {header.rt_size} bytes, an Array needs {ARRAY_PAYLOAD}", address)
    buffer, data_start, byte_length, length = struct.unpack("<IIii", read_checked(mem, address, 16, what))
    size = _elem_layout(elem).size
    if length < 0 or byte_length < 0 or length * size > byte_length:
        raise ReadError(f"{what}: length {length} x {size} bytes does not fit byteLength {byte_length}",
                        address)
    if buffer:
        _check_in_buffer(mem, what, address, buffer, data_start, byte_length, abi)
    elif length:
        raise ReadError(f"{what}: length {length} with a null buffer", address)
    data = read_checked(mem, data_start, length * size, what)
    return _decode_elements(mem, data, elem, length, abi, _depth, what)


def read_static_array(mem: LinearMemory, address: int, elem_type="i32", *, abi="assemblyscript",
                      _depth: int = 0) -> list:
    """A ``StaticArray<T>``: elements inline, length = rtSize / sizeof T."""
    elem = parse_type(elem_type)
    what = f"StaticArray<{elem.name}> at 0x{address:x}"
    header, data = _payload(mem, address, abi, what)
    size = _elem_layout(elem).size
    if header.rt_size % size:
        raise ReadError(f"{what}: rtSize {header.rt_size} is not a multiple of {size}", address)
    return _decode_elements(mem, data, elem, header.rt_size // size, abi, _depth, what)


def read_typed_array(mem: LinearMemory, address: int, kind: str = "Uint8Array", *, abi="assemblyscript") -> list:
    """A typed array (Int32Array, Float64Array, ...) as a list of numbers."""
    if kind not in TYPED_ARRAYS:
        raise ReadError(f"unknown typed array {kind!r} (one of {', '.join(TYPED_ARRAYS)})")
    elem = SCALARS[TYPED_ARRAYS[kind]]
    what = f"{kind} at 0x{address:x}"
    header = read_header(mem, address, abi=abi)
    if header.rt_size < VIEW_PAYLOAD:
        raise ReadError(f"{what}: payload is {header.rt_size} bytes, a typed array needs {VIEW_PAYLOAD}",
                        address)
    buffer, data_start, byte_length = struct.unpack("<IIi", read_checked(mem, address, 12, what))
    if byte_length < 0 or byte_length % elem.size:
        raise ReadError(f"{what}: byteLength {byte_length} is not a multiple of {elem.size}", address)
    if buffer:
        _check_in_buffer(mem, what, address, buffer, data_start, byte_length, abi)
    elif byte_length:
        raise ReadError(f"{what}: byteLength {byte_length} with a null buffer", address)
    data = read_checked(mem, data_start, byte_length, what)
    return _decode_elements(mem, data, elem, byte_length // elem.size, abi, 0, what)


def _read_any(mem: LinearMemory, address: int, t: Ref, abi, depth: int):
    if depth > MAX_DEPTH:
        raise ReadError(f"objects nested more than {MAX_DEPTH} deep at 0x{address:x} (a cycle?)", address)
    if t.kind == "string":
        return read_string(mem, address, abi=abi)
    if t.kind == "ArrayBuffer":
        return read_arraybuffer(mem, address, abi=abi)
    if t.kind == "Array":
        return read_array(mem, address, t.elem, abi=abi, _depth=depth)
    if t.kind == "StaticArray":
        return read_static_array(mem, address, t.elem, abi=abi, _depth=depth)
    if t.kind == "typed":
        return read_typed_array(mem, address, t.typed_name, abi=abi)
    raise ReadError(f"{t.name} is not an object type")


def read_object(mem: LinearMemory, address: int, type_, *, abi="assemblyscript", rt_id: int | None = None):
    """The object at ``address`` read as ``type_`` (a type descriptor or parsed type).

    string -> str, ArrayBuffer -> bytes, arrays and typed arrays -> lists
    (elements decoded recursively, null pointers -> None). With ``rt_id``,
    the object's header must carry that runtime id.
    """
    t = parse_type(type_)
    if not isinstance(t, Ref):
        raise ReadError(f"{t.name} is a value type, not an object")
    if address == 0 and t.nullable:
        return None
    if rt_id is not None:
        found = read_header(mem, address, abi=abi).rt_id
        if found != rt_id:
            raise ReadError(f"object at 0x{address:x} has rtId {found}, not {rt_id} ({t.name})", address)
    return _read_any(mem, address, t, abi, 0)


# -- writers ---------------------------------------------------------------------
# They write a whole object (header and payload) at a payload address the
# caller chose and return the address just past the payload. The header bytes
# come from the layout code's Abi (asc version -> header variant, gcInfo, ids);
# an access outside the memory raises MemoryAccessError.

def _abi(abi) -> "abis.Abi":
    if abi is None or isinstance(abi, str):
        return abis.for_version(None, abi or "assemblyscript")
    return abi


def write_object(mem: LinearMemory, address: int, rt_id: int, payload: bytes, *, abi=None) -> int:
    """A complete object: the header of ``abi`` (rtId, rtSize = len(payload)), then the payload."""
    a = _abi(abi)
    if address % 16 or address < a.header_size:
        raise WasmError(f"cannot place an object at 0x{address:x}: payloads are 16-byte aligned, "
                        f"above a {a.header_size}-byte header")
    payload = bytes(payload)
    mem.write(address - a.header_size, a.header(len(payload), rt_id))
    mem.write(address, payload)
    return address + len(payload)


def write_string(mem: LinearMemory, address: int, text: str, *, abi=None, rt_id: int | None = None) -> int:
    """A string object (rtId: the abi's String id unless given)."""
    a = _abi(abi)
    return write_object(mem, address, a.ids.string if rt_id is None else rt_id,
                        text.encode("utf-16-le", "surrogatepass"), abi=a)


def write_arraybuffer(mem: LinearMemory, address: int, data: bytes, *, abi=None, rt_id: int | None = None) -> int:
    """An ArrayBuffer object (rtId: the abi's ArrayBuffer id unless given)."""
    a = _abi(abi)
    return write_object(mem, address, a.ids.array_buffer if rt_id is None else rt_id, data, abi=a)


def encode_elements(values, elem_type) -> bytes:
    """Scalars packed little-endian (checked by the layout's Scalar), or
    pointers (ints, None = null) for reference element types."""
    elem = parse_type(elem_type)
    if isinstance(elem, Scalar):
        return elem.pack(list(values))
    return POINTER.pack([0 if v is None else v for v in values])


def write_static_array(mem: LinearMemory, address: int, values, elem_type, *, rt_id: int, abi=None) -> int:
    """A StaticArray<T> (reference elements given as pointers)."""
    return write_object(mem, address, rt_id, encode_elements(values, elem_type), abi=abi)


def write_array_header(mem: LinearMemory, address: int, buffer: int, length: int, elem_type, *,
                       rt_id: int, abi=None) -> int:
    """An Array<T> object over the ArrayBuffer at ``buffer`` (length elements)."""
    size = _elem_layout(parse_type(elem_type)).size
    return write_object(mem, address, rt_id, struct.pack("<IIii", buffer, buffer, length * size, length), abi=abi)


def write_typed_array_header(mem: LinearMemory, address: int, buffer: int, byte_length: int, *,
                             rt_id: int, abi=None) -> int:
    """A typed-array view object over the ArrayBuffer at ``buffer``."""
    return write_object(mem, address, rt_id, struct.pack("<IIi", buffer, buffer, byte_length), abi=abi)

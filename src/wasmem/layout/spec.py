"""The static-data spec file (TOML or JSON, same structure): parsing, validation, layout.

Every problem is a SpecError naming the object (index and name), the element
index and the value, raised before anything is written. Structure is checked on
load; values are checked while they are packed (one place per rule, in types.py),
and the layout of a failed spec is thrown away.
"""

from __future__ import annotations

import functools
import operator
import os
from collections import namedtuple

from ..errors import LayoutError, SpecError
from ..fileio import map_file
from . import abi as abis
from .types import BadValue, Ref, parse_ctype, parse_type, show_value

TOP_KEYS = {"abi", "as_version", "base", "intern", "ids", "object"}
OBJECT_KEYS = {"name", "type", "value", "hex", "file", "id", "align"}
_BYTES_TYPES = ("ArrayBuffer", "bytes")


class ObjectSpec(namedtuple("ObjectSpec", "index name type value id align")):
    """One object of a spec as the user wrote it: index, name, type name, value, id, align."""

    __slots__ = ()

    def label(self) -> str:
        return f"object {self.index} {_quoted(self.name)} ({self.type})"


class Spec:
    """A checked spec. Its objects are four parallel lists, the compact form the builder
    consumes: ``types`` (parsed: Ref or CType), ``values``, ``names`` and ``extras``
    (the id of an AssemblyScript object, the align of a C one; None where not given)."""

    def __init__(self, abi=None, as_version=None, base=None, intern=None, ids=None, items=None, path=None):
        self.abi: str | None = abi
        self.as_version: str | None = as_version
        self.base: int | None = base
        self.intern: bool | None = intern
        self.ids: dict = {} if ids is None else ids
        self.types: list = []
        self.values: list = []
        self.names: list[str] = []
        self.extras: list = []
        for item in items or ():
            self.append(item)
        self.path: str | None = path

    def append(self, item: tuple) -> None:
        """Add one (type, value, name, id or align) object."""
        t, value, name, extra = item
        self.types.append(t)
        self.values.append(value)
        self.names.append(name)
        self.extras.append(extra)

    @property
    def items(self) -> list[tuple]:
        """(type, value, name, id or align) of each object."""
        return list(zip(self.types, self.values, self.names, self.extras))

    def __len__(self) -> int:
        return len(self.types)

    @property
    def objects(self) -> list[ObjectSpec]:
        return [self.object(i) for i in range(len(self))]

    def object(self, i: int) -> ObjectSpec:
        t, value, name, extra = self.types[i], self.values[i], self.names[i], self.extras[i]
        if self.abi == "c":
            return ObjectSpec(i, name, t.name, value, None, extra)
        return ObjectSpec(i, name, t.name, value, extra, None)


def _quoted(name) -> str:
    import json  # (error messages only)

    return json.dumps(name, ensure_ascii=False)


class _JsonOptions:
    """What json's C scanner reads from its decoder: json.loads's defaults."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__


_TOO_DEEP = "bad spec: lists or tables nested too deeply to read"


def _read_json(text: str):
    """``json.loads(text)`` through json's C scanner, without importing json (and with it
    re: 7-10 ms of the command's start); a document the scanner does not take whole goes
    to json.loads, which says where it is bad. (The scanner is json.loads's own: the same
    values, the same limits.)"""
    try:
        from _json import make_scanner
    except ImportError:
        make_scanner = None
    if make_scanner is not None:
        blank = " \t\n\r"  # json's whitespace
        start = len(text) - len(text.lstrip(blank))
        try:
            doc, end = make_scanner(_JsonOptions)(text, start)
        except (StopIteration, ValueError, SystemError):
            # json.loads raises the same, with a line and column. (The scanner raises most
            # errors as json.decoder.JSONDecodeError, which it looks up among the imported
            # modules only: without json imported it fails with SystemError instead.)
            pass
        except RecursionError:
            raise SpecError(_TOO_DEEP) from None
        else:
            if not text[end:].strip(blank):
                return doc
    import json

    try:
        return json.loads(text)
    except RecursionError:
        raise SpecError(_TOO_DEEP) from None
    except json.JSONDecodeError as e:
        raise SpecError(f"bad JSON at line {e.lineno} column {e.colno}: {e.msg}") from e


_ASCII_BLANK = " \t\n\r\x0b\x0c"  # what bytes.lstrip() takes off


def load_spec(path, abi: str | None = None, keep: list | None = None) -> Spec:
    """Read and check a spec file (.toml or .json; otherwise sniffed); ``abi`` overrides the spec's.

    ``keep``: a list the decoded document is appended to, for a caller that would rather not
    free it (a command whose process ends without freeing anything: cli.entrypoint)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            # decoded straight from the mapped file: no copy of a 10 MB spec in between
            data = map_file(f) or f.read()
            try:
                box = [_spec_text(data)]
            finally:
                del data
    except OSError as e:
        raise SpecError(f"cannot read spec: {e.strerror or e}") from e
    spec = _parse_text(box, os.path.splitext(path)[1].lower(), os.path.dirname(os.path.abspath(path)), abi, keep)
    spec.path = path
    return spec


def loads_spec(data, *, folder: str | None = None, abi: str | None = None, keep: list | None = None) -> Spec:
    """A spec from its bytes (UTF-8; JSON or TOML, told apart by the first character);
    ``folder``: where the files its objects name are (default: the current folder)."""
    return _parse_text([_spec_text(data)], "", os.path.abspath(folder or os.curdir), abi, keep)


def _spec_text(data) -> str:
    try:
        return str(data, "utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"spec is not UTF-8 text (byte {e.start})") from e


def _parse_text(box: list, kind: str, folder: str, abi, keep) -> Spec:
    """The spec in the text ``box`` holds (taken out of it, so that it is freed once decoded:
    an argument stays referenced by the caller until the call returns)."""
    text = box.pop()
    if kind not in (".toml", ".json"):
        # (a spec is a JSON object; TOML's table headers start with "[")
        kind = ".json" if text.lstrip(_ASCII_BLANK)[:1] == "{" else ".toml"
    if kind == ".json":
        doc = _read_json(text)
    else:
        import tomllib

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"bad TOML: {e}") from e
        except RecursionError:
            raise SpecError(_TOO_DEEP) from None
    del text  # (its memory is used again for the columns below: see cli.entrypoint)
    if keep is not None:
        keep.append(doc)
    return parse_spec(doc, folder=folder, abi=abi)


def parse_spec(doc, folder: str | None = None, abi: str | None = None) -> Spec:
    """Check the structure of a decoded spec document; file values are read relative to ``folder``.

    ``abi`` (a command-line choice) overrides the document's; types are checked for the abi in effect.
    """
    if not isinstance(doc, dict):
        raise SpecError("a spec is a table (TOML) or object (JSON) with an `object` list")
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r} in the spec (known: {', '.join(sorted(TOP_KEYS))})")
    spec = Spec()
    for a in (doc.get("abi"), abi):
        if a is not None and a not in abis.ABI_NAMES:
            raise SpecError(f"abi: {show_value(a)} is not one of {', '.join(abis.ABI_NAMES)}")
    abi = abi or doc.get("abi") or "assemblyscript"
    spec.abi = abi
    version = doc.get("as_version")
    if version is not None:
        if not isinstance(version, str):
            raise SpecError(f"as_version: {show_value(version)} must be a string such as \"0.28.20\"")
        try:
            abis.parse_version(version)
        except LayoutError as e:
            raise SpecError(f"as_version: {e}") from e
    spec.as_version = version
    base = doc.get("base")
    if base is not None and (type(base) is not int or not 0 <= base <= 0xFFFFFFFF):
        raise SpecError(f"base: {show_value(base)} is not an address (0..4294967295)")
    spec.base = base
    intern = doc.get("intern")
    if intern is not None and type(intern) is not bool:
        raise SpecError(f"intern: {show_value(intern)} is not true or false")
    spec.intern = intern
    ids = doc.get("ids", {})
    if not isinstance(ids, dict):
        raise SpecError("ids: expected a table of type name = runtime id, e.g. ids = {\"Array<i32>\" = 4}")
    for name, rid in ids.items():
        if type(rid) is not int or not 0 <= rid <= 0xFFFFFFFF:
            raise SpecError(f"ids: {show_value(rid)} for {name!r} is not a runtime id (0..4294967295)")
        try:
            _ref_type(name)
        except LayoutError as e:
            raise SpecError(f"ids: {e}") from e
    spec.ids = dict(ids)
    objects = doc.get("object", [])
    if not isinstance(objects, list):
        raise SpecError("object: expected a list of objects ([[object]] in TOML)")
    c_abi = abi == "c"
    columns = _plain_columns(objects, c_abi)
    if columns is not None:
        spec.types, spec.values, spec.names, spec.extras, distinct = columns
    else:
        _check_objects(objects, folder, c_abi, spec)
        distinct = len(set(spec.names))
    names = spec.names
    if distinct != len(names):  # duplicate names: find the first one
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in seen:
                raise SpecError(f"{_where(i, name)}: the name is already used by object {seen[name]}")
            seen[name] = i
    return spec


_NAME, _TYPE, _VALUE = (operator.itemgetter(k) for k in ("name", "type", "value"))


def _plain_columns(objects: list, c_abi: bool) -> tuple | None:
    """The columns (types, values, names, extras) of a spec whose objects are all exactly
    {name, type, value}, with non-empty string names, non-null values and known non-bytes
    types, checked in whole-list steps at C speed (a handful of passes over the list,
    no Python code per object), and the number of distinct names (their set is made
    here anyway); None if any object is unusual: then _check_objects checks each one
    and names the bad one."""
    try:
        if sum(map(len, objects)) != 3 * len(objects):  # (each has the three keys below: so exactly those)
            return None
        names = list(map(_NAME, objects))  # KeyError or TypeError: not {name, type, value}
        values = list(map(_VALUE, objects))
        if set(map(type, names)) - {str} or values.count(None):
            return None
        distinct = set(names)
        if "" in distinct:
            return None
        types = list(map(_PlainTypes(c_abi).__getitem__, map(_TYPE, objects)))
    except (KeyError, TypeError, LayoutError, _Unusual):
        return None
    return types, values, names, [None] * len(names), len(distinct)


class _Unusual(Exception):
    """An object _plain_columns leaves to _check_objects."""


class _PlainTypes(dict):
    """Type spelling -> parsed type, parsed at first sight (one C-level lookup per
    object after that); a bytes type is not plain (it may take hex or file)."""

    def __init__(self, c_abi: bool):
        super().__init__()
        self.parse = _c_type if c_abi else _ref_type

    def __missing__(self, spelling):  # (an unhashable spelling raised TypeError before this)
        t = self[spelling] = self.parse(spelling)
        if t.name in _BYTES_TYPES:
            raise _Unusual
        return t


def _check_objects(objects: list, folder, c_abi: bool, spec: Spec) -> None:
    """Append each object to ``spec``, every rule checked; SpecError names the first bad one."""
    known: dict = {}  # type spelling -> parsed type, for the fast path
    add_type, add_value, add_name, add_extra = (spec.types.append, spec.values.append, spec.names.append,
                                                spec.extras.append)
    for i, o in enumerate(objects):
        # Fast path for the usual {name, type, value} object (100,000 of them must take
        # well under a second); anything unusual gets every check in _parse_object.
        try:
            if len(o) == 3:
                name, value, t = o["name"], o["value"], known[o["type"]]
                if name.__class__ is str and name and value is not None and t.name not in _BYTES_TYPES:
                    add_type(t)
                    add_value(value)
                    add_name(name)
                    add_extra(None)
                    continue
        except (KeyError, TypeError):
            pass
        item = _parse_object(i, o, folder, c_abi)
        spec.append(item)
        known.setdefault(o["type"], item[0])


def _where(i: int, name=None) -> str:
    return f"object {i}" if name is None else f"object {i} {_quoted(name)}"


def _parse_object(i: int, o, folder, c_abi: bool) -> tuple:
    # Labels are built only on error: specs with 100,000 objects are normal.
    if o.__class__ is not dict:
        raise SpecError(f"{_where(i)}: expected a table with name, type and value, not {show_value(o)}")
    name = o.get("name")
    if name.__class__ is not str or not name:
        if name is None:
            raise SpecError(f"{_where(i)}: missing name")
        raise SpecError(f"{_where(i)}: name {show_value(name)} must be a non-empty string")
    if not o.keys() <= OBJECT_KEYS:
        unknown = sorted(set(o) - OBJECT_KEYS)
        raise SpecError(f"{_where(i, name)}: unknown key {unknown[0]!r} "
                        f"(known: {', '.join(sorted(OBJECT_KEYS))})")
    type_ = o.get("type")
    if type_ is None:
        raise SpecError(f"{_where(i, name)}: missing type")
    try:
        t = _c_type(type_) if c_abi else _ref_type(type_)
        tname = t.name
    except LayoutError as e:
        raise SpecError(f"{_where(i, name)}: {e}") from e
    except TypeError:  # unhashable (a list or table as the type)
        raise SpecError(f"{_where(i, name)}: type must be a string, not {show_value(type_)}") from None
    if "value" in o and "hex" not in o and "file" not in o:
        value = o["value"]
    else:
        value = _bytes_source(i, name, o, tname, folder)
    if value is None:
        raise SpecError(f"{_where(i, name)}: value is null; a static object needs a value")
    rid = o.get("id")
    if rid is not None:
        if c_abi:
            raise SpecError(f"{_where(i, name)}: id is for AssemblyScript objects; the c abi has no headers")
        if rid.__class__ is not int or not 0 <= rid <= 0xFFFFFFFF:
            raise SpecError(f"{_where(i, name)}: id {show_value(rid)} is not a runtime id (0..4294967295)")
    align = o.get("align")
    if align is not None and not c_abi:
        raise SpecError(f"{_where(i, name)}: align is for the c abi; AssemblyScript objects are always "
                        "16-aligned")
    return (t, value, name, align if c_abi else rid)


def _bytes_source(i, name, o, tname, folder):
    """The value of an object given by hex or file (or a missing/duplicated source)."""
    where = _where(i, name)
    sources = [k for k in ("value", "hex", "file") if k in o]
    is_bytes = tname in _BYTES_TYPES
    if not sources:
        raise SpecError(f"{where}: missing value" + (" (or hex or file)" if is_bytes else ""))
    if len(sources) > 1:
        raise SpecError(f"{where}: give only one of {', '.join(sources)}")
    source = sources[0]
    if not is_bytes:
        raise SpecError(f"{where}: {source} is only for ArrayBuffer and bytes objects; {tname} takes value")
    value = o[source]
    if source == "hex":
        if not isinstance(value, str):
            raise SpecError(f"{where}: hex: {show_value(value)} is not a string of hex digits")
        try:
            return bytes.fromhex(value)
        except ValueError as e:
            raise SpecError(f"{where}: hex: {show_value(value)} is not hexadecimal ({e})") from e
    if not isinstance(value, str):
        raise SpecError(f"{where}: file: {show_value(value)} is not a path")
    path = os.path.join(folder or ".", value)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise SpecError(f"{where}: file {value!r}: {e.strerror or e}") from e


@functools.lru_cache(maxsize=256)
def _c_type(text: str):
    return parse_ctype(text)


@functools.lru_cache(maxsize=256)
def _ref_type(text: str) -> Ref:
    t = parse_type(text)
    if not isinstance(t, Ref):
        raise LayoutError(f"{text!r} is a scalar, not an object type (string, ArrayBuffer, an array...)")
    return t


def _holds_array(t) -> bool:
    while t is not None and t.__class__ is Ref:
        if t.kind == "Array":
            return True
        t = t.elem
    return False


def _warn_static_arrays(spec: Spec, abi) -> None:
    """Say that the objects holding an Array cannot be grown in this asc version (Abi.grows_static_arrays)."""
    holding = {t for t in set(spec.types) if _holds_array(t)}
    if not holding:
        return
    at = [i for i, t in enumerate(spec.types) if t in holding]
    import warnings

    from ..errors import WasmWarning

    warnings.warn(f"asc {abi.version_text}'s runtime does not grow a static Array intact, asc's own literals "
                  f"included: push past its length aborts in tlsf.ts or drops the elements (a static "
                  f"block's header is not a heap block's before asc 0.17.9). "
                  f"{len(at)} object{'s' if len(at) > 1 else ''} here hold{'' if len(at) > 1 else 's'} one "
                  f"(first: {_quoted(spec.names[at[0]])}); copy it (slice()) before growing it", WasmWarning)


def build_layout(spec: Spec, *, as_version=None, base: int | None = None, rtti=None,
                 intern: bool | None = None, auto_ids: bool = False):
    """Lay out every object of ``spec``; command-line style overrides win over the spec's keys.

    Returns a StaticLayout or CLayout. Value problems become SpecError naming the
    object, the element and the value; other layout problems name the object too.
    """
    base = spec.base if base is None else base
    intern = spec.intern if intern is None else intern
    index = None
    try:
        if spec.abi == "c":
            from .c import CLayout

            layout = CLayout(base)
            for index, (t, value, name, align) in enumerate(zip(spec.types, spec.values, spec.names, spec.extras)):
                layout.add(t, value, name, align)
        else:
            from .assemblyscript import StaticLayout

            try:
                layout = StaticLayout(spec.abi, as_version or spec.as_version, base,
                                      True if intern is None else intern, rtti, spec.ids, auto_ids)
            except LayoutError as e:
                raise SpecError(str(e)) from e
            try:
                layout.add_columns(spec.types, spec.values, spec.names, spec.extras)
            except LayoutError as e:
                index = e.item_index
                raise
            if not layout.abi.grows_static_arrays:
                _warn_static_arrays(spec, layout.abi)
    except BadValue as e:
        where = f"value{e.where}: " if e.where else "value: "
        raise SpecError(f"{spec.object(index).label()}: {where}{e.message}") from e
    except LayoutError as e:
        if index is None or isinstance(e, SpecError):
            raise
        raise LayoutError(f"{spec.object(index).label()}: {e}") from e
    return layout

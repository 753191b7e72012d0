"""JSON text for the commands' output, made with json's C encoder and without the json
package: ``import json`` imports ``re`` (and with it enum, functools and collections),
5-10 ms of every command's start for output a few lines of this file can write."""

from __future__ import annotations

from itertools import chain
from operator import itemgetter

try:
    from _json import encode_basestring as _quote, make_encoder as _make_encoder
except ImportError:  # (an interpreter without json's C accelerator)
    _quote = _make_encoder = None


def _refuse(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def compact_encoder(default=None):
    """A function giving one value's compact JSON, what ``json.JSONEncoder(ensure_ascii=False,
    default=default).encode`` gives, from json's C encoder made once (``encode`` makes it anew
    for every call: half the time of 110,000 rows)."""
    if _make_encoder is None:
        import json

        return json.JSONEncoder(ensure_ascii=False, default=default).encode
    chunks = _make_encoder(None, default or _refuse, _quote, None, ": ", ", ", False, False, True)
    return lambda value: "".join(chunks(value, 0))


def string_encoder():
    """A function giving a str's JSON (``json.dumps(s, ensure_ascii=False)``)."""
    if _quote is None:
        import json

        return json.JSONEncoder(ensure_ascii=False).encode
    return _quote


def indented(value, compact, margin: str = "\n") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, nested containers here and
    scalars through ``compact`` (a ``compact_encoder()``); ``margin`` is the newline
    and indentation of the lines holding ``value``'s own items less two spaces."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = margin + "  "
        items = [_key(k, compact) + ": " + indented(v, compact, inner) for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + margin + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = margin + "  "
        return "[" + inner + ("," + inner).join([indented(v, compact, inner) for v in value]) + margin + "]"
    return compact(value)


def _key(key, compact) -> str:
    """A key as json writes it: a number, bool or null key becomes the string of its JSON."""
    return compact(key if isinstance(key, str) else compact(key))


def json_text(doc: dict, rows=()) -> str:
    """``doc`` as JSON indented by 2, except that the lists under the top-level keys in
    ``rows`` come one compact item per line: json's indenting encoder is pure Python
    (98,450 data segments took it seconds), its compact one is C, and a list of records
    reads best a record a line anyway."""
    compact = compact_encoder()
    if not doc:
        return "{}"
    parts = []
    for key, value in doc.items():
        if key in rows and isinstance(value, Records):
            body = _column_lines(value.keys, value.columns, compact) if len(value) else "[]"
        elif key in rows and isinstance(value, list):
            body = (_record_lines(value, compact) or _ROWS % ",\n    ".join(map(compact, value))) if value else "[]"
        else:
            body = indented(value, compact, "\n  ")
        parts.append(f"  {_key(key, compact)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}"


class Records:
    """A list of records held as columns: ``keys``, and ``columns`` (a list of values per
    key, all of one length). ``json_text`` writes them a line per record without making
    a dict of each (a layout's 110,000 objects); ``dicts()`` gives the list itself."""

    __slots__ = ("keys", "columns")

    def __init__(self, keys, columns):
        self.keys, self.columns = tuple(keys), list(columns)

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def dicts(self) -> list[dict]:
        keys = self.keys
        return [dict(zip(keys, row)) for row in zip(*self.columns)]


def as_records(doc: dict, keys) -> dict:
    """``doc`` with each (keys, columns) pair under ``keys`` (the library's ``columns=True``
    reports) made Records, for ``json_text``; keys it lacks are left out."""
    for key in keys:
        if key in doc:
            doc[key] = Records(*doc[key])
    return doc


_ROWS = "[\n    %s\n  ]"  # a list of rows, a row per line (the record separator is ",\n    ")


def _record_lines(records: list, compact) -> str | None:
    """``_column_lines`` of the records, when all are dicts with the same str keys in the
    same order. None for other lists."""
    if not records or _DICT != set(map(type, records)):
        return None
    keys = tuple(records[0])
    if not keys or {keys} != set(map(tuple, records)) or not set(map(type, keys)) <= _STR:
        return None
    return _column_lines(keys, [list(map(itemgetter(key), records)) for key in keys], compact)


def _column_lines(keys, columns: list, compact) -> str:
    """The JSON list of the records with these keys and columns, one compact record per
    line, as ``compact`` gives each: each column made JSON in a whole-list step (quoted
    strings, ints as they are, anything else through ``compact``), then one %-format of
    the whole list (layout's 110,000 object records: 0.2 s as dicts one by one, 0.05 s so)."""
    texts = []
    for column in columns:
        kinds = set(map(type, column))
        texts.append(column if kinds == _INT else list(map(_quote, column)) if kinds == _STR and _quote
                     else list(map(compact, column)))
    line = "{" + ", ".join(_quote_key(k) + ": %s" for k in keys) + "}"
    return _ROWS % (",\n    ".join([line] * len(columns[0])) % tuple(chain.from_iterable(zip(*texts))))


_DICT, _STR, _INT = {dict}, {str}, {int}


def _quote_key(key: str) -> str:
    """A key's JSON, its % doubled for a %-format."""
    return (_quote(key) if _quote else compact_encoder()(key)).replace("%", "%%")

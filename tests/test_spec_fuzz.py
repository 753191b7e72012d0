"""Arbitrary spec documents: a layout or the project's own error, never another exception.

The documents are JSON values biased toward the spec's own keys, type names and
value shapes, so that most of them get past the first checks and into the
layout builders (both abis), where a bad element must still be a SpecError.
"""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmem.errors import WasmError, WasmWarning
from wasmem.layout.spec import build_layout, parse_spec

TYPES = ["string", "ArrayBuffer", "Array<i32>", "Array<u8>", "Array<string>", "Array<string|null>",
         "StaticArray<f64>", "StaticArray<string>", "Int32Array", "Float32Array", "Uint8ClampedArray",
         "Array<Array<i32>>", "Array<Array<string>|null>", "Array<bool>", "Array<i64>", "StaticArray<u64>",
         "cstring", "bytes", "i32[]", "u8[]", "f64[]", "i32", "Array<", "Map<i32,i32>", ""]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                    st.text(max_size=6), st.sampled_from(["\ud800", "00ff", "zz", "payload.bin"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5), max_leaves=12)
OBJECT_KEYS = ["name", "type", "value", "hex", "file", "id", "align", "extra"]


def _good_value(t: str):
    """A value that fits type ``t`` (or nearly: out-of-range numbers now and then)."""
    ints = st.integers(-300, 300)
    text = st.text(max_size=5)
    if t in ("string", "cstring"):
        return text
    if t in ("ArrayBuffer", "bytes"):
        return st.lists(st.integers(0, 255), max_size=6)
    if "string" in t and "Array<Array" not in t:
        return st.lists(st.one_of(text, st.none()), max_size=4)
    if t.startswith("Array<Array"):
        return st.lists(st.one_of(st.lists(st.one_of(ints, text), max_size=3), st.none()), max_size=3)
    if "f64" in t or "Float" in t:
        return st.lists(st.one_of(st.floats(), ints), max_size=5)
    if "bool" in t:
        return st.lists(st.booleans(), max_size=5)
    return st.lists(st.one_of(ints, ints, ints, st.integers(-2**65, 2**65)), max_size=5)


@st.composite
def objects(draw, index, noisy):
    """An object of a random type with a fitting value; with ``noisy``, any part may be wrong."""
    odd = (lambda: draw(st.integers(0, 8)) == 0) if noisy else (lambda: False)
    t = draw(st.sampled_from(TYPES))
    obj = {"name": draw(st.one_of(st.text(max_size=3), SCALARS)) if odd() else f"o{index}",
           "type": draw(SCALARS) if odd() else t,
           "value": draw(VALUES) if odd() else draw(_good_value(t))}
    if t in ("ArrayBuffer", "bytes") and draw(st.integers(0, 3)) == 0:
        del obj["value"]
        obj[draw(st.sampled_from(["hex", "file"]))] = draw(st.sampled_from(["00ff", "0", "zz", "payload.bin"]))
    if noisy:
        for k in draw(st.lists(st.sampled_from(["id", "align", "extra", "hex"]), max_size=2, unique=True)):
            obj[k] = draw(st.one_of(st.integers(-1, 2**33), SCALARS))
        if odd():
            obj.pop(draw(st.sampled_from(["name", "type", "value"])), None)
        if odd():
            return draw(SCALARS)
    elif t not in ("cstring", "bytes") and draw(st.integers(0, 4)) == 0:
        obj["id"] = draw(st.integers(0, 40))
    return obj


@st.composite
def documents(draw):
    noisy = draw(st.integers(0, 3)) == 0
    n = draw(st.integers(0, 6))
    doc = {"object": [draw(objects(i, noisy)) for i in range(n)]}
    c_types = ("cstring", "bytes", "i32[]", "u8[]", "f64[]")
    if doc["object"] and all(isinstance(o, dict) and o.get("type") in c_types for o in doc["object"]):
        doc["abi"] = "c"
        for o in doc["object"]:
            o.pop("id", None)
    if not noisy:
        if doc.get("abi") != "c" and draw(st.booleans()):
            doc["as_version"] = draw(st.sampled_from(["0.28.20", "0.17", "0.17.1", "0.9.4", "0.16.1"]))
        if draw(st.booleans()):
            doc["base"] = draw(st.integers(0, 2**32 - 1))
        return doc
    for key, values in (("abi", st.sampled_from(["assemblyscript", "assemblyscript-legacy", "c", "x", 3])),
                        ("as_version", st.sampled_from(["0.28.20", "0.17", "0.9.4", "1.0", "x", 17])),
                        ("base", st.one_of(st.integers(-1, 2**32 + 5), SCALARS)),
                        ("intern", SCALARS),
                        ("ids", st.dictionaries(st.sampled_from(TYPES), st.one_of(st.integers(-1, 40), SCALARS),
                                                max_size=2)),
                        ("junk", SCALARS)):
        if draw(st.integers(0, 5)) == 0:
            doc[key] = draw(values)
    return doc if draw(st.integers(0, 20)) else draw(VALUES)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.booleans())
def test_any_document_lays_out_or_raises_a_wasm_error(doc, auto_ids):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WasmWarning)  # "1.0" is newer than any verified asc: expected
        try:
            spec = parse_spec(doc)
            layout = build_layout(spec, auto_ids=auto_ids)
            layout.image()
            layout.report()
        except WasmError:
            pass

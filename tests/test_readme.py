"""The README's examples run as written."""

from __future__ import annotations

import os
import re

from conftest import FIXTURES, REPO
from wasmem.cli import main

README = (REPO / "README.md").read_text()


def test_python_example_runs(tmp_path, capsys):
    (block,) = re.findall(r"```python\n(.*?)```", README, re.S)
    code = block.replace('"fixtures/', f'"{FIXTURES}/')
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    # the layout example prints asc's own bytes for "hello" (assemblyscript-static-data.md 5)
    assert "12 1c0000000000000000000000020000000a000000680065006c006c006f000000" in out
    assert (tmp_path / "out.wasm").is_file()


def test_quick_start_output_is_ascs(tmp_path, capsys):
    assert "wasmem import-memory fixtures/import-memory/0.28.20-strings/plain.wasm -o strings-imported.wasm" in README
    out = tmp_path / "strings-imported.wasm"
    case = FIXTURES / "import-memory" / "0.28.20-strings"
    assert main(["import-memory", str(case / "plain.wasm"), "-o", str(out)]) == 0
    assert out.read_bytes() == (case / "expected.wasm").read_bytes()
    assert main(["info", str(out)]) == 0
    assert main(["validate", str(out)]) == 0

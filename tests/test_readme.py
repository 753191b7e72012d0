"""The README's examples run as written."""

from __future__ import annotations

import os
import re
import textwrap

from conftest import FIXTURES, REPO
from wasmem.cli import main

README = (REPO / "README.md").read_text()


def python_examples() -> list[str]:
    return [textwrap.dedent(block).replace('"fixtures/', f'"{FIXTURES}/')
            for block in re.findall(r"```python\n(.*?)```", README, re.S)]


def test_python_example_runs(tmp_path, capsys):
    code = python_examples()[0]
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


def test_testing_example_checks_the_cli_cases():
    examples = python_examples()
    assert len(examples) == 2
    namespace: dict = {}
    exec(compile(examples[1], "README.md", "exec"), namespace)
    test = namespace["test_cli"]
    (mark,) = test.pytestmark
    folders = mark.args[1]
    assert [p.name for p in folders] == sorted(p.parent.name for p in (FIXTURES / "cli").glob("*/cmd"))
    for case in folders:
        test(case)


def test_quick_start_output_is_ascs(tmp_path, capsys):
    assert "wasmem import-memory fixtures/import-memory/0.28.20-strings/plain.wasm -o strings-imported.wasm" in README
    out = tmp_path / "strings-imported.wasm"
    case = FIXTURES / "import-memory" / "0.28.20-strings"
    assert main(["import-memory", str(case / "plain.wasm"), "-o", str(out)]) == 0
    assert out.read_bytes() == (case / "expected.wasm").read_bytes()
    assert main(["info", str(out)]) == 0
    assert main(["validate", str(out)]) == 0

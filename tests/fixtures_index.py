"""Where the golden fixtures live, for parametrized tests.

Each case is a folder (fixtures/info/<case>/, fixtures/import-memory/<case>/), so a new
case is a new folder and needs no code; fixtures/wat/ holds <case>.wat files with the
.wasm and .info.json that tools/gen-fixtures.py derives from them.
"""
from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def cases(kind: str) -> list[Path]:
    """The case folders under fixtures/<kind>/, sorted by name."""
    return sorted(p for p in (FIXTURES / kind).iterdir() if p.is_dir())


def modules() -> list[Path]:
    """Every fixture module (*.wasm), sorted; fixtures/cli/ left out (its cases hold copies
    of these and deliberately malformed inputs)."""
    return sorted(p for p in FIXTURES.rglob("*.wasm") if p.relative_to(FIXTURES).parts[0] != "cli")


def wat_cases() -> list[Path]:
    """The text fixtures fixtures/wat/*.wat, sorted by name."""
    return sorted((FIXTURES / "wat").glob("*.wat"))

"""The command lines under fixtures/cli/, each case folder's output against its snapshots
(wasmem.testing; WASMEM_BLESS=1 rewrites them from the run, for review)."""

from __future__ import annotations

import pytest

from fixtures_index import FIXTURES
from wasmem.testing import cases, check_case


@pytest.mark.parametrize("case", cases(FIXTURES / "cli"), ids=lambda p: p.name)
def test_cli_case(case):
    check_case(case)

"""One Checkov run over every policy fixture, shared by the whole policies suite (~5-10 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.gate.checkov_runner import run_checkov
from infra.gate.model import GateReport
from infra.gate.scan_copy import ScanTarget

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_targets() -> list[ScanTarget]:
    """``<Check>/pass.tf.json`` and ``<Check>/fail.tf.json`` as stacks named ``<Check>-pass|fail``."""
    return [
        ScanTarget(name=f"{folder.name}-{kind}", file=folder / f"{kind}.tf.json")
        for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir())
        for kind in ("pass", "fail")
    ]


@pytest.fixture(scope="session")
def fixture_report() -> GateReport:
    return run_checkov(fixture_targets(), custom_only=True)

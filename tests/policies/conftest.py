"""One Checkov run over every policy fixture, shared by the whole policies suite (~5-10 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.gate.checkov_runner import run_checkov
from infra.gate.model import GateReport
from infra.gate.scan_copy import KUBERNETES, ScanTarget

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_targets() -> list[ScanTarget]:
    """``<Check>/pass|fail.tf.json`` (Terraform JSON) or ``<Check>/pass|fail.yaml`` (Kubernetes objects), as
    stacks named ``<Check>-pass|fail``."""
    targets = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for kind in ("pass", "fail"):
            manifest = folder / f"{kind}.yaml"
            if manifest.is_file():
                targets.append(ScanTarget(name=f"{folder.name}-{kind}", file=manifest, framework=KUBERNETES))
            else:
                targets.append(ScanTarget(name=f"{folder.name}-{kind}", file=folder / f"{kind}.tf.json"))
    return targets


@pytest.fixture(scope="session")
def fixture_report() -> GateReport:
    return run_checkov(fixture_targets(), custom_only=True)

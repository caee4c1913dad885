"""Snapshots of the SMB stacks, so every infrastructure change shows up as a reviewable JSON diff in
the pull request that makes it (GitOps).

When a change is intended, refresh them with ``SAHAB_UPDATE_SNAPSHOTS=1 .venv/bin/pytest
tests/stacks/test_snapshots.py`` and commit the diff beside the code that caused it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
ENVIRONMENT = "smb"
LAYERS = ("security", "network", "compute", "data", "workloads")


def canonical(path: Path) -> str:
    """The synthesised document with cdktf's construct-path metadata removed (it is not infrastructure)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "//"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(json.loads(path.read_text())), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("layer", LAYERS)
def test_the_smb_stack_matches_its_reviewed_snapshot(synthesized_all, layer):
    (stack,) = [s for s in synthesized_all.stacks if s.name == f"{ENVIRONMENT}-{layer}"]
    snapshot = SNAPSHOTS / f"{stack.name}.json"
    current = canonical(stack.path)
    if os.environ.get("SAHAB_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(current)
    assert snapshot.is_file(), f"no snapshot {snapshot}: run with SAHAB_UPDATE_SNAPSHOTS=1 and commit it"
    assert current == snapshot.read_text(), (
        f"{stack.name} changed: review the diff, then refresh with SAHAB_UPDATE_SNAPSHOTS=1 and commit {snapshot}"
    )

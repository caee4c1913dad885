"""The gate's Checkov workers: started before synthesis, the targets split by environment, the same verdicts as one
run, and never left running when synthesis fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments import load_environments
from environments.errors import GateFailed
from infra.gate import check as gate_check
from infra.gate.checkov_runner import run_checkov, scan_groups, start_workers
from infra.gate.scan_copy import KUBERNETES, ScanTarget


def targets_of(result, envs: tuple[str, ...]) -> list[ScanTarget]:
    return [ScanTarget(s.name, s.path) for s in result.stacks if s.env in envs] + [
        ScanTarget(m.name, m.path, framework=KUBERNETES) for m in result.manifests if m.name.rsplit("-", 1)[0] in envs]


def verdicts(report) -> set[tuple[str, str, str, str]]:
    return {(o.stack, o.check_id, o.address, o.result) for o in report.outcomes}


def test_an_environment_is_never_split_and_every_target_is_scanned_once(synthesized_all) -> None:
    targets = targets_of(synthesized_all, ("smb", "dev", "staging", "prod"))
    groups = scan_groups(targets, 2)
    assert len(groups) == 2 and sorted(t.name for g in groups for t in g) == sorted(t.name for t in targets)
    environments = [{t.name.rsplit("-", 1)[0] for t in group} for group in groups]
    assert not environments[0] & environments[1]
    assert "prod" in environments[0] or "prod" in environments[1]
    assert scan_groups(targets, 8) and len(scan_groups(targets, 8)) == 4  # never more groups than environments


def test_two_workers_give_exactly_the_verdicts_of_one(synthesized_all) -> None:
    targets = targets_of(synthesized_all, ("smb", "prod"))
    one = run_checkov(targets, workers=start_workers(["me-central-1"], 1))
    two = run_checkov(targets, workers=start_workers(["me-central-1"], 2))
    assert verdicts(one) == verdicts(two) and len(verdicts(one)) > 1000
    assert [s.name for s in one.stacks] == [s.name for s in two.stacks] == [t.name for t in targets]


def test_workers_started_before_a_failed_synthesis_are_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started = []

    def recording_start(*args, **kwargs):
        started.extend(start_workers(*args, **kwargs))
        return started

    def failing_synth(envs, outdir):
        raise GateFailed("synthesis refused, nothing was written: a resource outside the UAE")

    monkeypatch.setattr(gate_check, "start_workers", recording_start)
    monkeypatch.setattr("infra.synth.synth", failing_synth)
    with pytest.raises(GateFailed, match="synthesis refused"):
        gate_check.check_environments([e for e in load_environments() if e.name == "smb"], outdir=tmp_path)
    assert started and all(worker.process.poll() is not None for worker in started)

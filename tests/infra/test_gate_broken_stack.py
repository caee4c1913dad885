"""A stack broken on purpose: the gate fails it with the right ids, and deploy applies nothing.

The ``smb`` environment is built with the real constructs, then broken the ways a user could:
a raw ``S3Bucket`` beside the secure constructs (no CMK encryption, no TLS-only policy), a cdktf
escape hatch (``add_override``) that turns the data bucket's encryption to SSE-S3, and a provider in
a foreign region: refused at synthesis by the residency Aspect, and, written into the JSON after
synthesis (as an edit would), failed by the gate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from environments import load_environment
from infra.deploy import deploy
from environments.errors import GateFailed
from infra.gate.check import GateRun, check_targets
from infra.gate.scan_copy import ScanTarget

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stack:
    name: str
    layer: str
    path: Path


def build_smb(outdir: Path, *, foreign_provider: bool = False) -> list[Stack]:
    """Synthesise ``smb`` with an unencrypted raw bucket and an encryption override in its data stack."""
    from modules.cdk import App, provider, s3_bucket
    from stacks.environment import build_environment

    env = load_environment("smb")
    app = App(outdir=str(outdir))
    stacks = build_environment(app, env)
    assert stacks is not None
    s3_bucket.S3Bucket(stacks.data, "EscapeHatchBucket", bucket="sahab-smb-escape-hatch")
    encryption = stacks.data.buckets["data"].node.find_child("Encryption")
    encryption.add_override("rule.0.apply_server_side_encryption_by_default.sse_algorithm", "AES256")
    if foreign_provider:
        provider.AwsProvider(stacks.network, "Frankfurt", alias="frankfurt", region="eu-central-1")
    app.synth()
    return [Stack(s.node.id, s.layer, outdir / "stacks" / s.node.id / "cdk.tf.json") for s in stacks.in_deploy_order()]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Stack], Path]:
    outdir = tmp_path_factory.mktemp("broken")
    stacks = build_smb(outdir)
    network = next(s for s in stacks if s.layer == "network")
    document = json.loads(network.path.read_text())  # an edit after synthesis, past the Aspect
    document["provider"]["aws"].append({"alias": "frankfurt", "region": "eu-central-1"})
    network.path.write_text(json.dumps(document, indent=2))
    return stacks, outdir


@pytest.fixture(scope="module")
def broken_gate(broken: tuple[list[Stack], Path], tmp_path_factory: pytest.TempPathFactory) -> GateRun:
    stacks, _ = broken
    return check_targets([ScanTarget(s.name, s.path) for s in stacks], reports_dir=tmp_path_factory.mktemp("reports"))


def failed(run: GateRun) -> set[tuple[str, str, str]]:
    return {(o.stack, o.check_id, o.address) for o in run.report.failures}


def overridden_encryption(stacks: list[Stack]) -> str:
    data = next(s for s in stacks if s.layer == "data")
    configs = json.loads(data.path.read_text())["resource"]["aws_s3_bucket_server_side_encryption_configuration"]
    name = next(n for n, c in configs.items() if c["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256")
    return f"aws_s3_bucket_server_side_encryption_configuration.{name}"


def test_the_residency_aspect_refuses_to_synthesise_a_foreign_region_provider(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="eu-central-1"):
        build_smb(tmp_path, foreign_provider=True)
    assert not (tmp_path / "stacks" / "smb-network" / "cdk.tf.json").exists()


def test_the_gate_fails_the_raw_bucket_for_missing_encryption_and_tls_policy(broken_gate: GateRun) -> None:
    assert {("smb-data", "CKV_SAHAB_9", "aws_s3_bucket.EscapeHatchBucket"),
            ("smb-data", "CKV_SAHAB_23", "aws_s3_bucket.EscapeHatchBucket")} <= failed(broken_gate)


def test_the_gate_fails_the_encryption_override_for_leaving_our_key(
    broken_gate: GateRun, broken: tuple[list[Stack], Path]
) -> None:
    assert ("smb-data", "CKV_SAHAB_8", overridden_encryption(broken[0])) in failed(broken_gate)


def test_the_gate_fails_a_foreign_provider_written_after_synthesis(broken_gate: GateRun) -> None:
    assert ("smb-network", "CKV_SAHAB_1", "provider.aws.frankfurt") in failed(broken_gate)


def test_the_untouched_layers_stay_clean(broken_gate: GateRun) -> None:
    assert {o.stack for o in broken_gate.report.failures} == {"smb-data", "smb-network"}


def test_sahab_check_exits_1_and_its_sarif_names_the_failed_checks(broken: tuple[list[Stack], Path], tmp_path: Path) -> None:
    _, outdir = broken
    completed = subprocess.run(
        [sys.executable, "-m", "infra.cli.main", "check", "--from", str(outdir), "--reports", str(tmp_path)],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, "COLUMNS": "200"}, timeout=300,
    )
    assert completed.returncode == 1, completed.stderr
    assert "CKV_SAHAB_9" in completed.stdout and "failed checks in ['smb-data', 'smb-network']" in completed.stderr
    results = json.loads((tmp_path / "policy-gate.sarif").read_text())["runs"][0]["results"]
    assert {"CKV_SAHAB_1", "CKV_SAHAB_8", "CKV_SAHAB_9", "CKV_SAHAB_23"} <= {r["ruleId"] for r in results}


def test_deploy_stops_at_the_gate_before_any_terraform_command(broken: tuple[list[Stack], Path], tmp_path: Path) -> None:
    stacks, _ = broken
    issued: list[tuple[str, ...]] = []
    with pytest.raises(GateFailed, match="CKV_SAHAB_9"):
        deploy(
            load_environment("smb"),
            synthesize=lambda env, outdir: stacks,
            runner=lambda argv: issued.append(tuple(argv)),
            credentials=lambda: "test",
            reports_dir=tmp_path,
        )
    assert issued == []

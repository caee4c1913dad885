"""The gate reads IAM statement by statement: a role policy that grants data-plane actions on Resource "*"
fails it, naming the resource, whether written as JSON (an escape hatch) or as a policy document; the
shipped grants, rendered as aws_iam_policy_document, pass Checkov's statement-level IAM checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from environments import load_environment
from environments.errors import GateFailed
from infra.gate.check import check_targets, require_clean
from infra.gate.scan_copy import ScanTarget


@pytest.fixture(scope="module")
def broken_workloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """smb's workloads stack plus two over-broad policies a hurried edit could add."""
    from modules.cdk import App, iam_role_policy
    from modules.grants import role_policy
    from modules.iam import Statement
    from stacks.environment import build_environment

    outdir = tmp_path_factory.mktemp("iam")
    app = App(outdir=str(outdir))
    stacks = build_environment(app, load_environment("smb"))
    assert stacks is not None
    scoring = stacks.workloads.roles["scoring"]
    iam_role_policy.IamRolePolicy(stacks.workloads, "EscapeHatchPolicy", role=scoring.id, policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt", "iam:PassRole"],
                       "Resource": "*"}]}))
    role_policy(stacks.workloads, "BroadGrant", scoring, [Statement(sid="AnySecret", actions=("secretsmanager:GetSecretValue",))])
    app.synth()
    return outdir / "stacks" / "smb-workloads" / "cdk.tf.json"


def test_a_role_policy_granting_data_plane_actions_on_any_resource_fails_the_gate_naming_it(broken_workloads, tmp_path) -> None:
    run = check_targets([ScanTarget(name="smb-workloads", file=broken_workloads)], reports_dir=tmp_path)
    failed = {(o.check_id, o.address): o.details for o in run.report.failures}
    assert failed[("CKV_SAHAB_39", "aws_iam_role_policy.EscapeHatchPolicy")] == (
        "'policy' statement 'Everything' allows ['iam:PassRole', 'kms:Decrypt', 's3:GetObject'] on Resource \"*\": "
        "name the buckets, keys, secrets, roles or topics it may use",)
    assert ("CKV_SAHAB_40", "data.aws_iam_policy_document.BroadGrantDocument") in failed
    with pytest.raises(GateFailed, match=r"CKV_SAHAB_39 aws_iam_role_policy\.EscapeHatchPolicy"):
        require_clean(run)


def test_the_shipped_grants_are_read_statement_by_statement_and_pass(synthesized_all, tmp_path) -> None:
    (stack,) = [s for s in synthesized_all.stacks if s.name == "smb-workloads"]
    run = check_targets([ScanTarget(name=stack.name, file=stack.path)], reports_dir=tmp_path)
    require_clean(run)
    documents = {o.address for o in run.report.outcomes if o.address.startswith("data.aws_iam_policy_document.")}
    on_documents = {o.check_id for o in run.report.outcomes if o.address in documents}
    assert {"CKV_SAHAB_40", "CKV_AWS_108", "CKV_AWS_111", "CKV_AWS_356"} <= on_documents  # Checkov reads them too
    assert len(documents) >= 16

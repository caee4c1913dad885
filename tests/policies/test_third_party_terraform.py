"""Every CKV_SAHAB check over other people's Terraform (HCL shaped like public EKS, VPC, KMS and S3 modules):
a verdict or a reasoned unknown for each resource, never an exception. A user who points the gate's checks at
their own modules must get findings, not a crash that Checkov logs and then leaves out of its report."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from infra.gate.checkov_runner import find_checkov, policy_checks_dir

THIRD_PARTY = Path(__file__).parent / "third_party"


@pytest.fixture(scope="module")
def scan() -> tuple[subprocess.CompletedProcess[str], dict]:
    tool = find_checkov()
    completed = subprocess.run(
        [str(tool.executable), "--framework", "terraform", "--skip-download", "--compact", "-d", str(THIRD_PARTY),
         "--external-checks-dir", str(policy_checks_dir()), "--check", "CKV_SAHAB_*", "-o", "json"],
        capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING"},
    )
    return completed, json.loads(completed.stdout)


def test_no_check_raises_on_third_party_terraform(scan) -> None:
    completed, _ = scan
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    assert not re.search(r"\[ERROR\]|Traceback", completed.stderr), completed.stderr[-3000:]


def test_a_list_nested_in_a_list_and_a_map_among_actions_still_get_verdicts(scan) -> None:
    _, report = scan
    results = {(r["check_id"], r["resource"]): outcome
               for outcome in ("passed_checks", "failed_checks") for r in report["results"][outcome]}
    assert results[("CKV_SAHAB_30", "aws_eks_cluster.nested")] == "failed_checks"  # lacks controllerManager, scheduler
    assert results[("CKV_SAHAB_22", "aws_s3_bucket_policy.this")] == "passed_checks"  # denies s3:* without TLS
    # endpoint_public_access = var.public cannot be proven private, and the variable's default CIDR is the internet
    assert results[("CKV_SAHAB_29", "aws_eks_cluster.this")] == "failed_checks"
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] + report["summary"]["failed"] >= 30

"""Every policy over the stacks we ship: all environments synthesised, zero failed checks.

Uses the session's ``synthesized_all`` (every environment synthesised once, see tests/conftest.py)
and the same ``check_targets`` that ``sahab check`` and ``sahab deploy`` call, skips included.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from sarif_schema import assert_valid_sarif

from environments import available_environments, load_environment
from infra.gate.check import GateRun, check_targets
from infra.gate.scan_copy import ScanTarget

#: Our checks whose resources the shipped stacks contain; each must have passed somewhere. The rest
#: (replication, standalone EBS, SNS, SQS, ECR, load balancers) guard resources not shipped yet.
EXERCISED_BY_SHIPPED_STACKS = {
    f"CKV_SAHAB_{n}"
    for n in (1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 20, 21, 22, 23, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
              46, 47, 48)
}


@pytest.fixture(scope="session")
def shipped_gate(synthesized_all, tmp_path_factory: pytest.TempPathFactory) -> GateRun:
    targets = [ScanTarget(name=s.name, file=s.path) for s in synthesized_all.stacks]
    return check_targets(targets, reports_dir=tmp_path_factory.mktemp("reports"))


def test_every_cloud_environment_is_checked(shipped_gate: GateRun) -> None:
    cloud = {name for name in available_environments() if load_environment(name).is_cloud}
    assert {s.name.split("-")[0] for s in shipped_gate.report.stacks} == cloud


def test_the_shipped_stacks_fail_no_check(shipped_gate: GateRun) -> None:
    failures = [f"{o.stack} {o.check_id} {o.address}: {o.details or o.check_name}" for o in shipped_gate.report.failures]
    assert failures == []


def test_our_checks_ran_on_the_shipped_stacks(shipped_gate: GateRun) -> None:
    passed = {o.check_id for o in shipped_gate.report.outcomes if o.result == "PASSED"}
    assert EXERCISED_BY_SHIPPED_STACKS <= passed


def test_the_shipped_sarif_is_valid_with_no_results_and_a_rule_for_every_check_run(shipped_gate: GateRun) -> None:
    document = json.loads(shipped_gate.sarif.read_text())
    assert_valid_sarif(document)
    run = document["runs"][0]
    assert run["results"] == []
    enabled = {r["id"] for r in run["tool"]["driver"]["rules"] if r["defaultConfiguration"].get("enabled", True)}
    assert {o.check_id for o in shipped_gate.report.outcomes} <= enabled


def test_the_shipped_junit_counts_every_outcome_and_every_skip(shipped_gate: GateRun) -> None:
    root = ET.parse(shipped_gate.junit).getroot()
    report = shipped_gate.report
    assert int(root.get("tests", "0")) == len(report.outcomes) + len(report.skips)
    assert root.get("failures") == "0" and int(root.get("skipped", "0")) == len(report.skips) > 0

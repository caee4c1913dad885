"""The account-level region guard's policy, from the allow-list and the reviewed table of global services: exactly
those, checked against the gate's own copy of the table, and linted by parliament (an IAM policy linter, run from its
own tool environment because it needs a setuptools older than .venv's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from environments import UAE_RESIDENT_REGIONS, load_environment
from environments.region_guard import (
    GLOBAL_EXEMPTIONS, REGION_CONDITION_KEY, exempted_actions, region_guard_json, region_guard_policy,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARLIAMENT = PROJECT_ROOT / ".tools" / "parliament" / "bin" / "python"
LINT = """
import json, sys
from parliament import analyze_policy_string
policy = analyze_policy_string(sys.stdin.read())
print(json.dumps([{"issue": f.issue, "detail": str(f.detail)} for f in policy.findings]))
"""


def parliament_findings(policy: str) -> list[dict[str, str]]:
    assert PARLIAMENT.is_file(), "make setup builds .tools/parliament (tools/parliament-requirements.txt)"
    completed = subprocess.run([str(PARLIAMENT), "-W", "ignore", "-c", LINT], input=policy, capture_output=True,
                               text=True, timeout=120, check=True)
    return json.loads(completed.stdout)


def test_the_deny_statement_covers_every_region_but_the_allow_list_and_exempts_exactly_the_table() -> None:
    (statement,) = region_guard_policy(UAE_RESIDENT_REGIONS["aws"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Resource"] == "*" and "Action" not in statement
    assert statement["Condition"] == {"StringNotEquals": {REGION_CONDITION_KEY: ["me-central-1"]}}
    assert statement["NotAction"] == sorted(a for e in GLOBAL_EXEMPTIONS for a in e.actions)


def test_every_exemption_says_why_and_where_that_comes_from_and_none_is_listed_twice() -> None:
    assert all(e.reason and e.source and e.actions for e in GLOBAL_EXEMPTIONS)
    assert len(exempted_actions()) == len(set(exempted_actions()))


def test_the_gates_copy_of_the_table_is_the_table() -> None:
    sys.path.insert(0, str(PROJECT_ROOT / "policies" / "checks"))
    try:
        import sahab_policy
    finally:
        sys.path.pop(0)
    assert sahab_policy.REGION_GUARD_EXEMPTIONS == set(exempted_actions())


def test_the_policy_fits_the_size_organizations_accepts() -> None:
    assert len(region_guard_json(UAE_RESIDENT_REGIONS["aws"])) <= 5120


def test_parliament_finds_nothing_wrong_in_the_policy() -> None:
    assert parliament_findings(region_guard_json(UAE_RESIDENT_REGIONS["aws"])) == []


def test_parliament_does_find_a_broken_policy() -> None:
    broken = region_guard_policy(["me-central-1"])
    broken["Statement"][0]["NotAction"] += ["s3:ListAllMyBucketz", "nosuchservice:Get*"]
    issues = {f["issue"] for f in parliament_findings(json.dumps(broken))}
    assert {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"} <= issues


def test_the_guard_is_attached_to_the_environments_account_unless_targets_are_named() -> None:
    prod = load_environment("prod")
    assert prod.guardrails.region_guard and prod.region_guard_targets == [prod.account_id]
    named = prod.model_copy(update={"guardrails": prod.guardrails.model_copy(update={"target_ids": ["ou-ab12-cdef3456"]})})
    assert named.region_guard_targets == ["ou-ab12-cdef3456"]


def test_a_target_that_is_neither_an_account_nor_an_ou_is_refused_naming_the_field() -> None:
    from environments.cloud_sections import GuardrailsConfig

    with pytest.raises(ValueError, match=r"must be account ids \(12 digits\), OU ids \(ou-...\) or the root"):
        GuardrailsConfig(region_guard=True, target_ids=["arn:aws:organizations::111122223333:ou/o-x/ou-ab12"])

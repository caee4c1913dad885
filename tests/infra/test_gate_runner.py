"""The gate refuses every way a Checkov run can exit 0 without proving anything.

Each test feeds the real Checkov (its own tool environment) one of the inputs that, unguarded, end
in exit 0 with nothing checked, and asserts the gate raises ``GateFailed`` naming the cause.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from environments.errors import ConfigError, GateFailed
from infra.gate.checkov_runner import CheckovTool, find_checkov, policy_checks_dir, run_checkov
from infra.gate.model import GateReport
from infra.gate.scan_copy import ScanTarget, index_addresses

TAGS = {"owner": "ml-platform", "cost-centre": "cc-1", "data-classification": "internal", "environment": "dev"}


def stack_document(**resources: dict[str, Any]) -> dict[str, Any]:
    """A cdktf-shaped stack: a resident, tagged provider and the given ``aws_cloudwatch_log_group``s."""
    return {
        "provider": {"aws": [{"region": "me-central-1", "default_tags": [{"tags": TAGS}]}]},
        "resource": {"aws_cloudwatch_log_group": resources} if resources else {},
    }


SECURE = stack_document(Logs={"name": "/sahab/a", "kms_key_id": "${aws_kms_key.Logs.arn}"})


def write_stack(folder: Path, name: str, document: Any) -> ScanTarget:
    path = folder / name / "cdk.tf.json"
    path.parent.mkdir(parents=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    return ScanTarget(name=name, file=path)


@pytest.fixture
def checks_copy(tmp_path: Path) -> Path:
    """A private copy of policies/checks that a test may break."""
    copy = tmp_path / "checks"
    shutil.copytree(policy_checks_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture(scope="module")
def mixed_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[GateReport, dict[str, ScanTarget]]:
    """One Checkov run over a clean stack, a failing one and one with a required_version."""
    folder = tmp_path_factory.mktemp("stacks")
    targets = {
        "dev-security": write_stack(folder, "dev-security", SECURE),
        "dev-failing": write_stack(folder, "dev-failing", stack_document(Logs={"name": "/sahab/a"})),
        "dev-pinned": write_stack(folder, "dev-pinned", {**SECURE, "terraform": {"required_version": ">= 1.5.0"}}),
    }
    return run_checkov(list(targets.values()), custom_only=True), targets


def test_a_clean_stack_passes_with_results_from_our_checks(mixed_scan: tuple[GateReport, dict]) -> None:
    stack = mixed_scan[0].stack("dev-security")
    assert stack.failed == 0
    assert {"CKV_SAHAB_1", "CKV_SAHAB_15", "CKV_SAHAB_34"} <= {o.check_id for o in stack.outcomes}


def test_failures_are_reported_with_their_check_id_and_address_not_raised(mixed_scan: tuple[GateReport, dict]) -> None:
    report = mixed_scan[0]
    assert not report.ok
    assert [(o.stack, o.check_id, o.address) for o in report.failures] == [
        ("dev-failing", "CKV_SAHAB_15", "aws_cloudwatch_log_group.Logs")
    ]


def test_required_version_is_removed_from_the_scan_copy_only_and_said_in_the_report(
    mixed_scan: tuple[GateReport, dict],
) -> None:
    report, targets = mixed_scan
    assert report.stack("dev-pinned").passed > 0  # scanned, not a silent parsing error
    assert [n for n in report.notes if "required_version" in n and "7454" in n and n.startswith("dev-pinned")]
    assert json.loads(targets["dev-pinned"].file.read_text())["terraform"] == {"required_version": ">= 1.5.0"}


def test_malformed_json_fails_the_gate_naming_the_file(tmp_path: Path) -> None:
    target = write_stack(tmp_path, "dev-data", '{"resource": {"aws_s3_bucket": ')
    with pytest.raises(GateFailed, match=r"dev-data: .*cdk\.tf\.json is not valid JSON"):
        run_checkov([target], custom_only=True)


def test_a_missing_stack_file_fails_the_gate(tmp_path: Path) -> None:
    with pytest.raises(GateFailed, match=r"dev-data: .* does not exist \(run `sahab synth`"):
        run_checkov([ScanTarget("dev-data", tmp_path / "nowhere" / "cdk.tf.json")], custom_only=True)


def test_a_stack_with_nothing_to_check_fails_the_gate_even_beside_a_clean_one(tmp_path: Path) -> None:
    clean = write_stack(tmp_path, "dev-security", SECURE)
    empty = write_stack(tmp_path, "dev-empty", {"terraform": {"backend": {"local": {}}}})
    with pytest.raises(GateFailed, match=r"no check ran on \['dev-empty'\]"):
        run_checkov([clean, empty], custom_only=True)


def test_a_scan_that_checks_nothing_at_all_fails_the_gate(tmp_path: Path) -> None:
    empty = write_stack(tmp_path, "dev-empty", {"terraform": {"backend": {"local": {}}}})
    with pytest.raises(GateFailed, match="scanned nothing"):
        run_checkov([empty], custom_only=True)


def test_a_checks_folder_without_init_fails_the_gate(tmp_path: Path, checks_copy: Path) -> None:
    (checks_copy / "__init__.py").unlink()
    with pytest.raises(GateFailed, match="could not load its checks"):
        run_checkov([write_stack(tmp_path, "dev-security", SECURE)], custom_only=True, checks_dir=checks_copy)


def test_a_check_that_cannot_be_imported_fails_the_gate_naming_it(tmp_path: Path, checks_copy: Path) -> None:
    (checks_copy / "BrokenCheck.py").write_text('class BrokenCheck(:\n    id="CKV_SAHAB_998"\n')
    with pytest.raises(GateFailed, match="CKV_SAHAB_998"):
        run_checkov([write_stack(tmp_path, "dev-security", SECURE)], custom_only=True, checks_dir=checks_copy)


def test_a_check_that_raises_fails_the_gate(tmp_path: Path, checks_copy: Path) -> None:
    (checks_copy / "RaisingCheck.py").write_text(
        "from checkov.common.models.enums import CheckCategories\n"
        "from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck\n\n\n"
        "class RaisingCheck(BaseResourceCheck):\n"
        "    def __init__(self):\n"
        "        super().__init__(name='Ensure nothing', id='CKV_SAHAB_999', categories=[CheckCategories.GENERAL_SECURITY],\n"
        "                         supported_resources=['aws_cloudwatch_log_group'])\n\n"
        "    def scan_resource_conf(self, conf):\n"
        "        raise RuntimeError('bug in a check')\n\n\n"
        "check = RaisingCheck()\n"
    )
    with pytest.raises(GateFailed, match="could not prove the stacks clean"):
        run_checkov([write_stack(tmp_path, "dev-security", SECURE)], custom_only=True, checks_dir=checks_copy)


def test_a_checkov_other_than_the_pinned_version_is_refused_before_scanning(tmp_path: Path) -> None:
    home = tmp_path / "checkov"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "checkov").write_text("#!/bin/sh\n")
    (home / "lib" / "python3.11" / "site-packages" / "checkov-3.0.0.dist-info").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"Checkov 3\.0\.0 is installed .* pinned to 3\.3\.30"):
        find_checkov(home)


def test_a_scan_reporting_another_checkov_version_fails_the_gate(tmp_path: Path) -> None:
    tool = CheckovTool(home=find_checkov().home, pinned_version="0.0.1")
    with pytest.raises(GateFailed, match="pinned to 0.0.1"):
        run_checkov([write_stack(tmp_path, "dev-security", SECURE)], custom_only=True, tool=tool)


def test_a_missing_checkov_is_a_config_error_that_says_make_setup(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="make setup"):
        find_checkov(tmp_path / "no-checkov")


def test_addresses_come_from_the_line_each_block_starts_on() -> None:
    document = {
        "data": {"terraform_remote_state": {"Sec": {"backend": "s3"}}},
        "provider": {"aws": [
            {"default_tags": [{"tags": TAGS}], "region": "me-central-1"},
            {"alias": "secondary", "region": "me-central-1"},
        ]},
        "resource": {"aws_s3_bucket": {"Data": {"bucket": "b"}}},
    }
    text = json.dumps(document, indent=2)
    lines = text.splitlines()
    addresses = index_addresses(text)
    starts = {address: lines[number - 1].strip() for number, address in addresses.items()}
    assert set(addresses.values()) == {
        "data.terraform_remote_state.Sec", "provider.aws", "provider.aws.secondary", "aws_s3_bucket.Data",
    }
    assert starts["aws_s3_bucket.Data"] == '"Data": {'

"""SARIF and JUnit writers: what CI and code-scanning UIs read from the gate.

SARIF documents are validated against the official SARIF 2.1.0 schema (``tests/sarif_schema.py``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from sarif_schema import assert_valid_sarif

from infra.gate.junit import SKIPS_SUITE, write_junit
from infra.gate.model import CheckInfo, GateReport, Outcome, Skip, StackReport
from infra.gate.sarif import sarif_document, write_sarif



@pytest.fixture
def report(tmp_path: Path) -> GateReport:
    stack_file = tmp_path / "cdktf.out" / "stacks" / "smb-data" / "cdk.tf.json"
    outcome = dict(stack="smb-data", file=stack_file, line_range=(40, 52))
    outcomes = (
        Outcome(check_id="CKV_SAHAB_9", check_name="Ensure every S3 bucket has a default encryption configuration",
                result="FAILED", address="aws_s3_bucket.EscapeHatch", **outcome),
        Outcome(check_id="CKV_SAHAB_8", check_name="Ensure S3 default encryption uses SSE-KMS with our customer-managed key",
                result="FAILED", address="aws_s3_bucket_server_side_encryption_configuration.Sse",
                details=("'rule[0].kms_master_key_id' is the AWS-managed key 'alias/aws/s3'",), **outcome),
        Outcome(check_id="CKV_AWS_21", check_name="Ensure all data stored in the S3 bucket have versioning enabled",
                result="PASSED", address="aws_s3_bucket.Data", **outcome),
    )
    return GateReport(
        stacks=(StackReport(name="smb-data", file=stack_file, outcomes=outcomes),),
        skips=(Skip("CKV_AWS_144", "Cross-region replication would copy data out of the UAE."),),
        custom_checks=(
            CheckInfo("CKV_SAHAB_1", "Ensure every AWS provider's region is in the UAE residency allow-list", "provider",
                      ("aws",), "UAE PDPL Arts. 22-23", "AwsProviderRegionResident"),
        ),
        checkov_version="3.3.30",
        seconds=1.5,
    )


def test_sarif_is_valid_sarif_2_1_0(report: GateReport, tmp_path: Path) -> None:
    assert_valid_sarif(sarif_document(report, root=tmp_path))


def test_sarif_has_one_result_per_failed_check_pointing_at_the_stack_file(report: GateReport, tmp_path: Path) -> None:
    run = sarif_document(report, root=tmp_path)["runs"][0]
    assert [(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for r in run["results"]] == [
        ("CKV_SAHAB_9", "smb-data/aws_s3_bucket.EscapeHatch"),
        ("CKV_SAHAB_8", "smb-data/aws_s3_bucket_server_side_encryption_configuration.Sse"),
    ]
    location = run["results"][1]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "cdktf.out/stacks/smb-data/cdk.tf.json"}, "region": {"startLine": 40, "endLine": 52}}
    assert "alias/aws/s3" in run["results"][1]["message"]["text"]


def test_sarif_has_a_rule_for_every_check_run_and_each_result_indexes_its_rule(report: GateReport, tmp_path: Path) -> None:
    run = sarif_document(report, root=tmp_path)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules if r["defaultConfiguration"].get("enabled", True)} == {
        "CKV_SAHAB_1", "CKV_SAHAB_8", "CKV_SAHAB_9", "CKV_AWS_21",
    }
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])


def test_sarif_lists_each_skipped_check_as_a_disabled_rule_with_its_reason(report: GateReport, tmp_path: Path) -> None:
    run = sarif_document(report, root=tmp_path)["runs"][0]
    skipped = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "CKV_AWS_144"]
    assert skipped[0]["defaultConfiguration"] == {"enabled": False, "level": "none"}
    assert skipped[0]["properties"]["skipReason"].startswith("Cross-region replication")
    notes = run["invocations"][0]["toolConfigurationNotifications"]
    assert notes[0]["descriptor"] == {"id": "CKV_AWS_144"} and "out of the UAE" in notes[0]["message"]["text"]


def test_write_sarif_writes_the_document_as_json(report: GateReport, tmp_path: Path) -> None:
    path = write_sarif(report, tmp_path / "reports" / "gate.sarif", root=tmp_path)
    assert json.loads(path.read_text()) == sarif_document(report, root=tmp_path)


def test_junit_has_a_suite_per_stack_with_failures_naming_check_and_resource(report: GateReport, tmp_path: Path) -> None:
    root = ET.parse(write_junit(report, tmp_path / "gate.xml")).getroot()
    suite = root.find("testsuite[@name='smb-data']")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "2"
    failed = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed == [("smb-data.CKV_SAHAB_9", "aws_s3_bucket.EscapeHatch"),
                      ("smb-data.CKV_SAHAB_8", "aws_s3_bucket_server_side_encryption_configuration.Sse")]
    assert "alias/aws/s3" in (suite.findall("testcase")[1].find("failure").text or "")


def test_junit_shows_each_skipped_check_with_its_reason(report: GateReport, tmp_path: Path) -> None:
    root = ET.parse(write_junit(report, tmp_path / "gate.xml")).getroot()
    skipped = root.find(f"testsuite[@name='{SKIPS_SUITE}']/testcase[@name='CKV_AWS_144']/skipped")
    assert skipped is not None and "out of the UAE" in skipped.get("message", "")
    assert root.get("failures") == "2" and root.get("skipped") == "1"


def test_the_schema_refuses_a_result_without_a_message(report: GateReport, tmp_path: Path) -> None:
    document = sarif_document(report, root=tmp_path)
    del document["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError, match="'message' is a required property"):
        assert_valid_sarif(document)

"""``sahab evidence``: the pack of ``prod`` built from its real stacks and gate, then broken on purpose.

``prod`` is synthesised and gated once for the module (~30-40 s); the broken variant is a copy of that folder with
one data bucket's encryption edited after synthesis (as a hand edit or an escape hatch would), gated again
(~5 s) and turned into a pack by the same ``build_pack`` the command uses.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from environments import load_environment
from environments.errors import ConfigError
from infra.diff.terraform_json import load_outdir, parse_stack
from infra.evidence.build import Commit, build_pack
from infra.evidence.controls import CONTROLS
from infra.evidence.egress import read_egress
from infra.evidence.inventory import BACKUP_TYPES, StackIndex, inventory, residency
from infra.evidence.model import EgressEvidence, EgressTest, EvidencePack, Failure, to_json
from infra.evidence.render_html import render_html, write_pack
from infra.gate.check import GateRun, check_targets, synthesized_targets

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
COMMIT = Commit(sha="0123456789abcdef0123456789abcdef01234567", dirty=False)
ABSENT = EgressEvidence(source="reports/pytest.junit.xml", state="absent", tests=(), note="not run")
BACKUP_ROW = "ISO-A.8.13"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GateRun]:
    """``prod`` synthesised into a temporary folder and gated: (outdir, gate run)."""
    from infra.synth import synth

    outdir = tmp_path_factory.mktemp("prod") / "cdktf.out"
    synth([load_environment("prod")], outdir)
    return outdir, check_targets(synthesized_targets(outdir, ["prod"]), reports_dir=outdir / "reports")


def pack_of(outdir: Path, run: GateRun, egress: EgressEvidence = ABSENT) -> EvidencePack:
    return build_pack(
        load_environment("prod"), documents=load_outdir(outdir, ("prod",)), report=run.report, egress=egress,
        commit=COMMIT, now=NOW,
    )


@pytest.fixture(scope="module")
def pack(prod: tuple[Path, GateRun]) -> EvidencePack:
    return pack_of(*prod)


def backups_in_stacks(outdir: Path) -> bool:
    """Whether main's AWS Backup resources are in prod's stacks yet (they are being added in parallel)."""
    documents = load_outdir(outdir, ("prod",))
    return all(any(k.type == t for d in documents.values() for k in d.blocks) for t in BACKUP_TYPES)


@pytest.fixture(scope="module")
def expected_red(prod: tuple[Path, GateRun]) -> set[str]:
    """Red rows of the shipped prod: none once the backup resources exist; until then the backup row, only."""
    return set() if backups_in_stacks(prod[0]) else {BACKUP_ROW}


@pytest.fixture(scope="module")
def broken(prod: tuple[Path, GateRun], tmp_path_factory: pytest.TempPathFactory) -> EvidencePack:
    """prod with the data bucket's default encryption naming the AWS-managed key ``alias/aws/s3``, gated anew."""
    outdir = tmp_path_factory.mktemp("broken") / "cdktf.out"
    shutil.copytree(prod[0] / "stacks", outdir / "stacks")
    path = outdir / "stacks" / "prod-data" / "cdk.tf.json"
    document = json.loads(path.read_text())
    encryption = document["resource"]["aws_s3_bucket_server_side_encryption_configuration"]
    name = next(n for n in encryption if n.startswith("DataBucket_"))
    encryption[name]["rule"][0]["apply_server_side_encryption_by_default"]["kms_master_key_id"] = "alias/aws/s3"
    path.write_text(json.dumps(document, indent=2))
    run = check_targets(synthesized_targets(outdir, ["prod"]), reports_dir=outdir / "reports")
    return pack_of(outdir, run)


# ---- the shipped prod ----------------------------------------------------------------------------------------

def test_every_control_row_of_prod_links_to_a_resource_and_a_check_that_passed_on_it(pack: EvidencePack, expected_red: set[str]) -> None:
    for row in pack.controls:
        if row.control_id in expected_red:
            continue
        assert row.status == "pass", (row.control_id, row.reasons)
        assert row.resources, row.control_id
        assert any(c.passed_on_resources for c in row.checks), row.control_id


def test_only_the_expected_rows_of_prod_are_red(pack: EvidencePack, expected_red: set[str]) -> None:
    assert {row.control_id for row in pack.red_rows} == expected_red


def test_the_backup_row_is_red_naming_each_missing_resource_type_until_backups_exist(
    pack: EvidencePack, expected_red: set[str]
) -> None:
    if BACKUP_ROW not in expected_red:
        pytest.skip("the AWS Backup resources are in the stacks: the row must pass (the test above proves it)")
    reasons = pack.row(BACKUP_ROW).reasons
    for type_ in BACKUP_TYPES:
        assert f"no resource of type {type_} in the stacks of prod" in reasons


def test_the_control_table_names_only_checks_the_gate_ran_or_sahab_defines(
    pack: EvidencePack, prod: tuple[Path, GateRun], expected_red: set[str]
) -> None:
    report = prod[1].report
    known = {c.check_id for c in report.custom_checks} | {o.check_id for o in report.outcomes}
    unknown = {
        (c.control_id, check_id) for c in CONTROLS for check_id in c.check_ids
        if check_id not in known and c.control_id not in expected_red
    }
    assert not unknown, "a typo in controls.py, or a check that runs on nothing in prod"


def test_every_key_is_listed_with_its_rotation_and_every_bucket_with_its_key_and_lock_mode(pack: EvidencePack) -> None:
    sections = {s.title: s for s in pack.inventory}
    keys = {dict(i.facts)["alias"].split(" ")[0]: dict(i.facts) for i in sections["KMS keys"].items}
    assert keys["alias/sahab-prod-data"]["rotation"] == "on, every 365 days"
    assert keys["alias/sahab-prod-models-signing"]["rotation"].startswith("not applicable")
    buckets = {i.path: dict(i.facts) for i in sections["S3 buckets"].items}
    assert buckets["DataBucket/Bucket"]["key"] == "alias/sahab-prod-data (prod-security:Keys/Data)"
    assert buckets["AuditTrail/Bucket/Bucket"]["object lock"].startswith("COMPLIANCE, ")
    assert not [i for s in pack.inventory for i in s.items if i.problems]


def test_the_region_guard_and_the_residency_statement_are_read_from_the_stacks(pack: EvidencePack) -> None:
    (guard,) = next(s for s in pack.inventory if s.title == "Region guard").items
    assert dict(guard.facts)["regions allowed"] == "me-central-1"
    assert pack.residency.status == "pass" and pack.residency.regions_seen == ("me-central-1",)
    assert "sahab-prod-tfstate in me-central-1" in pack.residency.statement


def test_a_provider_outside_the_allowed_regions_makes_the_residency_statement_false(prod: tuple[Path, GateRun]) -> None:
    documents = load_outdir(prod[0], ("prod",))
    raw = json.loads(json.dumps(documents["prod-network"].raw))
    raw["provider"]["aws"][0]["region"] = "eu-west-1"
    documents["prod-network"] = parse_stack("prod-network", raw)
    sections = inventory(StackIndex(documents))
    found = residency("prod", ("me-central-1",), documents, sections)
    assert found.status == "fail"
    assert any(p.startswith("prod-network provider aws[0].region names region 'eu-west-1'") for p in found.problems)
    assert "NOT TRUE" in found.statement


def test_a_failed_egress_test_turns_the_residency_row_red_and_only_it(prod: tuple[Path, GateRun], pack: EvidencePack) -> None:
    failed = EgressEvidence(
        source="reports/pytest.junit.xml", state="failed", note="1 egress test(s) failed: test_serving",
        tests=(EgressTest(name="tests.e2e.test_egress::test_serving", outcome="failed", message="10.0.0.1:53"),),
    )
    red = pack_of(*prod, egress=failed)
    assert {r.control_id for r in red.red_rows} - {r.control_id for r in pack.red_rows} == {"PDPL-22-23-RESIDENCY"}
    assert any("the egress test failed" in reason for reason in red.row("PDPL-22-23-RESIDENCY").reasons)


# ---- one resource broken -------------------------------------------------------------------------------------

def test_a_bucket_under_an_aws_managed_key_turns_only_the_cryptography_row_red(broken: EvidencePack, pack: EvidencePack) -> None:
    newly_red = {r.control_id for r in broken.red_rows} - {r.control_id for r in pack.red_rows}
    assert newly_red == {"ISO-A.8.24"}
    reasons = broken.row("ISO-A.8.24").reasons
    assert any(re.match(r"CKV_SAHAB_8 failed on prod-data:aws_s3_bucket_server_side_encryption_configuration\.DataBucket_", r)
               and "alias/aws/s3" in r for r in reasons), reasons


def test_the_broken_bucket_is_red_in_the_inventory_naming_the_key(broken: EvidencePack) -> None:
    buckets = {i.path: i for i in next(s for s in broken.inventory if s.title == "S3 buckets").items}
    assert buckets["DataBucket/Bucket"].problems == (
        "kms_master_key_id is 'alias/aws/s3': not one of our customer-managed keys",)
    assert not buckets["ModelsBucket/Bucket"].problems


def test_the_json_and_the_html_both_show_the_red_row_and_why(broken: EvidencePack, tmp_path: Path) -> None:
    html_path, json_path = write_pack(broken, tmp_path)
    document = json.loads(json_path.read_text())
    row = next(r for r in document["controls"] if r["control_id"] == "ISO-A.8.24")
    assert row["status"] == "fail" and any("CKV_SAHAB_8" in r for r in row["reasons"])
    assert document["ok"] is False
    page = html_path.read_text()
    assert re.search(r'<tr class="fail" id="ISO-A\.8\.24">.*?CKV_SAHAB_8 failed on prod-data:'
                     r'aws_s3_bucket_server_side_encryption_configuration\.DataBucket_', page, re.S)


# ---- the page ------------------------------------------------------------------------------------------------

def test_the_page_loads_nothing_from_anywhere(pack: EvidencePack) -> None:
    page = render_html(pack)
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert not re.search(r"<(?:script|link|img|iframe|object|embed)\b", page, re.I)
    assert "@import" not in page and "url(" not in page


def test_the_page_escapes_what_it_quotes(pack: EvidencePack) -> None:
    injected = "<script>alert('x')</script>"
    row = dataclasses.replace(
        pack.controls[0], status="fail", reasons=(injected,),
        failures=(Failure("CKV_SAHAB_2", "prod-data", "aws_s3_bucket.X", (injected,)),),
    )
    page = render_html(dataclasses.replace(pack, controls=(row, *pack.controls[1:])))
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_the_json_is_the_pack_with_sorted_keys(pack: EvidencePack) -> None:
    text = to_json(pack)
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, indent=2) + "\n"
    assert document["header"]["commit"] == COMMIT.sha and document["header"]["generated_at"] == "2026-12-01T12:00:00+00:00"
    assert [s["check_id"] for s in document["gate"]["skips"]] == [s.check_id for s in pack.gate.skips]


# ---- the egress test's JUnit file ----------------------------------------------------------------------------

def junit(tmp_path: Path, *cases: str) -> Path:
    path = tmp_path / "pytest.junit.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" timestamp="2026-12-01T10:00:00">'
        + "".join(cases) + "</testsuite></testsuites>"
    )
    return path


PASSED = '<testcase classname="tests.e2e.test_egress" name="test_local_stack_stays_on_loopback" time="40"/>'
FAILED = ('<testcase classname="tests.e2e.test_egress" name="test_serving_stays_on_loopback" time="9">'
          '<failure message="python (4242) -> 10.0.0.2:53 via sendto">trace</failure></testcase>')
SKIPPED = ('<testcase classname="tests.e2e.test_egress" name="test_serving_stays_on_loopback">'
           '<skipped message="strace cannot attach here"/></testcase>')
OTHER = '<testcase classname="tests.infra.test_synth" name="test_synth" time="1"/>'


def test_egress_passes_when_its_tests_passed(tmp_path: Path) -> None:
    found = read_egress(junit(tmp_path, PASSED, OTHER))
    assert found.state == "passed"
    assert [t.name for t in found.tests] == ["tests.e2e.test_egress::test_local_stack_stays_on_loopback"]


def test_egress_fails_when_any_of_its_tests_failed_and_quotes_the_destination(tmp_path: Path) -> None:
    found = read_egress(junit(tmp_path, PASSED, FAILED))
    assert found.state == "failed"
    assert [t.message for t in found.tests if t.outcome == "failed"] == ["python (4242) -> 10.0.0.2:53 via sendto"]


@pytest.mark.parametrize("cases", [(), (OTHER,), (SKIPPED,)], ids=["empty", "other-tests-only", "all-skipped"])
def test_egress_is_absent_when_its_tests_did_not_run(tmp_path: Path, cases: tuple[str, ...]) -> None:
    assert read_egress(junit(tmp_path, *cases)).state == "absent"


def test_egress_is_absent_without_a_junit_file_and_says_how_to_get_one(tmp_path: Path) -> None:
    found = read_egress(tmp_path / "missing.xml")
    assert found.state == "absent" and "run `make test` first" in found.note


def test_a_junit_file_that_is_not_xml_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "pytest.junit.xml"
    path.write_text("not xml")
    with pytest.raises(ConfigError, match="pytest.junit.xml is not JUnit XML"):
        read_egress(path)


def test_the_pytest_configuration_leaves_the_junit_file_the_pack_reads() -> None:
    import tomllib

    addopts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--junitxml=reports/pytest.junit.xml" in addopts.split()


# ---- the command ---------------------------------------------------------------------------------------------

def sahab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli.main", *args],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, "COLUMNS": "200"}, timeout=300,
    )


def test_sahab_evidence_of_the_local_environment_exits_2_saying_it_has_no_cloud_stacks() -> None:
    completed = sahab("evidence", "local")
    assert completed.returncode == 2
    assert "local: no cloud stacks to gather evidence from" in completed.stderr


def test_sahab_evidence_prod_writes_both_files_and_exits_by_the_red_rows(tmp_path: Path, expected_red: set[str]) -> None:
    completed = sahab("evidence", "prod", "--out", str(tmp_path / "reports"), "--outdir", str(tmp_path / "cdktf.out"),
                      "--tests-junit", str(junit(tmp_path, PASSED)))
    assert completed.returncode == (1 if expected_red else 0), completed.stdout[-3000:] + completed.stderr
    document = json.loads((tmp_path / "reports" / "evidence-prod.json").read_text())
    assert {r["control_id"] for r in document["controls"] if r["status"] == "fail"} == expected_red
    assert document["egress"]["state"] == "passed"
    assert (tmp_path / "reports" / "evidence-prod.html").is_file()
    for row in expected_red:
        assert row in completed.stderr


# ---- backups (being added on main): the inventory and the row, from a stack written as cdktf writes one --------

def backup_stack() -> dict:
    """A ``prod-data`` stack with a vault under our key, its lock, a plan copying to a second vault, a selection."""
    def meta(path: str) -> dict:
        return {"//": {"metadata": {"path": f"prod-data/{path}"}}}

    return {
        "provider": {"aws": [{"region": "me-central-1"}]},
        "resource": {
            "aws_kms_key": {"Key": {**meta("Keys/Data"), "enable_key_rotation": True}},
            "aws_kms_alias": {"Alias": {**meta("Keys/DataAlias"), "name": "alias/sahab-prod-data",
                                        "target_key_id": "${aws_kms_key.Key.key_id}"}},
            "aws_s3_bucket": {"Data": {**meta("DataBucket/Bucket"), "bucket": "sahab-prod-data"}},
            "aws_backup_vault": {
                "Vault": {**meta("Backup/Vault"), "name": "sahab-prod-backup", "kms_key_arn": "${aws_kms_key.Key.arn}"},
                "Copy": {**meta("Backup/CopyVault"), "name": "sahab-prod-backup-copy"},
            },
            "aws_backup_vault_lock_configuration": {"Lock": {
                **meta("Backup/Lock"), "backup_vault_name": "${aws_backup_vault.Vault.name}",
                "changeable_for_days": 3, "min_retention_days": 7, "max_retention_days": 365}},
            "aws_backup_plan": {"Plan": {**meta("Backup/Plan"), "name": "sahab-prod-daily", "rule": [{
                "rule_name": "daily", "target_vault_name": "${aws_backup_vault.Vault.name}",
                "schedule": "cron(0 3 * * ? *)", "lifecycle": {"delete_after": 35},
                "copy_action": [{"destination_vault_arn": "${aws_backup_vault.Copy.arn}"}]}]}},
            "aws_backup_selection": {"Selection": {
                **meta("Backup/Selection"), "name": "data-stores", "plan_id": "${aws_backup_plan.Plan.id}",
                "resources": ["${aws_s3_bucket.Data.arn}"]}},
        },
    }


def test_backups_are_listed_with_their_key_lock_mode_copy_destination_and_selection() -> None:
    from infra.evidence.inventory import backups

    section = backups(StackIndex({"prod-data": parse_stack("prod-data", backup_stack())}))
    facts = {item.path: dict(item.facts) for item in section.items}
    assert facts["Backup/Vault"]["key"] == "alias/sahab-prod-data (prod-data:Keys/Data)"
    assert facts["Backup/Lock"]["mode"].startswith("compliance") and facts["Backup/Lock"]["retention"] == "7-365 days"
    assert facts["Backup/Plan"]["rule daily"] == (
        "vault aws_backup_vault.Vault (prod-data:Backup/Vault); schedule cron(0 3 * * ? *); deleted after 35 days; "
        "copies to aws_backup_vault.Copy (prod-data:Backup/CopyVault)")
    assert facts["Backup/Selection"]["resources"] == "aws_s3_bucket.Data (prod-data:DataBucket/Bucket)"
    problems = {item.path: item.problems for item in section.items if item.problems}
    assert problems == {"Backup/CopyVault": ("vault not encrypted with one of our keys (kms_key_arn)",)}


def test_the_backup_row_passes_once_the_resources_exist_and_a_backup_check_passed_on_them() -> None:
    from infra.evidence.build import control_row
    from infra.evidence.controls import CONTROLS
    from infra.gate.model import GateReport, Outcome, StackReport

    row_control = next(c for c in CONTROLS if c.control_id == BACKUP_ROW)
    index = StackIndex({"prod-data": parse_stack("prod-data", backup_stack())})

    def outcome(result: str) -> Outcome:
        return Outcome("CKV_AWS_166", "Ensure Backup Vault is encrypted at rest using KMS CMK", result, "prod-data",
                       "aws_backup_vault.Vault", Path("cdk.tf.json"), (1, 2))

    def row(*outcomes: Outcome):
        report = GateReport((StackReport("prod-data", Path("cdk.tf.json"), outcomes),), (), (), "3.3.30", 1.0)
        return control_row(row_control, "prod", index, outcomes, report, ABSENT)

    assert row(outcome("PASSED")).status == "pass"
    failed = row(outcome("PASSED"), dataclasses.replace(outcome("FAILED"), address="aws_backup_vault.Copy"))
    assert failed.status == "fail"
    assert failed.reasons == ("CKV_AWS_166 failed on prod-data:aws_backup_vault.Copy: "
                              "Ensure Backup Vault is encrypted at rest using KMS CMK",)


def test_the_commit_is_read_from_git_and_said_unknown_outside_a_checkout(tmp_path: Path) -> None:
    from infra.evidence.build import git_commit

    assert re.fullmatch(r"[0-9a-f]{40}", git_commit(PROJECT_ROOT).sha)
    assert git_commit(tmp_path) == Commit(sha="unknown (not a git checkout)", dirty=False)

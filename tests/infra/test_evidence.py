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

def test_every_control_row_of_prod_links_to_a_resource_and_a_check_that_passed_on_it(pack: EvidencePack) -> None:
    for row in pack.controls:
        assert row.status == "pass", (row.control_id, row.reasons)
        assert row.resources, row.control_id
        assert any(c.passed_on_resources for c in row.checks), row.control_id


def test_no_row_of_the_shipped_prod_is_red(pack: EvidencePack) -> None:
    assert [row.control_id for row in pack.red_rows] == []


def test_prod_without_its_backups_turns_only_the_backup_row_red_naming_each_missing_type(
    prod: tuple[Path, GateRun], tmp_path: Path
) -> None:
    outdir = tmp_path / "cdktf.out"
    shutil.copytree(prod[0] / "stacks", outdir / "stacks")
    for stack in ("prod-data", "prod-recovery"):
        path = outdir / "stacks" / stack / "cdk.tf.json"
        document = json.loads(path.read_text())
        for type_ in BACKUP_TYPES:
            document["resource"].pop(type_, None)
        path.write_text(json.dumps(document))
    stripped = pack_of(outdir, check_targets(synthesized_targets(outdir, ["prod"]), reports_dir=tmp_path / "reports"))
    assert [row.control_id for row in stripped.red_rows] == [BACKUP_ROW]
    reasons = stripped.row(BACKUP_ROW).reasons
    for type_ in BACKUP_TYPES:
        assert f"no resource of type {type_} in the stacks of prod" in reasons


def test_the_control_table_names_only_checks_the_gate_ran_or_sahab_defines(
    pack: EvidencePack, prod: tuple[Path, GateRun]
) -> None:
    report = prod[1].report
    known = {c.check_id for c in report.custom_checks} | {o.check_id for o in report.outcomes}
    unknown = {
        (c.control_id, check_id) for c in CONTROLS for check_id in c.check_ids
        if check_id not in known
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


def test_make_test_leaves_the_junit_file_the_pack_reads_by_default() -> None:
    import inspect

    from infra.cli.evidence_cmd import evidence_command

    default = inspect.signature(evidence_command).parameters["tests_junit"].default
    recipe = (PROJECT_ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert f"--junitxml={default}" in recipe.split()


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


def test_sahab_evidence_prod_writes_both_files_and_exits_0_when_every_row_is_green(tmp_path: Path) -> None:
    completed = sahab("evidence", "prod", "--out", str(tmp_path / "reports"), "--outdir", str(tmp_path / "cdktf.out"),
                      "--tests-junit", str(junit(tmp_path, PASSED)))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    document = json.loads((tmp_path / "reports" / "evidence-prod.json").read_text())
    assert [r["control_id"] for r in document["controls"] if r["status"] == "fail"] == []
    assert document["egress"]["state"] == "passed"
    assert (tmp_path / "reports" / "evidence-prod.html").is_file()


# ---- backups --------------------------------------------------------------------------------------------------

def test_prods_backups_are_listed_with_their_key_lock_mode_copy_destination_and_selection(pack: EvidencePack) -> None:
    (section,) = [s for s in pack.inventory if s.title == "Backups"]
    facts = {item.path: dict(item.facts) for item in section.items}
    assert facts["BackupVault/Vault"]["key"] == "alias/sahab-prod-backup (prod-security:Keys/Backup)"
    assert facts["CopyVault/Vault"]["key"] == "alias/sahab-prod-backup (prod-recovery:Keys/Backup)"
    for lock in ("BackupVault/Lock", "CopyVault/Lock"):
        assert facts[lock]["mode"].startswith("compliance") and facts[lock]["retention"] == "35-any days"
    assert facts["BackupPlan/Plan"]["rule daily"].endswith(
        "schedule cron(0 22 * * ? *); deleted after 35 days; "
        "copies to arn:aws:backup:me-central-1:444455556666:backup-vault:sahab-prod-backup-copy")
    selected = facts["BackupPlan/Selection"]["resources"]
    assert "(prod-data:DataBucket/Bucket)" in selected and "(prod-data:ModelsBucket/Bucket)" in selected
    assert not [item.problems for item in section.items if item.problems]


def test_the_backup_row_turns_red_when_a_backup_check_fails_naming_the_resource(pack: EvidencePack, prod) -> None:
    from infra.evidence.build import control_row
    from infra.gate.model import GateReport, StackReport

    row_control = next(c for c in CONTROLS if c.control_id == BACKUP_ROW)
    outcomes = [o for o in prod[1].report.outcomes if o.stack.startswith("prod-")]
    vault = next(o for o in outcomes if o.check_id == "CKV_SAHAB_43" and o.stack == "prod-data")
    broken = [dataclasses.replace(o, result="FAILED", details=("no lock",)) if o is vault else o for o in outcomes]
    report = GateReport((StackReport("prod-data", vault.file, tuple(broken)),), (), (), "3.3.30", 1.0)
    index = StackIndex(load_outdir(prod[0], ("prod",)))
    row = control_row(row_control, "prod", index, broken, report, ABSENT)
    assert row.status == "fail" and row.reasons == (f"CKV_SAHAB_43 failed on prod-data:{vault.address}: no lock",)


def test_the_commit_is_read_from_git_and_said_unknown_outside_a_checkout(tmp_path: Path) -> None:
    from infra.evidence.build import git_commit

    assert re.fullmatch(r"[0-9a-f]{40}", git_commit(PROJECT_ROOT).sha)
    assert git_commit(tmp_path) == Commit(sha="unknown (not a git checkout)", dirty=False)

"""``sahab diff --plan``: a real Terraform plan (``terraform show -json``) rendered as the same comment.

The fixture was made by Terraform 1.11.4 from the two configurations below (``terraform_data`` needs no provider
download): apply ``BEFORE``, change to ``AFTER``, ``terraform plan -out`` and ``terraform show -json``. Where a
``terraform`` binary is on PATH, the last test makes the plan again and reads it the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.deploy import terraform_runner
from infra.diff.plan_json import KNOWN_AFTER_APPLY, SENSITIVE, SENSITIVE_CHANGED, read_plans
from infra.diff.render import MARKER, render_markdown

FIXTURE = Path(__file__).parent / "fixtures" / "terraform_plan" / "smb-data.plan.json"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t"

BEFORE = {
    "variable": {"token": {"type": "string", "sensitive": True, "default": f"{SECRET}-v1"}},
    "resource": {"terraform_data": {
        "keep": {"input": "unchanged"},
        "pool": {"input": {"desired_size": 2, "instance_type": "m7i.large"}},
        "old_name": {"input": "moved"},
        "bucket": {"input": "sahab-smb-data", "triggers_replace": "sahab-smb-data"},
        "gone": {"input": "bye"},
        "token": {"input": "${var.token}"},
    }},
}
AFTER = {
    "variable": {"token": {"type": "string", "sensitive": True, "default": f"{SECRET}-v2"}},
    "moved": [{"from": "terraform_data.old_name", "to": "terraform_data.new_name"}],
    "resource": {"terraform_data": {
        "keep": {"input": "unchanged"},
        "pool": {"input": {"desired_size": 4, "instance_type": "m7i.large"}},
        "new_name": {"input": "moved"},
        "bucket": {"input": "sahab-smb-lake", "triggers_replace": "sahab-smb-lake"},
        "added": {"input": "hello"},
        "token": {"input": "${var.token}"},
    }},
}


def assert_read_as_terraform_planned(plan: Path) -> None:
    report = read_plans([plan])
    actions = {c.address: c.action for c in report.changes}
    assert actions == {
        "terraform_data.added": "create", "terraform_data.bucket": "replace", "terraform_data.gone": "delete",
        "terraform_data.new_name": "move", "terraform_data.pool": "update", "terraform_data.token": "update",
    }  # "keep" is a no-op and left out
    changes = {c.address: c for c in report.changes}
    assert changes["terraform_data.new_name"].moved_from == "smb-data:terraform_data.old_name"
    assert [a.path for a in changes["terraform_data.bucket"].replacing] == ["triggers_replace"]
    pool = {a.path: (a.old, a.new) for a in changes["terraform_data.pool"].attributes}
    assert pool["input.desired_size"] == (2, 4) and pool["output"][1] == KNOWN_AFTER_APPLY
    token = {a.path: a for a in changes["terraform_data.token"].attributes}
    assert (token["input"].old, token["input"].new) == (SENSITIVE, SENSITIVE_CHANGED)
    text = render_markdown(report)
    assert text.startswith(MARKER) and "**6 changes, 1 replacement**" in text
    assert SECRET not in text and SECRET not in json.dumps(report.as_json(), default=str)


def test_a_plan_terraform_wrote_is_read_with_its_replacements_moves_unknowns_and_secrets_masked() -> None:
    assert SECRET in FIXTURE.read_text()  # the plan itself holds the value: the renderer must not show it
    assert_read_as_terraform_planned(FIXTURE)


def sahab(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra.cli.main", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"}, timeout=120)


def test_sahab_diff_renders_every_plan_in_a_folder_and_exits_0(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(FIXTURE, plans / FIXTURE.name)
    completed = sahab("diff", "--plan", str(plans), "--markdown", str(tmp_path / "comment.md"), "--json", str(tmp_path / "d.json"))
    assert completed.returncode == 0, completed.stderr
    assert "6 changes, 1 replacement" in completed.stderr
    comment = (tmp_path / "comment.md").read_text()
    assert "<b>smb-data</b>" in comment and "`-/+` **bucket**" in comment
    assert json.loads((tmp_path / "d.json").read_text())["verdict"] == "6 changes, 1 replacement"


def test_a_plan_together_with_a_base_is_refused(tmp_path: Path) -> None:
    completed = sahab("diff", "--plan", str(FIXTURE), "--base", "main")
    assert completed.returncode == 2 and "--plan renders Terraform plans as they are" in completed.stderr


def test_a_file_that_is_not_a_plan_is_refused_naming_it(tmp_path: Path) -> None:
    other = tmp_path / "smb-data.plan.json"
    other.write_text(json.dumps({"resource": {}}))
    completed = sahab("diff", "--plan", str(other))
    assert completed.returncode == 2
    assert f"{other}: not a Terraform plan in JSON" in completed.stderr


def test_no_base_and_no_plan_is_refused_naming_the_option() -> None:
    completed = sahab("diff", "smb")
    assert completed.returncode == 2 and "--base origin/main" in completed.stderr


@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs the terraform binary (HashiCorp ships it outside "
                    "the package registries this machine reaches); the committed fixture is its output")
def test_a_plan_made_now_by_terraform_reads_the_same(tmp_path: Path) -> None:
    def terraform(*argv: str) -> None:
        subprocess.run(["terraform", f"-chdir={tmp_path}", *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}, timeout=120)

    config = tmp_path / "main.tf.json"
    config.write_text(json.dumps(BEFORE))
    terraform("init", "-input=false")
    terraform("apply", "-auto-approve", "-input=false")
    config.write_text(json.dumps(AFTER))
    terraform("plan", "-input=false", f"-out={tmp_path / 'p.tfplan'}")
    plan = tmp_path / "smb-data.plan.json"
    terraform_runner("terraform")([f"-chdir={tmp_path}", "show", "-json", str(tmp_path / "p.tfplan")], stdout=plan)
    assert_read_as_terraform_planned(plan)

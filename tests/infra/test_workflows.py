"""The GitHub workflows: valid for actionlint (with shellcheck on their shell steps), and the compliance workflow
posting one ``sahab diff`` comment with the least permissions. No GitHub runner exists here: what can be proven
offline is that the files are valid and say what the docs claim."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.diff.render import MARKER

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).with_name("actionlint")


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ACTIONLINT), "-no-color", *map(str, files)], capture_output=True, text=True, timeout=120)


def test_shellcheck_is_installed_so_actionlint_checks_the_shell_steps_too() -> None:
    assert shutil.which("shellcheck"), "make test installs shellcheck (SYSTEM_TOOLS); without it actionlint skips run: steps"


def test_every_workflow_passes_actionlint() -> None:
    completed = actionlint(*sorted(WORKFLOWS.glob("*.yml")))
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "compliance.yml").read_text().replace("steps.diff.outputs.exit", "steps.dif.outputs.exit"))
    shell = tmp_path / "shell.yml"
    shell.write_text((WORKFLOWS / "compliance.yml").read_text().replace('echo "exit=$?" >> "$GITHUB_OUTPUT"',
                                                                         "echo exit=$? >> $GITHUB_OUTPUT"))
    completed = actionlint(broken)
    assert completed.returncode == 1 and "steps.dif" in completed.stdout
    assert "SC2086" in actionlint(shell).stdout  # shellcheck's unquoted-variable finding, through actionlint


@pytest.fixture(scope="module")
def compliance() -> dict:
    return yaml.safe_load((WORKFLOWS / "compliance.yml").read_text())


def test_the_diff_job_asks_only_for_what_it_uses(compliance: dict) -> None:
    assert compliance["permissions"] == {}
    assert compliance["jobs"]["diff"]["permissions"] == {
        "contents": "read", "pull-requests": "write", "security-events": "write", "checks": "write"}
    assert compliance["jobs"]["test"]["permissions"] == {"contents": "read"}


def test_the_diff_job_compares_with_the_base_posts_one_comment_by_its_marker_and_fails_on_a_failed_gate(compliance: dict) -> None:
    steps = compliance["jobs"]["diff"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0  # the base branch must be there to diff against
    (diff,) = [s for s in steps if "sahab diff" in s.get("run", "")]
    assert "--base \"$BASE\" --all" in diff["run"] and "origin/{0}', github.base_ref" in diff["env"]["BASE"]
    (post,) = [s for s in steps if "issues/comments" in s.get("run", "")]
    assert f'startswith("{MARKER}")' in post["run"] and "--method PATCH" in post["run"]
    uploads = {s.get("uses", "").split("@")[0] for s in steps}
    assert {"github/codeql-action/upload-sarif", "mikepenz/action-junit-report"} <= uploads
    assert steps[-1]["run"] == 'exit "$DIFF_EXIT"' and steps[-1]["env"]["DIFF_EXIT"] == "${{ steps.diff.outputs.exit }}"


def test_the_test_job_files_prods_evidence_pack_from_its_own_run_as_an_artifact(compliance: dict) -> None:
    steps = compliance["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    (evidence,) = [index for index, run in enumerate(runs) if "sahab evidence prod" in run]
    assert runs.index("bash .ci/run") < evidence  # after make test wrote reports/pytest.junit.xml (the egress result)
    upload = steps[evidence + 1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["with"]["if-no-files-found"] == "error"
    assert upload["with"]["path"] == "reports/evidence/evidence-prod.*"
    import inspect

    from infra.cli.evidence_cmd import evidence_command

    default = inspect.signature(evidence_command).parameters["tests_junit"].default
    assert f"hashFiles('{default}')" in steps[evidence]["if"]

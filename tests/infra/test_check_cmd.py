"""``sahab check`` as a user runs it: a real process, real Checkov, exit codes and printed reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sahab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli.main", *args],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, "COLUMNS": "200"}, timeout=300,
    )


def test_sahab_check_exits_0_on_the_shipped_stacks_and_shows_the_skips_with_reasons(synthesized_all, tmp_path: Path) -> None:
    completed = sahab("check", "--all", "--from", str(synthesized_all.outdir), "--reports", str(tmp_path))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    assert re.search(r" 0 failed in \d+ stacks", completed.stdout)
    assert "CKV_AWS_144" in completed.stdout and "Cross-region replication" in completed.stdout
    assert (tmp_path / "policy-gate.sarif").is_file() and (tmp_path / "policy-gate.junit.xml").is_file()


def test_sahab_check_of_the_local_environment_exits_2_saying_it_has_no_cloud_stacks() -> None:
    completed = sahab("check", "local")
    assert completed.returncode == 2
    assert "no cloud stacks to check" in completed.stderr


def test_sahab_check_without_environments_exits_2_naming_the_choices() -> None:
    completed = sahab("check")
    assert completed.returncode == 2
    assert "or pass --all" in completed.stderr


def test_sahab_check_from_a_folder_without_stacks_exits_2(tmp_path: Path) -> None:
    completed = sahab("check", "--from", str(tmp_path))
    assert completed.returncode == 2
    assert "run `sahab synth` first" in completed.stderr


def test_sahab_check_from_a_folder_with_names_and_all_exits_2_instead_of_dropping_the_names(tmp_path: Path) -> None:
    completed = sahab("check", "--from", str(tmp_path), "smb", "--all")
    assert completed.returncode == 2
    assert "pass environment names or --all, not both" in completed.stderr

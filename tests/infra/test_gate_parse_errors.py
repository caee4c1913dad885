"""A file Checkov cannot parse fails the gate: part of the stacks would otherwise go unchecked and read as clean.

The real pinned Checkov reads a folder with a broken Terraform file; its JSON report (which counts the file in
``summary.parsing_errors`` and lists no failure) goes through the gate's report parser.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.gate.checkov_runner import _parse_reports, find_checkov
from environments.errors import GateFailed


def test_a_file_checkov_cannot_parse_fails_the_gate(tmp_path: Path) -> None:
    tool = find_checkov()
    (tmp_path / "broken.tf").write_text('resource "aws_s3_bucket" "data" {\n  bucket = \n')
    run = subprocess.run(
        [str(tool.executable), "--framework", "terraform", "--skip-download", "--compact", "--quiet",
         "--directory", str(tmp_path), "--output", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    with pytest.raises(GateFailed, match=r"Checkov could not parse 1 terraform file\(s\); what it could not read was never checked"):
        _parse_reports(run.returncode, run.stdout, run.stderr, tool, ["terraform"])

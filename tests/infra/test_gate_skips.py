"""``policies/skips.yaml``: the only way to skip a check, one reason each, never one of ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.errors import ConfigError
from infra.gate.skips import load_skips

REASON = "Cross-region replication would copy data out of the UAE."


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    return path


def test_the_shipped_skip_list_loads_and_gives_every_skip_a_reason() -> None:
    skips = load_skips()
    assert skips and all(len(s.reason) >= 20 for s in skips)
    assert not [s for s in skips if s.check_id.startswith("CKV_SAHAB")]


def test_a_valid_entry_loads_with_its_reason_on_one_line(tmp_path: Path) -> None:
    skips = load_skips(write(tmp_path, f"skips:\n  - id: CKV_AWS_144\n    reason: >-\n      {REASON}\n"))
    assert [(s.check_id, s.reason) for s in skips] == [("CKV_AWS_144", REASON)]


def test_one_of_our_own_checks_can_never_be_skipped(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"CKV_SAHAB_1 is one of our own checks, which can never be skipped"):
        load_skips(write(tmp_path, f"skips:\n  - id: CKV_SAHAB_1\n    reason: {REASON}\n"))


def test_a_skip_without_a_real_reason_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'skips\[0\]' 'reason' must explain the skip"):
        load_skips(write(tmp_path, "skips:\n  - id: CKV_AWS_18\n    reason: no\n"))


def test_every_bad_entry_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        f"skips:\n  - id: CKV_AWS_18\n    reason: {REASON}\n  - id: CKV_AWS_18\n    reason: {REASON}\n"
        f"  - id: not-an-id\n    reason: {REASON}\n  - id: CKV_AWS_1\n    reason: {REASON}\n    until: 2027\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_skips(write(tmp_path, text))
    problems = raised.value.problems
    assert len(problems) == 3
    assert "listed twice" in problems[0] and "built-in AWS or Kubernetes check id" in problems[1] and "exactly the keys" in problems[2]


def test_a_missing_skip_list_is_a_config_error_that_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"skips: \[\]"):
        load_skips(tmp_path / "absent.yaml")

"""``sahab drift`` as a user runs it: exit 0 on undrifted traffic, 3 on drifted traffic, an HTML report with plots."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from serving_stack import TINY_DATA

from bento_services.traffic import payloads_from_frame, replayable, send_transactions
from features.store import feature_store_for
from training.data.generator import generate_transactions

pytestmark = pytest.mark.slow


def sahab_drift(env_file: Path, since: datetime, report: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("sahab")), "drift", "--env", str(env_file), "--since", since.isoformat(),
         "--report", str(report)],
        capture_output=True, text=True, timeout=300,
    )


def test_drift_exits_0_on_undrifted_traffic_and_3_on_drifted_traffic_with_a_plotted_report(ab_server, tiny_stack, tmp_path) -> None:
    _, env_file, record = ab_server
    clean_since = datetime.now(UTC)
    # Customers' latest transactions, scored as of their own time: what training saw (a random past transaction
    # would be scored against a store that has since moved on, and its history features would look skewed).
    latest = replayable(tiny_stack.transactions, feature_store_for(tiny_stack.env))
    clean = send_transactions(record.url, payloads_from_frame(latest, tiny_stack.env))
    assert not clean.failed_status
    clean_run = sahab_drift(env_file, clean_since, tmp_path / "clean.html")
    assert clean_run.returncode == 0, clean_run.stdout + clean_run.stderr
    assert "no drift" in clean_run.stdout

    drift_since = datetime.now(UTC)
    drifted = generate_transactions(TINY_DATA, drift=True).sample(600, random_state=22)
    assert not send_transactions(record.url, payloads_from_frame(drifted, tiny_stack.env)).failed_status
    drift_run = sahab_drift(env_file, drift_since, tmp_path / "drift.html")
    assert drift_run.returncode == 3, drift_run.stdout + drift_run.stderr
    assert "amount_aed" in drift_run.stderr and "PSI" in drift_run.stderr

    for report in (tmp_path / "clean.html", tmp_path / "drift.html"):
        page = report.read_text()
        assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', page)) >= 15
    assert "DRIFT" in (tmp_path / "drift.html").read_text()

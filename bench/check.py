"""Benchmark: the policy gate as a user runs it, ``sahab check --all``, end to end.

Three measurements in one run, each a real process (Python start-up included):

- ``bindings_import`` (the anchor, the floor of any synthesis): ``python -c "import modules.cdk"``, which loads the
  AWS provider bindings (jsii, in node);

- ``check_all``: ``sahab check --all``: synthesise every environment (the AWS bindings import
  dominates) and run Checkov (built-in AWS checks plus ours) over all stacks, in workers started before the
  synthesis (``infra/gate/checkov_runner.py``); its ratio to the anchor is the issue's figure (goal <= 1.5x);
- ``check_from_synthesised``: ``sahab check --all --from <outdir>``: the gate alone over the same
  stacks, as CI runs it after a separate ``sahab synth``.

Medians and p99 (nearest rank: with few repeats p99 is the slowest run) from ONE invocation of
this script, plus what each run checked. Writes ``bench/results/check.json``.
Run: ``.venv/bin/python bench/check.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "check.json"
SUMMARY = re.compile(r"(\d+) passed, (\d+) failed in (\d+) stacks \((\d+\.\d+) s\)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * q // 100) - 1))]


def timed_runs(args: list[str], repeats: int, shown: str) -> dict:
    """Run ``sahab <args>`` ``repeats`` times; wall seconds and the gate's own summary of each run."""
    env = {**os.environ, "COLUMNS": "200", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    walls: list[float] = []
    gate_seconds: list[float] = []
    summary: dict = {}
    for _ in range(repeats):
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "infra.cli.main", *args], capture_output=True, text=True,
                                   cwd=ROOT, env=env, timeout=900)
        walls.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise SystemExit(f"sahab {' '.join(args)} exited {completed.returncode}:\n{completed.stderr[-3000:]}")
        found = SUMMARY.search(" ".join(completed.stdout.split()))
        if not found:
            raise SystemExit(f"no gate summary in the output of sahab {' '.join(args)}")
        passed, failed, stacks, seconds = found.groups()
        gate_seconds.append(float(seconds))
        summary = {"stacks": int(stacks), "passed": int(passed), "failed": int(failed)}
    return {
        "command": shown,
        "repeats": repeats,
        "wall_s": {"median": statistics.median(walls), "p99": percentile(walls, 99), "runs": walls},
        "gate_s": {"median": statistics.median(gate_seconds), "p99": percentile(gate_seconds, 99), "runs": gate_seconds},
        **summary,
    }


def import_anchor(repeats: int) -> dict:
    """Wall seconds of the bare import of the AWS bindings, ``repeats`` times."""
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import modules.cdk"], check=True, cwd=ROOT, timeout=600)
        walls.append(time.perf_counter() - started)
    return {"command": 'python -c "import modules.cdk"', "repeats": repeats,
            "wall_s": {"median": statistics.median(walls), "p99": percentile(walls, 99), "runs": walls}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    anchor = import_anchor(options.repeats)
    with tempfile.TemporaryDirectory(prefix="sahab-bench-check-") as scratch:
        outdir, reports = Path(scratch) / "cdktf.out", Path(scratch) / "reports"
        full = timed_runs(["check", "--all", "--outdir", str(outdir), "--reports", str(reports)], options.repeats,
                          "sahab check --all --outdir <tmp>/cdktf.out --reports <tmp>/reports")
        gate_only = timed_runs(["check", "--all", "--from", str(outdir), "--reports", str(reports)], options.repeats,
                               "sahab check --all --from <tmp>/cdktf.out --reports <tmp>/reports")
    result = {
        "benchmark": "sahab check --all",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1m_at_end": os.getloadavg()[0]},
        "bindings_import": anchor,
        "check_all": full,
        "ratio_check_all_to_import": full["wall_s"]["median"] / anchor["wall_s"]["median"],
        "check_from_synthesised": gate_only,
        "ratio_gate_share_of_check_all": gate_only["wall_s"]["median"] / full["wall_s"]["median"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

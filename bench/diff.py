"""Benchmark: what the pull-request review costs, ``sahab diff --base HEAD --all``, against ``sahab check --all``.

``sahab check --all`` (synthesise this tree, gate it) is what CI ran before the diff existed, so it is the
anchor; ``sahab diff`` does that for both the base (in a temporary worktree, a subprocess) and this tree, in
parallel where it can. Rounds are interleaved (check, diff, check, diff, ...) so load drifts hit both; each
round's ratio is diff / check. Medians from ONE invocation. Writes ``bench/results/diff.json``.
Run: ``.venv/bin/python bench/diff.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "diff.json"


def timed(args: list[str]) -> float:
    """Wall seconds of one real ``sahab`` process (exit 0 required)."""
    env = {**os.environ, "COLUMNS": "200"}
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "infra.cli.main", *args], capture_output=True, text=True,
                               cwd=ROOT, env=env, timeout=1200)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"sahab {' '.join(args)} exited {completed.returncode}:\n{completed.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    checks: list[float] = []
    diffs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sahab-bench-diff-") as scratch:
        work = Path(scratch)
        for round_ in range(options.repeats):
            checks.append(timed(["check", "--all", "--outdir", str(work / "out"), "--reports", str(work / "r1")]))
            diffs.append(timed(["diff", "--base", "HEAD", "--all", "--markdown", str(work / "d.md"),
                                "--reports", str(work / "r2")]))
            print(f"round {round_ + 1}: check {checks[-1]:.1f} s, diff {diffs[-1]:.1f} s", file=sys.stderr)
    ratios = [d / c for d, c in zip(diffs, checks)]
    result = {
        "benchmark": "sahab diff --base HEAD --all vs sahab check --all (anchor), interleaved rounds",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_1m": os.getloadavg()[0]},
        "check_all_s": {"median": statistics.median(checks), "runs": checks},
        "diff_all_s": {"median": statistics.median(diffs), "runs": diffs},
        "ratio_diff_over_check": {"median": statistics.median(ratios), "runs": ratios},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""N ingestor replicas in one consumer group on one machine: what a StatefulSet of N pods does in the cluster.

Each replica is its own ``sahab stream ingest`` process with its own state folder (``replica-<i>``), as each
pod has its own volume; the group spreads the partitions over them and moves them (with their state,
restored from the changelog topics) when one joins, leaves or dies. Used by tests and the benchmark, and
by an operator who wants to see a rebalance happen.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SAHAB = str(Path(sys.executable).with_name("sahab"))


def replica_command(env_name: str, index: int, options: Sequence[str]) -> list[str]:
    """The command line of replica ``index`` (options such as ``--until-caught-up`` are passed on)."""
    return [SAHAB, "stream", "ingest", "--env", env_name, "--replica", f"replica-{index}", *options]


def run_replicas(env_name: str, count: int, options: Sequence[str], *, poll_s: float = 0.2) -> int:
    """Run ``count`` replicas until all exit; SIGTERM/SIGINT are passed on to each. Returns the worst exit code."""
    processes = [subprocess.Popen(replica_command(env_name, index, options)) for index in range(count)]

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while any(process.poll() is None for process in processes):
            time.sleep(poll_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return max((process.returncode for process in processes), key=abs)

"""Start the training processes: in this process for one, under ``torchrun`` for several.

``torchrun`` gets an explicit c10d rendezvous on 127.0.0.1 and a free port, so nothing listens
beyond loopback and parallel runs on one machine never collide. While it runs, rank 0's epochs are
read back from ``progress.jsonl``; afterwards every rank's parameter digest must agree.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from environments.errors import CommandFailed
from environments.process_records import stop_child
from training.worker import DIGEST_PATTERN, PROGRESS_FILE, EpochReport, train_process

TORCHRUN_LOG = "torchrun.log"
POLL_INTERVAL_S = 0.2
LOG_TAIL_CHARS = 4000


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for the rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun_command(run_dir: Path, nproc: int, port: int, *, stop_after_epoch: int | None = None) -> list[str]:
    """The ``torchrun`` command line for ``nproc`` local processes (the same works in a Kubernetes Job)."""
    command = [
        sys.executable, "-m", "torch.distributed.run",
        "--nnodes=1", f"--nproc-per-node={nproc}",
        "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--local-addr=127.0.0.1",
        "--max-restarts=0",
        "-m", "training.worker", "--run-dir", str(run_dir),
    ]
    if stop_after_epoch is not None:
        command += ["--stop-after-epoch", str(stop_after_epoch)]
    return command


def run_training(
    run_dir: Path,
    *,
    nproc: int,
    on_epoch: Callable[[EpochReport], None] | None = None,
    stop_after_epoch: int | None = None,
    timeout_s: float = 3600.0,
) -> None:
    """Train the run in ``run_dir`` on ``nproc`` processes; raise ``CommandFailed`` if any rank fails."""
    if nproc == 1:
        train_process(run_dir, stop_after_epoch=stop_after_epoch, on_epoch=on_epoch)
        return
    _run_torchrun(run_dir, nproc, on_epoch, stop_after_epoch, timeout_s)
    if stop_after_epoch is None:
        check_ranks_agree(run_dir, nproc)


def check_ranks_agree(run_dir: Path, nproc: int) -> str:
    """The ranks' parameter digest, if all ranks wrote the same one; ``CommandFailed`` otherwise."""
    digests = {}
    for rank in range(nproc):
        path = Path(run_dir) / DIGEST_PATTERN.format(rank=rank)
        if not path.exists():
            raise CommandFailed(f"rank {rank} wrote no parameter digest ({path}); it did not finish training")
        digests[rank] = path.read_text().strip()
    if len(set(digests.values())) != 1:
        raise CommandFailed(f"the ranks ended with different parameters (digests {digests}); DDP did not synchronise")
    return digests[0]


def _run_torchrun(
    run_dir: Path,
    nproc: int,
    on_epoch: Callable[[EpochReport], None] | None,
    stop_after_epoch: int | None,
    timeout_s: float,
) -> None:
    command = torchrun_command(run_dir, nproc, free_loopback_port(), stop_after_epoch=stop_after_epoch)
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}  # see training.worker: one thread per rank
    environment.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo's peer connections stay on loopback
    log_path = run_dir / TORCHRUN_LOG
    progress_path = run_dir / PROGRESS_FILE
    reported = _line_count(progress_path)
    deadline = time.monotonic() + timeout_s
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        try:
            while process.poll() is None:
                reported = _report_new_epochs(progress_path, reported, on_epoch)
                if time.monotonic() > deadline:
                    raise CommandFailed(f"torchrun did not finish within {timeout_s:.0f} s; log: {log_path}")
                time.sleep(POLL_INTERVAL_S)
        finally:
            stop_child(process)
    _report_new_epochs(progress_path, reported, on_epoch)
    if process.returncode != 0:
        tail = log_path.read_text()[-LOG_TAIL_CHARS:]
        raise CommandFailed(f"torchrun exited {process.returncode} (command: {' '.join(command)}); log tail:\n{tail}")


def _line_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _report_new_epochs(path: Path, already: int, on_epoch: Callable[[EpochReport], None] | None) -> int:
    if not path.exists():
        return already
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    complete = lines[already:]
    for line in complete:
        try:
            report = EpochReport(**json.loads(line))
        except json.JSONDecodeError:
            return already  # a line still being written: read it on the next poll
        if on_epoch:
            on_epoch(report)
        already += 1
    return already

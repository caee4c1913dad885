"""Benchmark: training throughput (samples/s) on 1 and 2 CPU processes, and the scaling efficiency.

The local default data set (``environments/local.yaml``'s ``data`` sizes) is generated into a
temporary folder, joined through Feast once, and the same prepared run is trained from scratch
twice: in one process, and under ``torchrun`` with two gloo processes (global batch unchanged).
Throughput per epoch is rank 0's samples (all ranks together) over its epoch time; the first
epoch is left out as warm-up. Medians and p99 (nearest rank) over the remaining epochs of ONE
invocation, plus wall time including process start. Scaling efficiency =
median samples/s on 2 processes / (2 x median samples/s on 1 process).

The same pair is measured again with a large global batch (``--large-batch``, default 4096): a
tenth of the steps, so a tenth of the gradient all-reduces, which shows what synchronisation costs
on a model this small. The GPU is measured when CUDA is visible (``--device cuda``); without one it is recorded as not
measured. Writes ``bench/results/training.json``.
Run: ``.venv/bin/python bench/training.py [--epochs 8]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the ``training`` package; keep its folder off the path so imports find the package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "training.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-len(ordered) * q // 100)) - 1))]


def measure(prepared: Path, work: Path, label: str, nproc: int, device: str, batch_size: int) -> dict:
    """Train a fresh copy of the prepared run; per-epoch throughput without the first epoch."""
    from training.launch import run_training
    from training.worker import RunConfig

    run_dir = work / label
    shutil.copytree(prepared, run_dir)
    config = RunConfig.load(run_dir)
    # Every requested epoch runs: early stopping would end a throughput measurement at a data-dependent point.
    RunConfig(**{**config.__dict__, "device": device, "global_batch_size": batch_size, "patience": config.epochs}).save(run_dir)
    reports: list = []
    started = time.perf_counter()
    run_training(run_dir, nproc=nproc, on_epoch=reports.append, timeout_s=1800)
    wall = time.perf_counter() - started
    measured = reports[1:]
    rates = [report.samples / report.seconds for report in measured]
    seconds = [report.seconds for report in measured]
    return {
        "nproc": nproc,
        "device": device,
        "global_batch_size": batch_size,
        "epochs_measured": len(rates),
        "samples_per_epoch": reports[0].samples,
        "samples_per_second_median": statistics.median(rates),
        "epoch_seconds_median": statistics.median(seconds),
        "epoch_seconds_p99": percentile(seconds, 99),
        "wall_seconds_including_start": wall,
        "final_validation_pr_auc": reports[-1].validation_pr_auc,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8, help="Epochs per measurement (the first is warm-up).")
    parser.add_argument("--large-batch", type=int, default=4096, help="Global batch of the second, large-batch pair.")
    args = parser.parse_args()

    import torch

    from features.store import apply
    from environments import load_environment
    from training.data.offline import write_offline_store
    from training.dataset import build_training_set
    from training.pipeline import prepare_run

    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="sahab-bench-training-") as folder:
        work = Path(folder)
        base = load_environment("local")
        env = base.model_copy(update={
            "data_dir": str(work / "{name}"),
            "training": base.training.model_copy(update={"epochs": args.epochs}),
        })
        written = write_offline_store(env)
        apply(env)
        started = time.perf_counter()
        training_set = build_training_set(env)
        feast_join_seconds = time.perf_counter() - started
        prepared = work / "prepared"
        prepared.mkdir()
        prepare_run(env, prepared, training_set=training_set)

        batch = env.training.batch_size
        one = measure(prepared, work, "cpu-1", 1, "cpu", batch)
        two = measure(prepared, work, "cpu-2", 2, "cpu", batch)
        # Fewer, larger steps: the same data with a tenth of the all-reduces, to show what scaling costs.
        one_large = measure(prepared, work, "cpu-1-large", 1, "cpu", args.large_batch)
        two_large = measure(prepared, work, "cpu-2-large", 2, "cpu", args.large_batch)
        gpu: dict = {"measured": False, "reason": "no CUDA device visible to torch on this machine (no GPU lent)"}
        if torch.cuda.is_available():
            gpu = {"measured": True, **measure(prepared, work, "cuda-1", 1, "cuda", batch),
                   "device_name": torch.cuda.get_device_name(0)}

    result = {
        "benchmark": "training",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1_5_15_at_start": [round(v, 2) for v in load_at_start],
            "load_average_1_5_15_at_end": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
            "torch": torch.__version__,
            "note": "shared machine: other processes competed for the CPUs (see load averages)",
        },
        "data": {
            "transactions": written.transactions,
            "train_rows": len(training_set.train),
            "validation_rows": len(training_set.validation),
            "feast_point_in_time_join_seconds": feast_join_seconds,
        },
        "training": {
            "global_batch_size": env.training.batch_size,
            "epochs": args.epochs,
            "threads_per_process": 1,
        },
        "cpu_1_process": one,
        "cpu_2_processes": two,
        "scaling_efficiency_2_processes": two["samples_per_second_median"] / (2 * one["samples_per_second_median"]),
        "speedup_2_processes": two["samples_per_second_median"] / one["samples_per_second_median"],
        "large_batch": {
            "cpu_1_process": one_large,
            "cpu_2_processes": two_large,
            "scaling_efficiency_2_processes": two_large["samples_per_second_median"]
            / (2 * one_large["samples_per_second_median"]),
        },
        "gpu": gpu,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

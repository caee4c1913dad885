"""``torchrun --nproc-per-node=2`` on the CPU (gloo): ranks agree, and one process reaches the same place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ml_helpers import copy_run

from training.launch import check_ranks_agree, run_training, torchrun_command
from training.metrics import average_precision
from training.worker import ARRAYS_FILE, DIGEST_PATTERN, PROGRESS_FILE, EpochReport, load_final_model

#: Allowed |PR-AUC(2 processes) - PR-AUC(1 process)| on the held-out window. Both runs take the same
#: global batches in the same order (DistributedSampler with the same seed: rank r takes positions
#: r, r+2, ... of one permutation, so the two local batches of a step are the single run's batch), so
#: they differ only by floating-point summation order (gloo sums two half-batch gradients) and by the
#: one row drop_last removes when the training rows are odd; Adam amplifies such differences to about
#: 1e-2 in single weights, which moves PR-AUC on ~35 positives by well under 0.02.
PR_AUC_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def ddp_run(ml_prepared_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EpochReport]]:
    run_dir = copy_run(ml_prepared_run, tmp_path_factory.mktemp("ddp") / "run")
    epochs: list[EpochReport] = []
    run_training(run_dir, nproc=2, on_epoch=epochs.append, timeout_s=300)
    return run_dir, epochs


def validation_pr_auc(run_dir: Path) -> float:
    arrays = np.load(run_dir / ARRAYS_FILE)
    model = load_final_model(run_dir)
    with torch.no_grad():
        scores = model.probability(torch.from_numpy(arrays["validation_categorical"]),
                                   torch.from_numpy(arrays["validation_numeric"]))
    return average_precision(arrays["validation_label"], scores.numpy())


def test_both_ranks_end_with_bit_identical_parameters(ddp_run) -> None:
    run_dir, _ = ddp_run
    digests = [(run_dir / DIGEST_PATTERN.format(rank=rank)).read_text().strip() for rank in (0, 1)]
    assert len(digests[0]) == 64 and digests[0] == digests[1]
    assert check_ranks_agree(run_dir, 2) == digests[0]


def test_every_epoch_ran_on_a_world_of_two_and_reported_back(ddp_run, ml_env) -> None:
    run_dir, epochs = ddp_run
    assert [report.epoch for report in epochs] == list(range(1, ml_env.training.epochs + 1))
    assert {report.world_size for report in epochs} == {2}
    assert len((run_dir / PROGRESS_FILE).read_text().splitlines()) == ml_env.training.epochs


def test_one_process_with_the_same_seed_and_global_batch_reaches_a_comparable_metric(ddp_run, ml_single_run) -> None:
    distributed, single = validation_pr_auc(ddp_run[0]), validation_pr_auc(ml_single_run)
    assert abs(distributed - single) <= PR_AUC_TOLERANCE, (distributed, single)


def test_diverged_ranks_fail_the_run(tmp_path: Path) -> None:
    for rank, digest in enumerate(("a" * 64, "b" * 64)):
        (tmp_path / DIGEST_PATTERN.format(rank=rank)).write_text(digest)
    with pytest.raises(Exception, match="different parameters"):
        check_ranks_agree(tmp_path, 2)


def test_the_rendezvous_listens_on_loopback_only(tmp_path: Path) -> None:
    command = " ".join(torchrun_command(tmp_path, 2, 29999))
    assert "--rdzv-endpoint=127.0.0.1:29999" in command and "--local-addr=127.0.0.1" in command

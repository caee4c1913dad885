"""Checkpoints: a run interrupted after epoch k and resumed ends with the weights of one that never stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ml_helpers import copy_run

from training.launch import run_training
from training.worker import DIGEST_PATTERN, FINAL_MODEL_FILE, PROGRESS_FILE, latest_checkpoint

INTERRUPT_AFTER_EPOCH = 2


@pytest.fixture(scope="module")
def interrupted_run(ml_prepared_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = copy_run(ml_prepared_run, tmp_path_factory.mktemp("resume") / "run")
    run_training(run_dir, nproc=1, stop_after_epoch=INTERRUPT_AFTER_EPOCH)
    return run_dir


def test_an_interrupted_run_leaves_the_checkpoint_of_its_last_epoch_and_no_final_model(interrupted_run: Path) -> None:
    assert latest_checkpoint(interrupted_run).name == f"epoch-{INTERRUPT_AFTER_EPOCH:04d}.pt"
    assert not (interrupted_run / FINAL_MODEL_FILE).exists()


def test_resuming_trains_only_the_remaining_epochs_and_ends_with_the_uninterrupted_weights(
    interrupted_run: Path, ml_single_run: Path, ml_env
) -> None:
    resumed = copy_run(interrupted_run, interrupted_run.parent / "resumed")
    reports = []
    run_training(resumed, nproc=1, on_epoch=reports.append)
    assert [report.epoch for report in reports] == list(range(INTERRUPT_AFTER_EPOCH + 1, ml_env.training.epochs + 1))
    digest = (resumed / DIGEST_PATTERN.format(rank=0)).read_text()
    assert digest == (ml_single_run / DIGEST_PATTERN.format(rank=0)).read_text()
    epochs_logged = [json.loads(line)["epoch"] for line in (resumed / PROGRESS_FILE).read_text().splitlines()]
    assert epochs_logged == list(range(1, ml_env.training.epochs + 1))

"""Shared, session-scoped ML fixtures: one tiny data set, one Feast repository, one training set,
one trained run. Each is real (Feast's stores, torch, ONNX Runtime) and small enough that the whole
chain takes seconds; tests that train again copy the prepared run folder instead of rebuilding it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_helpers import copy_run, tiny_environment

from environments import Environment

@pytest.fixture(scope="session")
def ml_env(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    return tiny_environment(tmp_path_factory.mktemp("ml"))


@pytest.fixture(scope="session")
def ml_offline(ml_env: Environment):
    """The generated offline store of ``ml_env``."""
    from training.data.offline import write_offline_store

    return write_offline_store(ml_env)


@pytest.fixture(scope="session")
def ml_store(ml_env: Environment, ml_offline):
    """A Feast store with the repository applied over ``ml_offline``."""
    from features.store import apply, feature_store_for

    apply(ml_env)
    return feature_store_for(ml_env)


@pytest.fixture(scope="session")
def ml_training_set(ml_env: Environment, ml_store):
    from training.dataset import build_training_set

    return build_training_set(ml_env, ml_store)


@pytest.fixture(scope="session")
def ml_prepared_run(ml_env: Environment, ml_training_set, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with arrays, preprocessing and config, not trained yet (copy it before training)."""
    from training.pipeline import prepare_run

    run_dir = tmp_path_factory.mktemp("prepared-run")
    prepare_run(ml_env, run_dir, training_set=ml_training_set)
    return run_dir


@pytest.fixture(scope="session")
def ml_single_run(ml_prepared_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared run trained to the end in this process (one rank)."""
    from training.launch import run_training

    run_dir = copy_run(ml_prepared_run, tmp_path_factory.mktemp("single") / "run")
    run_training(run_dir, nproc=1)
    return run_dir


@pytest.fixture(scope="session")
def ml_exported(ml_single_run: Path, ml_training_set) -> dict:
    """The single-process run exported to ONNX + int8, with its held-out metrics."""
    from training.pipeline import evaluate_and_export

    return evaluate_and_export(ml_single_run, ml_training_set)

"""``train(env)``: Feast training set -> torch (1 or N processes) -> ONNX + int8 -> metrics -> signed version.

The steps, each its own module:

1. ``training.dataset``: point-in-time join through Feast, time split, preprocessor fitted on the
   training window, arrays written to the run folder;
2. ``training.launch`` / ``training.worker``: training, in this process or under torchrun, with
   checkpoints (a re-run with the same ``run_dir`` resumes);
3. ``training.export``: ONNX fp32 with the parity gate, int8 with the PR-AUC gate;
4. ``training.metrics`` on the held-out window, compared with the trivial baseline;
5. ``training.registry.register_version``: the export folder becomes a signed model version.

Runs live in ``<data path>/training/<run id>/``; the export folder inside holds exactly what a
version ships (``model.onnx``, ``model.int8.onnx``, ``preprocessing.json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from features.names import FRAUD_MODEL_FEATURE_SERVICE
from environments import Environment
from environments.errors import ConfigError
from training.data.generator import TRUE_PROBABILITY
from training.dataset import LABEL, build_training_set, save_arrays
from training.evaluation import gradient_boosted_pr_auc, yardsticks
from training.export import OPSET, export_and_check, predict_onnx
from training.launch import run_training
from training.manifest import PREPROCESSING_FILE
from training.metrics import classification_metrics
from training.model import ModelSpec
from training.worker import ARRAYS_FILE, EpochReport, RunConfig, load_final_model

EXPORT_DIR = "export"


@dataclass
class TrainingResult:
    """What a training run produced; ``version`` is ``None`` when registration was skipped."""

    run_dir: Path
    export_dir: Path
    metrics: dict[str, Any]
    epochs: list[EpochReport] = field(default_factory=list)
    version: Any = None


def runs_root(env: Environment) -> Path:
    return env.paths.training


def new_run_dir(env: Environment) -> Path:
    """``<data path>/training/run-<UTC time>``: a fresh folder per run."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = runs_root(env) / f"run-{stamp}"
    path.mkdir(parents=True)
    return path


def prepare_run(env: Environment, run_dir: Path, *, store=None, training_set=None) -> tuple[Any, RunConfig]:
    """Write the run's arrays, preprocessing and config (building the training set through Feast unless given)."""
    training_set = training_set or build_training_set(env, store)
    save_arrays(training_set, run_dir / ARRAYS_FILE)
    export_dir = run_dir / EXPORT_DIR
    export_dir.mkdir(exist_ok=True)
    (export_dir / PREPROCESSING_FILE).write_text(training_set.preprocessor.to_json())
    config = RunConfig(
        epochs=env.training.epochs,
        global_batch_size=env.training.batch_size,
        learning_rate=env.training.learning_rate,
        seed=env.training.seed,
        device=env.training.device,
        patience=env.training.patience,
        model=ModelSpec(
            vocabulary_sizes=training_set.preprocessor.vocabulary_sizes,
            numeric_width=len(training_set.preprocessor.numeric_names),
            members=env.training.ensemble_members,
        ),
    )
    config.save(run_dir)
    return training_set, config


def evaluate_and_export(run_dir: Path, training_set, *, gradient_boosted: bool = True, seed: int = 0) -> dict[str, Any]:
    """Export the finished run's model and compute every metric on the held-out window.

    ``gradient_boosted`` also fits the gradient-boosted baseline on the same inputs (``training.evaluation``).
    """
    model = load_final_model(run_dir)
    validation = training_set.validation
    inputs = training_set.preprocessor.transform(validation)
    labels = validation[LABEL].to_numpy(dtype=np.float64)
    report = export_and_check(model, inputs, labels, run_dir / EXPORT_DIR)
    scores = predict_onnx(report.fp32_path, inputs)
    fp32 = classification_metrics(labels, scores)
    positive_rate = fp32["positive_rate"]
    baseline = None
    if gradient_boosted:
        train_rows = training_set.train
        baseline = gradient_boosted_pr_auc(
            training_set.preprocessor.transform(train_rows), train_rows[LABEL].to_numpy(dtype=np.float64),
            inputs, labels, seed=seed,
        )
    truth = validation[TRUE_PROBABILITY].to_numpy(dtype=np.float64) if TRUE_PROBABILITY in validation else None
    measured = yardsticks(labels, scores, true_probability=truth, gradient_boosted=baseline)
    return {
        # Headline metrics at the top (``sahab models list`` shows these), all on the held-out window
        # and computed from the exported fp32 ONNX model, i.e. what serving runs.
        "pr_auc": fp32["pr_auc"],
        "roc_auc": fp32["roc_auc"],
        "ece": fp32["ece"],
        "brier_score": fp32["brier_score"],
        "positive_rate": positive_rate,
        "mean_probability": fp32["mean_probability"],
        "validation_rows": fp32["rows"],
        "validation_positives": fp32["positives"],
        "validation_start": training_set.validation_start.isoformat(),
        "train_rows": len(training_set.train),
        "train_positive_rate": float(training_set.train["is_fraud"].mean()),
        "baseline_pr_auc": positive_rate,  # a model that ranks at random
        "pr_auc_lift_over_baseline": fp32["pr_auc"] / positive_rate if positive_rate else float("nan"),
        **measured.to_metrics(),
        "report": measured.summary(),
        "onnx": {
            "opset": OPSET,
            "parity_max_abs_diff": report.parity_max_abs_diff,
            "int8_max_abs_diff": report.int8_max_abs_diff,
            "int8_pr_auc": report.int8_pr_auc,
            "int8_pr_auc_delta": report.int8_pr_auc_delta,
        },
    }


def train(
    env: Environment,
    *,
    nproc: int | None = None,
    device: str | None = None,
    register: bool = True,
    run_dir: Path | None = None,
    store=None,
    training_set=None,
    on_stage: Callable[[str], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> TrainingResult:
    """Train, export, evaluate and (by default) register a model version for ``env``.

    ``nproc`` and ``device`` override ``env.training``; ``run_dir`` reuses a folder (resuming from its
    checkpoints if it has any); ``training_set`` skips building it (two versions trained on the same rows).
    """
    overrides = {key: value for key, value in (("nproc", nproc), ("device", device)) if value is not None}
    if overrides:
        env = env.model_copy(update={"training": env.training.model_copy(update=overrides)})
    if env.training.device not in ("cpu", "cuda"):
        raise ConfigError(f"'device' must be cpu or cuda (value: {env.training.device!r})")
    require_device(env.training.device, env.training.nproc)
    say = on_stage or (lambda _message: None)
    run_dir = run_dir or new_run_dir(env)
    if training_set is None:
        say("building the training set (point-in-time join)")
    training_set, _config = prepare_run(env, run_dir, store=store, training_set=training_set)
    epochs: list[EpochReport] = []

    def record(report: EpochReport) -> None:
        epochs.append(report)
        if on_epoch:
            on_epoch(report)

    say(f"training on {env.training.nproc} {env.training.device} process(es)")
    run_training(run_dir, nproc=env.training.nproc, on_epoch=record)
    say("exporting to ONNX, checking parity, quantising to int8")
    metrics = evaluate_and_export(run_dir, training_set, gradient_boosted=env.training.gradient_boosted_baseline,
                                  seed=env.training.seed)
    metrics["training"] = {
        "nproc": env.training.nproc,
        "device": env.training.device,
        "epochs": env.training.epochs,
        "global_batch_size": env.training.batch_size,
        "learning_rate": env.training.learning_rate,
        "seed": env.training.seed,
        "samples_per_second": _samples_per_second(epochs),
    }
    result = TrainingResult(run_dir=run_dir, export_dir=run_dir / EXPORT_DIR, metrics=metrics, epochs=epochs)
    if register:
        from training.registry import register_version

        say("signing and registering the model version")
        result.version = register_version(
            env,
            result.export_dir,
            metrics=metrics,
            feature_service=FRAUD_MODEL_FEATURE_SERVICE,
            features=list(training_set.preprocessor.feature_columns),
            data_snapshot_sha256=training_set.snapshot_sha256,
        )
    return result


def require_device(device: str, nproc: int) -> None:
    """Refuse early (before the Feast join) a CUDA run without enough visible GPUs."""
    if device != "cuda":
        return
    import torch

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible < nproc:
        raise ConfigError(
            f"'--device cuda' with {nproc} process(es) needs {nproc} visible CUDA GPU(s); torch {torch.__version__} "
            f"sees {visible}. Use '--device cpu', or lower '--nproc'"
        )


def _samples_per_second(epochs: list[EpochReport]) -> float | None:
    """Training throughput over the epochs this run trained (the first included)."""
    seconds = sum(report.seconds for report in epochs)
    return sum(report.samples for report in epochs) / seconds if seconds else None

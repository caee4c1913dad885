"""``check_drift``: served traffic (the prediction log) against the training reference.

What is compared, per column, with PSI and KS (``drift_stats``):

| column                          | reference (training window)                      | current (prediction log)        |
|---------------------------------|--------------------------------------------------|---------------------------------|
| request fields (amount, channel, ...) | labelled transactions before the validation start | the logged model inputs   |
| ``fraud_model_v1`` features     | the same rows, point-in-time joined through Feast | the logged (online) features   |
| ``score@<version>``             | that version run on the reference rows           | that version's logged scores    |

Request fields and scores gate the verdict. The store features are always measured and shown,
but gate it only with ``drift.gate_on_store_features``: the online store holds each entity's
*latest* state, while training saw the state just before each transaction, so traffic replayed
against a store (as ``sahab up`` does) or a quiet hour shows skew there without any drift.

The reference rows are the ones the model trained on (``training.dataset.historical_rows``, the same
join training uses, limited to the training window the manifest records), sampled to
``drift.reference_rows`` and cached per data snapshot under ``<data>/reports/``. The score
reference is recomputed from the verified model, so it can never disagree with the version served.
``DriftResult.raise_if_drifted`` raises ``DriftDetected`` (exit 3): the hook for retrain or rollback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bento_services.drift_report import plot_column, render_html, write_report
from bento_services.drift_stats import ColumnDrift, column_drift, compare_frames
from bento_services.prediction_log import predictions_dir, read_predictions
from environments import Environment
from environments.errors import ConfigError, DriftDetected
from training.manifest import FP32_MODEL_FILE, PREPROCESSING_FILE

#: Seed of the reference sample: the same rows every run, so two reports are comparable.
REFERENCE_SAMPLE_SEED = 20260101


@dataclass(frozen=True)
class DriftResult:
    """Every column's statistics, the verdict, and where the report is."""

    columns: list[ColumnDrift]
    report_path: Path
    current_rows: int
    reference_rows: int
    since: datetime | None
    versions: list[str]

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_columns)

    def raise_if_drifted(self) -> None:
        if self.drifted:
            listed = "; ".join(f"{c.name}: {', '.join(c.reasons)}" for c in self.drifted_columns)
            raise DriftDetected(
                f"drift in {len(self.drifted_columns)} of {len(self.columns)} columns over {self.current_rows} "
                f"predictions ({listed}); report: {self.report_path}"
            )


def model_input_columns() -> list[str]:
    from features.names import FRAUD_MODEL_FEATURES, REQUEST_FIELDS

    return [*REQUEST_FIELDS, *FRAUD_MODEL_FEATURES]


def check_drift(
    env: Environment,
    *,
    since: datetime | None = None,
    report_path: Path | None = None,
    reference: pd.DataFrame | None = None,
) -> DriftResult:
    """Compare the predictions logged since ``since`` (all when None) with the training reference."""
    current = read_predictions(predictions_dir(env), since=since)
    minimum = env.drift.min_samples
    if len(current) < minimum:
        window = f"since {since.isoformat()}" if since else "in the log"
        raise ConfigError(
            f"drift needs at least drift.min_samples = {minimum} predictions; found {len(current)} {window} "
            f"({predictions_dir(env)}): send more traffic or widen --since"
        )
    versions = sorted(current["model_version"].unique())
    if reference is None:
        reference = reference_inputs(env, versions[-1])
    from features.names import FRAUD_MODEL_FEATURES

    columns = model_input_columns()
    results = [
        replace(c, gating=env.drift.gate_on_store_features) if c.name in FRAUD_MODEL_FEATURES else c
        for c in compare_frames(reference, current, columns, env.drift)
    ]
    plots = {c.name: plot_column(c, reference[c.name], current[c.name], env.drift.psi_bins) for c in results}
    for version in versions:
        served = current.loc[current["model_version"] == version, "score"]
        if len(served) < minimum:
            continue  # too few of this version's scores to judge; its inputs are already counted above
        expected = reference_scores(env, version, reference)
        name = f"score@{version}"
        score_drift = column_drift(name, expected, served.reset_index(drop=True), env.drift)
        results.append(score_drift)
        plots[name] = plot_column(score_drift, expected, served, env.drift.psi_bins)
    path = report_path or env.paths.reports / f"drift-{datetime.now(UTC):%Y%m%d-%H%M%S}.html"
    result = DriftResult(results, path, len(current), len(reference), since, versions)
    write_report(path, render_html(title=f"Sahab drift report: {env.name}", summary=_summary(env, result),
                                   columns=results, plots=plots))
    return result


def _summary(env: Environment, result: DriftResult) -> list[tuple[str, str]]:
    thresholds = env.drift
    return [
        ("verdict", f"DRIFT in {len(result.drifted_columns)} column(s)" if result.drifted else "no drift"),
        ("generated", datetime.now(UTC).isoformat(timespec="seconds")),
        ("window", f"since {result.since.isoformat()}" if result.since else "whole prediction log"),
        ("current rows", str(result.current_rows)),
        ("reference rows", f"{result.reference_rows} (training window)"),
        ("model versions served", ", ".join(result.versions)),
        ("thresholds", f"PSI > {thresholds.psi_threshold:g}; or KS p < {thresholds.ks_pvalue_threshold:g} "
                       f"and KS statistic > {thresholds.ks_statistic_threshold:g}"),
        ("gating columns", "request fields, scores" + (", store features" if thresholds.gate_on_store_features
                                                      else " (store features reported as skew only)")),
    ]


# ---- the training reference --------------------------------------------------------------------

def reference_inputs(env: Environment, version_ref: str) -> pd.DataFrame:
    """Model inputs of a sample of the training window of ``version_ref`` (cached per data snapshot)."""
    from training.registry import load_version

    manifest = load_version(env, version_ref).manifest
    cache = env.paths.reports / f"reference-{manifest.data_snapshot_sha256[:16]}-{env.drift.reference_rows}.parquet"
    if cache.is_file():
        return pd.read_parquet(cache)
    frame = _training_window_rows(env, manifest)
    cache.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(cache, index=False)
    return frame


def _training_window_rows(env: Environment, manifest: Any) -> pd.DataFrame:
    from features.names import TRANSACTIONS_FILE
    from features.store import feature_store_for
    from training.data.offline import offline_dir
    from training.dataset import historical_rows

    path = offline_dir(env) / TRANSACTIONS_FILE
    if not path.is_file():
        raise ConfigError(f"no training data at {path}: run 'sahab data generate --env {env.name}' first")
    transactions = pd.read_parquet(path)
    start = manifest.metrics.get("validation_start")
    if start:
        transactions = transactions[transactions["event_timestamp"] <= pd.Timestamp(start)]
    if len(transactions) > env.drift.reference_rows:
        transactions = transactions.sample(env.drift.reference_rows, random_state=REFERENCE_SAMPLE_SEED)
    rows = historical_rows(feature_store_for(env), transactions)
    return rows[model_input_columns()].reset_index(drop=True)


def reference_scores(env: Environment, version_id: str, reference: pd.DataFrame) -> pd.Series:
    """What ``version_id`` scores on the reference rows (verified model, same preprocessing as serving)."""
    from bento_services.fraud_scoring.model_runtime import OnnxRuntimeModel
    from training.preprocessing import Preprocessor
    from training.registry import load_version

    verified = load_version(env, version_id)
    preprocessor = Preprocessor.from_json(verified.read_artifact(PREPROCESSING_FILE).decode("utf-8"))
    model = OnnxRuntimeModel(verified.read_artifact(FP32_MODEL_FILE), env.serving)
    return pd.Series(model.run(preprocessor.transform(reference)), name=f"score@{version_id}")

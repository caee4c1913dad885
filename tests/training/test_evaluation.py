"""The training report's yardsticks: the bootstrap interval, the gradient-boosted baseline, the ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.generator import TRUE_PROBABILITY
from training.evaluation import Interval, Yardsticks, bootstrap_interval, gradient_boosted_pr_auc, yardsticks
from training.metrics import average_precision


def scored_rows(n: int = 20_000, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels drawn from a known probability, and a noisy score of it (a model weaker than the truth)."""
    rng = np.random.default_rng(seed)
    truth = 1.0 / (1.0 + np.exp(-(rng.normal(-4.5, 1.5, n))))
    labels = (rng.random(n) < truth).astype(float)
    scores = truth * np.exp(rng.normal(0.0, 0.8, n))
    return labels, scores, truth


def test_the_poisson_bootstrap_interval_matches_resampling_with_replacement() -> None:
    labels, scores, _ = scored_rows()
    interval = bootstrap_interval(labels, scores)
    rng = np.random.default_rng(9)
    classic = [average_precision(labels[i], scores[i]) for i in (rng.integers(0, len(labels), len(labels)) for _ in range(400))]
    low, high = np.quantile(classic, [0.025, 0.975])
    assert interval.low < average_precision(labels, scores) < interval.high
    assert interval.low == pytest.approx(low, abs=0.01) and interval.high == pytest.approx(high, abs=0.01)


def test_the_interval_narrows_with_more_rows_and_is_the_same_for_the_same_seed() -> None:
    small, large = scored_rows(5_000), scored_rows(40_000)
    narrow, wide = bootstrap_interval(*large[:2]), bootstrap_interval(*small[:2])
    assert narrow.high - narrow.low < (wide.high - wide.low) / 2  # about 1/sqrt(8) of the width
    assert bootstrap_interval(*small[:2]) == wide


def test_the_ceiling_is_the_true_probabilitys_pr_auc_and_a_weaker_score_is_below_it() -> None:
    labels, scores, truth = scored_rows()
    measured = yardsticks(labels, scores, true_probability=truth, gradient_boosted=0.2)
    assert measured.ceiling_pr_auc == average_precision(labels, truth)
    assert measured.pr_auc < measured.ceiling_pr_auc and 0 < measured.share_of_ceiling < 1
    assert measured.to_metrics()["share_of_ceiling"] == measured.share_of_ceiling


def test_the_summary_line_reads_as_the_issue_promised_and_says_when_the_ceiling_is_unknown() -> None:
    known = Yardsticks(0.262, Interval(0.232, 0.293), 0.270, 0.318)
    assert known.summary() == "PR-AUC 0.262 (0.232-0.293); gradient-boosted 0.270; ceiling 0.318 (82%)"
    unknown = Yardsticks(0.262, Interval(0.232, 0.293), None, None)
    assert unknown.summary() == "PR-AUC 0.262 (0.232-0.293); ceiling unknown (the data has no true probability)"
    assert unknown.share_of_ceiling is None


def test_the_gradient_boosted_baseline_learns_a_signal_and_beats_the_base_rate() -> None:
    rng = np.random.default_rng(4)
    n = 8_000
    categorical = rng.integers(1, 4, (n, 3))
    numeric = rng.normal(0, 1, (n, 4)).astype(np.float32)
    odds = -4.0 + 2.0 * numeric[:, 0] + 1.5 * (categorical[:, 1] == 3)
    labels = (rng.random(n) < 1 / (1 + np.exp(-odds))).astype(float)
    inputs = {"categorical": categorical, "numeric": numeric}
    half = n // 2
    split = [{name: array[:half] for name, array in inputs.items()}, {name: array[half:] for name, array in inputs.items()}]
    score = gradient_boosted_pr_auc(split[0], labels[:half], split[1], labels[half:], seed=0)
    assert score > 3 * labels[half:].mean()


def test_the_true_probability_travels_with_the_rows_but_is_never_a_model_input(ml_training_set) -> None:
    preprocessor = ml_training_set.preprocessor
    validation = ml_training_set.validation
    assert TRUE_PROBABILITY in validation.columns and TRUE_PROBABILITY not in preprocessor.feature_columns
    scrambled = validation.assign(**{TRUE_PROBABILITY: np.random.default_rng(0).random(len(validation))})
    for name, array in preprocessor.transform(validation).items():
        np.testing.assert_array_equal(array, preprocessor.transform(scrambled)[name])

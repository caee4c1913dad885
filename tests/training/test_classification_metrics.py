"""Metric implementations against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import average_precision, brier_score, classification_metrics, expected_calibration_error, roc_auc

LABELS = np.array([0, 0, 1, 1])
SCORES = np.array([0.1, 0.4, 0.35, 0.8])


def test_average_precision_matches_the_step_sum_worked_by_hand() -> None:
    # Ranked: 0.8 (pos) P=1 R=.5; 0.4 (neg); 0.35 (pos) P=2/3 R=1 -> 0.5*1 + 0.5*2/3
    assert average_precision(LABELS, SCORES) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_treats_tied_scores_as_one_threshold() -> None:
    assert average_precision(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_a_random_ranking_scores_about_the_positive_rate() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(200_000) < 0.02).astype(int)
    assert average_precision(labels, rng.random(len(labels))) == pytest.approx(labels.mean(), abs=0.003)


def test_roc_auc_is_the_share_of_correctly_ordered_pairs() -> None:
    assert roc_auc(LABELS, SCORES) == pytest.approx(0.75)


def test_perfectly_calibrated_bins_have_zero_ece() -> None:
    labels = np.array([0, 0, 0, 1] * 25)
    assert expected_calibration_error(labels, np.full(len(labels), 0.25)) == pytest.approx(0.0)


def test_brier_score_is_the_mean_squared_error() -> None:
    assert brier_score(np.array([0, 1]), np.array([0.2, 0.6])) == pytest.approx((0.04 + 0.16) / 2)


def test_metrics_without_positives_are_undefined_not_zero() -> None:
    metrics = classification_metrics(np.zeros(5), np.linspace(0, 1, 5))
    assert math.isnan(metrics["pr_auc"]) and math.isnan(metrics["roc_auc"])


def test_labels_other_than_zero_and_one_are_refused() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        average_precision(np.array([0, 2]), np.array([0.1, 0.2]))

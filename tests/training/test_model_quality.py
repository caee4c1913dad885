"""The trained model against the trivial baseline on the held-out window, and its calibration."""

from __future__ import annotations


def test_the_model_beats_the_random_baseline_on_the_held_out_window_by_a_wide_margin(ml_exported) -> None:
    # A model that ranks at random scores the positive rate; demand three times that.
    assert ml_exported["baseline_pr_auc"] == ml_exported["positive_rate"]
    assert ml_exported["pr_auc"] > 3 * ml_exported["positive_rate"]
    assert ml_exported["roc_auc"] > 0.7


def test_predicted_probabilities_are_calibrated_to_the_fraud_rate(ml_exported) -> None:
    assert abs(ml_exported["mean_probability"] - ml_exported["positive_rate"]) < 0.01
    assert ml_exported["ece"] < 0.02
    assert ml_exported["brier_score"] < ml_exported["positive_rate"]  # better than always predicting 0

"""Classification metrics for a rare positive class, in numpy (no scikit-learn in the stack).

PR-AUC (average precision) is the headline: with ~1.5% fraud, ROC-AUC flatters a weak model, while
average precision is compared against the positive rate, which is what a model that ranks at random
scores. Calibration (ECE, Brier) matters because serving returns probabilities that people threshold.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

CALIBRATION_BINS = 10


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as the step sum ``sum_n (R_n - R_{n-1}) P_n``.

    Tied scores are one threshold (as scikit-learn's ``average_precision_score`` does). With no
    positive the value is undefined: NaN.
    """
    labels, scores = _checked(labels, scores)
    positives = labels.sum()
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    predicted = last_of_tie + 1
    precision = true_positives / predicted
    recall = true_positives / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    labels, scores = _checked(labels, scores)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Mean |observed rate - mean predicted probability| over equal-width bins, weighted by bin size."""
    labels, probabilities = _checked(labels, probabilities)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    total = 0.0
    for index in range(bins):
        members = which == index
        if members.any():
            total += members.sum() * abs(labels[members].mean() - probabilities[members].mean())
    return float(total / len(labels))


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared error of the probabilities against the 0/1 labels."""
    labels, probabilities = _checked(labels, probabilities)
    return float(np.mean((probabilities - labels) ** 2))


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Every metric the model is judged on, for one set of predictions."""
    labels, probabilities = _checked(labels, probabilities)
    return {
        "pr_auc": average_precision(labels, probabilities),
        "roc_auc": roc_auc(labels, probabilities),
        "ece": expected_calibration_error(labels, probabilities),
        "brier_score": brier_score(labels, probabilities),
        "positive_rate": float(labels.mean()),
        "mean_probability": float(probabilities.mean()),
        "rows": int(len(labels)),
        "positives": int(labels.sum()),
    }


def _checked(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=np.float64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"labels and scores must have the same length ({len(labels)} != {len(scores)})")
    if len(labels) == 0:
        raise ValueError("metrics need at least one prediction")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return labels, scores

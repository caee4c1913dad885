"""The training report's yardsticks: how sure the headline is, what a strong standard model gets, and what the data allows.

A PR-AUC alone does not tell a user whether a model is good. Three numbers beside it do:

| number | what it answers | how |
|---|---|---|
| 95% interval | how much the PR-AUC would move on another sample of the same size | Poisson bootstrap over the validation rows (``BOOTSTRAP_RESAMPLES``, fixed seed) |
| gradient-boosted baseline | whether the network learns what a strong tabular model learns from the same inputs | scikit-learn's ``HistGradientBoostingClassifier`` on the model's own preprocessed inputs and training rows |
| ceiling | how much of the achievable the model reaches | the PR-AUC of the data's true probability, where the data has one (the demo generator's ``fraud_probability``) |

The summary line reads ``PR-AUC 0.262 (0.232-0.293); gradient-boosted 0.270; ceiling 0.318 (82%)``. Real data has no
true probability: the ceiling is then left out and said so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.metrics import average_precision

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
#: Resamples evaluated per numpy pass (a ``[chunk, rows]`` weight matrix: bounded memory at any size).
_CHUNK = 50


@dataclass(frozen=True)
class Interval:
    """A two-sided bootstrap interval of a metric."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.low:.3f}-{self.high:.3f}"


@dataclass(frozen=True)
class Yardsticks:
    """The numbers printed beside a model's PR-AUC and recorded in its manifest."""

    pr_auc: float
    pr_auc_interval: Interval
    gradient_boosted_pr_auc: float | None
    ceiling_pr_auc: float | None

    @property
    def share_of_ceiling(self) -> float | None:
        """The model's PR-AUC as a share of the ceiling (``None`` without one)."""
        return self.pr_auc / self.ceiling_pr_auc if self.ceiling_pr_auc else None

    def summary(self) -> str:
        """One line: ``PR-AUC 0.262 (0.232-0.293); gradient-boosted 0.270; ceiling 0.318 (82%)``."""
        parts = [f"PR-AUC {self.pr_auc:.3f} ({self.pr_auc_interval})"]
        if self.gradient_boosted_pr_auc is not None:
            parts.append(f"gradient-boosted {self.gradient_boosted_pr_auc:.3f}")
        share = self.share_of_ceiling
        parts.append(f"ceiling {self.ceiling_pr_auc:.3f} ({share:.0%})" if share is not None
                     else "ceiling unknown (the data has no true probability)")
        return "; ".join(parts)

    def to_metrics(self) -> dict[str, float | list[float] | None]:
        """The manifest's fields (``metrics.json``)."""
        return {
            "pr_auc_interval_95": [self.pr_auc_interval.low, self.pr_auc_interval.high],
            "gradient_boosted_pr_auc": self.gradient_boosted_pr_auc,
            "ceiling_pr_auc": self.ceiling_pr_auc,
            "share_of_ceiling": self.share_of_ceiling,
        }


def bootstrap_interval(
    labels: np.ndarray, scores: np.ndarray, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> Interval:
    """The ``CONFIDENCE`` interval of the average precision of ``scores`` over bootstrap resamples of the rows.

    Poisson bootstrap: each row is drawn ``Poisson(1)`` times, which for thousands of rows is the classic
    resampling with replacement, and lets every resample reuse one sort (tied scores stay one threshold, as in
    ``training.metrics.average_precision``).
    """
    labels = np.asarray(labels, dtype=np.float64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-scores, kind="mergesort")
    sorted_labels = labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores[order])), len(scores) - 1]
    rng = np.random.default_rng(seed)
    values: list[np.ndarray] = []
    for start in range(0, resamples, _CHUNK):
        weights = rng.poisson(1.0, (min(_CHUNK, resamples - start), len(labels))).astype(np.float64)
        true_positives = np.cumsum(weights * sorted_labels, axis=1)[:, last_of_tie]
        predicted = np.cumsum(weights, axis=1)[:, last_of_tie]
        positives = true_positives[:, -1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(predicted > 0, true_positives / predicted, 0.0)
            recall = true_positives / positives
        steps = np.diff(np.concatenate([np.zeros((len(recall), 1)), recall], axis=1), axis=1)
        ap = np.sum(steps * precision, axis=1)
        values.append(ap[positives[:, 0] > 0])  # a resample without a positive has no PR-AUC
    drawn = np.concatenate(values)
    tail = (1.0 - CONFIDENCE) / 2.0
    return Interval(float(np.quantile(drawn, tail)), float(np.quantile(drawn, 1.0 - tail)))


def gradient_boosted_pr_auc(
    train_inputs: dict[str, np.ndarray], train_labels: np.ndarray,
    validation_inputs: dict[str, np.ndarray], validation_labels: np.ndarray, *, seed: int,
) -> float:
    """PR-AUC on the validation rows of a gradient-boosted model fitted on the training rows' model inputs.

    The same two ONNX inputs the network reads (categorical indices, standardised numerics), so the comparison
    is about the learner, not the features. Early stopping on 10% of the training rows.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    def matrix(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return np.hstack([inputs["categorical"].astype(np.float64), inputs["numeric"].astype(np.float64)])

    categorical = np.arange(train_inputs["categorical"].shape[1])
    model = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=500, early_stopping=True, validation_fraction=0.1, n_iter_no_change=30,
        categorical_features=categorical, random_state=seed,
    )
    model.fit(matrix(train_inputs), train_labels)
    return average_precision(validation_labels, model.predict_proba(matrix(validation_inputs))[:, 1])


def yardsticks(
    labels: np.ndarray, scores: np.ndarray, *, true_probability: np.ndarray | None, gradient_boosted: float | None,
) -> Yardsticks:
    """The model's PR-AUC on the validation rows with its interval, the baseline given, and the ceiling if known."""
    ceiling = average_precision(labels, true_probability) if true_probability is not None else None
    return Yardsticks(
        pr_auc=average_precision(labels, scores),
        pr_auc_interval=bootstrap_interval(labels, scores),
        gradient_boosted_pr_auc=gradient_boosted,
        ceiling_pr_auc=ceiling,
    )


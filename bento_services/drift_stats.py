"""Drift statistics between a reference sample (training data) and a current one (served traffic).

Per column: the Population Stability Index over quantile bins of the reference (categories for
categorical columns) and, for numeric columns, the two-sample Kolmogorov-Smirnov test. KS is not
defined for unordered categories, so categorical columns are judged by PSI alone.

PSI = sum over bins of (cur - ref) * ln(cur / ref), with proportions floored at ``PSI_EPSILON`` so
that an empty bin does not make it infinite. Rules of thumb: < 0.1 stable, 0.1-0.2 moderate,
> 0.2 significant (the default threshold).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from environments import DriftConfig

PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class ColumnDrift:
    """One column's statistics and whether (and why) it counts as drifted."""

    name: str
    kind: str  # "numeric" or "categorical"
    psi: float
    ks_statistic: float | None
    ks_pvalue: float | None
    reference_rows: int
    current_rows: int
    reasons: list[str] = field(default_factory=list)
    gating: bool = True  # False: reported, but a crossed threshold does not fail the check

    @property
    def crossed(self) -> bool:
        """A threshold was crossed (whether or not this column gates the verdict)."""
        return bool(self.reasons)

    @property
    def drifted(self) -> bool:
        """A crossed threshold on a gating column: what fails ``sahab drift``."""
        return self.gating and self.crossed


def is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def numeric_bin_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner quantile edges of the reference (duplicates dropped: heavy ties give fewer bins)."""
    quantiles = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    share = counts / total if total else np.zeros_like(counts, dtype=float)
    return np.maximum(share, PSI_EPSILON)


def psi_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    ref = _proportions(np.asarray(reference_counts, dtype=float))
    cur = _proportions(np.asarray(current_counts, dtype=float))
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_psi(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    edges = numeric_bin_edges(reference, bins)
    ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    return psi_from_counts(ref_counts, cur_counts)


def categorical_psi(reference: pd.Series, current: pd.Series) -> float:
    ref_counts = reference.astype(str).value_counts()
    cur_counts = current.astype(str).value_counts()
    categories = sorted(set(ref_counts.index) | set(cur_counts.index))
    return psi_from_counts(ref_counts.reindex(categories, fill_value=0).to_numpy(),
                           cur_counts.reindex(categories, fill_value=0).to_numpy())


def column_drift(name: str, reference: pd.Series, current: pd.Series, config: DriftConfig) -> ColumnDrift:
    """Statistics for one column; missing values are left out of both samples."""
    reference, current = reference.dropna(), current.dropna()
    reasons: list[str] = []
    if is_categorical(reference) or is_categorical(current):
        psi = categorical_psi(reference, current)
        ks_statistic = ks_pvalue = None
        kind = "categorical"
    else:
        ref = reference.to_numpy(dtype=float)
        cur = current.to_numpy(dtype=float)
        psi = numeric_psi(ref, cur, config.psi_bins)
        result = stats.ks_2samp(ref, cur)
        ks_statistic, ks_pvalue = float(result.statistic), float(result.pvalue)
        kind = "numeric"
        if ks_pvalue < config.ks_pvalue_threshold and ks_statistic > config.ks_statistic_threshold:
            reasons.append(
                f"KS statistic {ks_statistic:.3f} > {config.ks_statistic_threshold:g} "
                f"with p-value {ks_pvalue:.2g} < {config.ks_pvalue_threshold:g}"
            )
    if psi > config.psi_threshold:
        reasons.insert(0, f"PSI {psi:.3f} > {config.psi_threshold:g}")
    return ColumnDrift(name, kind, psi, ks_statistic, ks_pvalue, len(reference), len(current), reasons)


def compare_frames(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], config: DriftConfig) -> list[ColumnDrift]:
    """Drift of every named column; a column missing from either frame is an error naming it."""
    missing = [c for c in columns if c not in reference.columns or c not in current.columns]
    if missing:
        from environments.errors import ConfigError

        raise ConfigError(
            f"drift columns {missing} are missing from the "
            f"{'reference' if any(c not in reference.columns for c in missing) else 'prediction log'}"
        )
    return [column_drift(c, reference[c], current[c], config) for c in columns]

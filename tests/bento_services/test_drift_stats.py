"""PSI and KS per column: stable samples pass, shifted ones are flagged with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bento_services.drift_stats import categorical_psi, column_drift, compare_frames, numeric_psi
from environments import DriftConfig
from environments.errors import ConfigError

RNG = np.random.default_rng(3)
REFERENCE = RNG.lognormal(4.0, 1.0, 20_000)


def test_psi_of_a_sample_from_the_same_distribution_is_near_zero() -> None:
    assert numeric_psi(REFERENCE, RNG.lognormal(4.0, 1.0, 2_000), bins=10) < 0.02


def test_psi_of_a_shifted_sample_is_large() -> None:
    assert numeric_psi(REFERENCE, RNG.lognormal(5.0, 1.0, 2_000), bins=10) > 0.5


def test_psi_matches_the_textbook_formula_on_known_counts() -> None:
    # Two categories, 50/50 vs 80/20: (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5) = 0.4159...
    ref = pd.Series(["x"] * 50 + ["y"] * 50)
    cur = pd.Series(["x"] * 80 + ["y"] * 20)
    assert categorical_psi(ref, cur) == pytest.approx(0.3 * np.log(1.6) + 0.3 * np.log(2.5), rel=1e-6)


def test_numeric_column_reports_ks_and_is_stable_on_same_distribution() -> None:
    drift = column_drift("amount_aed", pd.Series(REFERENCE), pd.Series(RNG.lognormal(4.0, 1.0, 2_000)), DriftConfig())
    assert drift.kind == "numeric" and drift.ks_pvalue is not None and not drift.drifted


def test_shifted_numeric_column_is_drifted_with_psi_and_ks_reasons() -> None:
    drift = column_drift("amount_aed", pd.Series(REFERENCE), pd.Series(RNG.lognormal(5.0, 1.0, 2_000)), DriftConfig())
    assert drift.drifted
    assert drift.reasons[0].startswith("PSI ") and drift.reasons[1].startswith("KS statistic ")


def test_a_significant_but_tiny_ks_shift_is_not_drift() -> None:
    # 3% scale change on 20k rows: p-value tiny, statistic small; the effect-size rule keeps it stable.
    big = RNG.normal(0.0, 1.0, 20_000)
    drift = column_drift("x", pd.Series(big), pd.Series(RNG.normal(0.05, 1.0, 20_000)), DriftConfig())
    assert drift.ks_pvalue is not None and drift.ks_pvalue < 0.01
    assert not drift.drifted


def test_categorical_and_boolean_columns_use_psi_only() -> None:
    ref = pd.Series([True, False] * 500)
    drift = column_drift("is_cross_border", ref, pd.Series([True] * 900 + [False] * 100), DriftConfig())
    assert drift.kind == "categorical" and drift.ks_statistic is None and drift.drifted


def test_missing_columns_are_named() -> None:
    with pytest.raises(ConfigError, match=r"\['hour'\] are missing from the prediction log"):
        compare_frames(pd.DataFrame({"hour": [1]}), pd.DataFrame({"x": [1]}), ["hour"], DriftConfig())

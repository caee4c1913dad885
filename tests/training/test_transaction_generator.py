"""The seeded transaction generator: contract schema, realism that training relies on, drift, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from environments import DataConfig
from training.data.generator import CATEGORY_NAMES, COLUMNS, generate_transactions

SMALL = DataConfig(customers=400, merchants=40, days=14, seed=3)


@pytest.fixture(scope="module")
def default_transactions() -> pd.DataFrame:
    """The local default data set (2,000 customers x 35 days), generated once for this module."""
    return generate_transactions(DataConfig())


def test_the_same_seed_generates_identical_transactions() -> None:
    pd.testing.assert_frame_equal(generate_transactions(SMALL), generate_transactions(SMALL))


def test_a_different_seed_generates_different_transactions() -> None:
    other = generate_transactions(SMALL.model_copy(update={"seed": 4}))
    assert not generate_transactions(SMALL)[["customer_id", "amount_aed"]].equals(other[["customer_id", "amount_aed"]])


def test_columns_types_and_id_formats_follow_the_transaction_record_contract(default_transactions) -> None:
    frame = default_transactions
    assert tuple(frame.columns) == COLUMNS
    assert str(frame["event_timestamp"].dt.tz) == "UTC"
    assert frame["transaction_id"].is_unique
    assert frame["customer_id"].str.fullmatch(r"c\d{6}").all()
    assert frame["merchant_id"].str.fullmatch(r"m\d{4}").all()
    assert set(frame["channel"]) == {"pos", "ecommerce", "mobile_wallet"}
    assert set(frame["merchant_category"]) <= set(CATEGORY_NAMES)
    assert frame["is_fraud"].isin([0, 1]).all() and frame["is_cross_border"].dtype == bool
    assert (frame["amount_aed"] > 0).all()
    assert frame["event_timestamp"].is_monotonic_increasing


def test_hour_is_the_asia_dubai_hour_of_the_timestamp(default_transactions) -> None:
    dubai_hour = default_transactions["event_timestamp"].dt.tz_convert("Asia/Dubai").dt.hour
    assert (dubai_hour == default_transactions["hour"]).all()


def test_the_default_data_set_has_between_one_and_three_percent_fraud(default_transactions) -> None:
    assert 0.01 <= default_transactions["is_fraud"].mean() <= 0.03


def test_amounts_are_heavy_tailed(default_transactions) -> None:
    amounts = default_transactions["amount_aed"]
    assert amounts.quantile(0.999) > 50 * amounts.median()
    assert amounts.mean() > 2 * amounts.median()


def test_nights_are_quiet_and_evenings_busy_on_the_dubai_clock(default_transactions) -> None:
    by_hour = default_transactions.groupby("hour").size()
    assert by_hour.loc[[2, 3, 4]].sum() * 10 < by_hour.loc[[19, 20, 21]].sum()


def test_fraud_is_likelier_cross_border_and_in_risky_categories(default_transactions) -> None:
    frame = default_transactions
    rate = frame.groupby("is_cross_border")["is_fraud"].mean()
    assert rate[True] > 3 * rate[False]
    by_category = frame.groupby("merchant_category")["is_fraud"].mean()
    assert by_category[["electronics", "jewellery", "travel"]].min() > 3 * by_category[["grocery", "fuel"]].max()


def test_account_takeovers_show_up_as_bursts_of_fraud_minutes_apart(default_transactions) -> None:
    frame = default_transactions.sort_values(["customer_id", "event_timestamp"])
    gap = frame.groupby("customer_id")["event_timestamp"].diff()
    quick_follow_up = gap < pd.Timedelta(minutes=10)
    assert frame.loc[quick_follow_up, "is_fraud"].mean() > 5 * frame["is_fraud"].mean()


def test_drift_raises_amounts_and_moves_the_category_mix_to_online_and_electronics() -> None:
    normal, drifted = generate_transactions(SMALL), generate_transactions(SMALL, drift=True)
    assert drifted["amount_aed"].median() > 1.4 * normal["amount_aed"].median()
    shifted = ["electronics", "online_services"]
    assert drifted["merchant_category"].isin(shifted).mean() > normal["merchant_category"].isin(shifted).mean() + 0.1
    assert (drifted["channel"] == "ecommerce").mean() > (normal["channel"] == "ecommerce").mean()


def test_drift_keeps_the_same_customers_and_merchants_but_never_reuses_transaction_ids() -> None:
    normal, drifted = generate_transactions(SMALL), generate_transactions(SMALL, drift=True)
    assert set(drifted["customer_id"]) <= {f"c{i:06d}" for i in range(SMALL.customers)}
    assert set(drifted["merchant_id"]) <= {f"m{i:04d}" for i in range(SMALL.merchants)}
    assert not set(drifted["transaction_id"]) & set(normal["transaction_id"])


def test_sizes_follow_the_data_config() -> None:
    frame = generate_transactions(SMALL)
    span_days = (frame["event_timestamp"].max() - frame["event_timestamp"].min()) / pd.Timedelta(days=1)
    expected = SMALL.customers * SMALL.days * SMALL.transactions_per_customer_per_day
    assert 0.8 * expected < len(frame) < 1.2 * expected
    assert SMALL.days - 1 < span_days <= SMALL.days
    assert np.isin(frame["customer_id"].unique(), [f"c{i:06d}" for i in range(SMALL.customers)]).all()


def test_the_smallest_allowed_sizes_still_generate_valid_transactions() -> None:
    frame = generate_transactions(DataConfig(customers=10, merchants=5, days=8, seed=1))
    assert len(frame) > 0 and frame["merchant_id"].isin([f"m{i:04d}" for i in range(5)]).all()
    assert (frame["amount_aed"] > 0).all()

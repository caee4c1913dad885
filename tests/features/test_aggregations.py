"""The shared aggregate definitions: windows, boundaries, late events, and the merchant snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from features.aggregations import (
    CUSTOMER_FEATURES,
    MERCHANT_RATE_PRIOR,
    customer_features_as_of,
    merchant_risk_snapshots,
)

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def txn(minutes_before: float, amount: float) -> dict:
    return {"event_timestamp": T0 - timedelta(minutes=minutes_before), "amount_aed": amount}


def test_the_transaction_at_as_of_counts_and_later_ones_do_not() -> None:
    history = [txn(0, 100.0), txn(-5, 999.0)]  # the second is five minutes *after* as_of (a late arrival)
    features = customer_features_as_of(history, T0)
    assert features["txn_count_1h"] == 1
    assert features["amount_sum_1h_aed"] == 100.0
    assert features["amount_max_7d_aed"] == 100.0


def test_each_window_counts_only_events_strictly_inside_its_width() -> None:
    history = [
        txn(60, 1.0),  # exactly one hour before: outside (as_of - 1h, as_of]
        txn(59, 2.0),
        txn(24 * 60 - 1, 4.0),
        txn(24 * 60, 8.0),  # exactly 24 h before: outside the 24 h window, inside 7 d
        txn(7 * 24 * 60 - 1, 16.0),
        txn(7 * 24 * 60, 32.0),  # exactly 7 d before: outside every window
    ]
    features = customer_features_as_of(history, T0)
    assert (features["txn_count_1h"], features["txn_count_24h"], features["txn_count_7d"]) == (1, 3, 5)
    assert features["amount_sum_1h_aed"] == 2.0
    assert features["amount_sum_24h_aed"] == 1.0 + 2.0 + 4.0
    assert features["amount_mean_7d_aed"] == pytest.approx((1 + 2 + 4 + 8 + 16) / 5)
    assert features["amount_max_7d_aed"] == 16.0


def test_history_order_does_not_matter() -> None:
    history = [txn(30, 5.0), txn(200, 7.0), txn(3, 11.0), txn(2000, 13.0)]
    assert customer_features_as_of(history, T0) == customer_features_as_of(list(reversed(history)), T0)


def test_an_empty_history_gives_zeros_for_every_feature() -> None:
    features = customer_features_as_of([], T0)
    assert set(features) == set(CUSTOMER_FEATURES)
    assert all(value == 0 for value in features.values())


def test_records_may_be_objects_with_attributes_or_iso_strings() -> None:
    @dataclass
    class Event:
        event_timestamp: datetime
        amount_aed: float

    as_dicts = customer_features_as_of([txn(10, 3.0)], T0)
    as_objects = customer_features_as_of([Event(T0 - timedelta(minutes=10), 3.0)], T0)
    as_strings = customer_features_as_of([{"event_timestamp": (T0 - timedelta(minutes=10)).isoformat(), "amount_aed": 3}], T0)
    assert as_dicts == as_objects == as_strings


def test_a_timestamp_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="event_timestamp"):
        customer_features_as_of([{"event_timestamp": datetime(2026, 1, 1), "amount_aed": 1.0}], T0)


def test_merchant_snapshot_uses_only_transactions_strictly_before_it() -> None:
    snapshot = pd.Timestamp("2026-01-10", tz="UTC")
    transactions = pd.DataFrame(
        {
            "merchant_id": ["m0001"] * 3,
            "event_timestamp": [snapshot - pd.Timedelta(days=1), snapshot, snapshot + pd.Timedelta(hours=1)],
            "is_fraud": [0, 1, 1],
        }
    )
    row = merchant_risk_snapshots(transactions, [snapshot], ["m0001"]).iloc[0]
    assert row["merchant_txn_count_7d"] == 1
    assert row["merchant_fraud_rate_30d"] < MERCHANT_RATE_PRIOR  # the frauds at and after the snapshot are unseen


def test_a_quiet_merchant_reads_the_prior_rate_and_a_zero_count() -> None:
    snapshot = pd.Timestamp("2026-01-10", tz="UTC")
    transactions = pd.DataFrame({"merchant_id": ["m0001"], "event_timestamp": [snapshot - pd.Timedelta(days=2)], "is_fraud": [1]})
    frame = merchant_risk_snapshots(transactions, [snapshot], ["m0001", "m0002"]).set_index("merchant_id")
    assert frame.loc["m0002", "merchant_fraud_rate_30d"] == pytest.approx(MERCHANT_RATE_PRIOR)
    assert frame.loc["m0002", "merchant_txn_count_7d"] == 0
    assert frame.loc["m0001", "merchant_fraud_rate_30d"] > MERCHANT_RATE_PRIOR


def test_merchant_fraud_rate_forgets_transactions_older_than_thirty_days() -> None:
    snapshot = pd.Timestamp("2026-03-01", tz="UTC")
    transactions = pd.DataFrame(
        {"merchant_id": ["m0001"] * 2, "event_timestamp": [snapshot - pd.Timedelta(days=31)] * 2, "is_fraud": [1, 1]}
    )
    row = merchant_risk_snapshots(transactions, [snapshot], ["m0001"]).iloc[0]
    assert row["merchant_fraud_rate_30d"] == pytest.approx(MERCHANT_RATE_PRIOR)


def test_every_model_feature_states_a_bound_that_overrides_are_held_to() -> None:
    from features.names import FEATURE_MAXIMA, FRAUD_MODEL_FEATURES

    assert set(FEATURE_MAXIMA) == set(FRAUD_MODEL_FEATURES) and all(m > 0 for m in FEATURE_MAXIMA.values())
    assert FEATURE_MAXIMA["merchant_fraud_rate_30d"] == 1.0
    assert FEATURE_MAXIMA["amount_max_7d_aed"] == 10_000_000  # the largest amount the scoring API accepts

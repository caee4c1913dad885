"""The shared aggregate definitions: windows, boundaries, late events, and the merchant snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from features.aggregations import (
    CUSTOMER_FEATURES,
    MAX_RECENT_EVENTS,
    MERCHANT_RATE_PRIOR,
    NO_PREVIOUS_SECONDS,
    customer_features_at,
    merchant_risk_snapshots,
    recent_event,
    recent_events_as_of,
    to_micros,
    unpack_events,
)

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def txn(minutes_before: float, amount: float, channel: str = "pos", is_cross_border: bool = False) -> dict:
    return {"event_timestamp": T0 - timedelta(minutes=minutes_before), "amount_aed": amount, "channel": channel,
            "is_cross_border": is_cross_border}


def row_of(*records: dict, as_of: datetime | None = None) -> dict:
    """The stored row of a customer with ``records``, as of the latest of them (or ``as_of``)."""
    events = sorted(recent_event(record) for record in records)
    return recent_events_as_of(events, to_micros(as_of) if as_of else events[-1][0])


def test_the_transaction_at_the_scoring_instant_and_later_ones_do_not_count() -> None:
    row = row_of(txn(10, 100.0), txn(0, 555.0), txn(-5, 999.0))  # at T0 itself (being scored), and 5 min after
    features = customer_features_at(row, T0)
    assert (features["txn_count_1h"], features["amount_sum_1h_aed"], features["amount_max_7d_aed"]) == (1, 100.0, 100.0)
    assert features["seconds_since_previous_txn"] == 600.0


def test_each_window_counts_only_events_strictly_inside_its_width_before_the_instant() -> None:
    row = row_of(
        txn(60, 1.0),  # exactly one hour before: outside (T - 1h, T)
        txn(59, 2.0, channel="ecommerce"),
        txn(119, 64.0, is_cross_border=True),
        txn(120, 128.0),  # exactly two hours before: outside
        txn(24 * 60 - 1, 4.0),
        txn(24 * 60, 8.0),  # exactly 24 h before: outside the 24 h window, inside 7 d
        txn(7 * 24 * 60 - 1, 16.0),
        txn(7 * 24 * 60, 32.0),  # exactly 7 d before: outside every window
        as_of=T0,
    )
    features = customer_features_at(row, T0)
    assert (features["txn_count_1h"], features["txn_count_2h"], features["txn_count_24h"], features["txn_count_7d"]) == (
        1, 3, 5, 7)
    assert (features["ecommerce_count_2h"], features["cross_border_count_2h"]) == (1, 1)
    assert features["amount_sum_1h_aed"] == 2.0
    assert features["amount_sum_2h_aed"] == 1.0 + 2.0 + 64.0
    assert features["amount_max_2h_aed"] == 64.0
    assert features["amount_sum_24h_aed"] == 1.0 + 2.0 + 64.0 + 128.0 + 4.0
    assert features["amount_mean_7d_aed"] == pytest.approx((1 + 2 + 64 + 128 + 4 + 8 + 16) / 7)
    assert features["amount_max_7d_aed"] == 128.0
    assert features["seconds_since_previous_txn"] == 59 * 60.0


def test_the_same_row_read_at_a_later_instant_ages_its_windows() -> None:
    row = row_of(txn(10, 5.0), txn(20, 7.0))
    later = customer_features_at(row, T0 + timedelta(minutes=55))  # the events are now 65 and 75 minutes old
    assert (later["txn_count_1h"], later["txn_count_2h"], later["seconds_since_previous_txn"]) == (0, 2, 65 * 60.0)


def test_a_row_keeps_two_weeks_before_its_time_and_at_most_the_latest_events() -> None:
    row = row_of(txn(14 * 24 * 60 + 10, 1.0), txn(8 * 24 * 60, 2.0), txn(5, 3.0))  # two weeks and 5 min, 8 days before
    assert unpack_events(row["recent_events"])["amount_aed"].tolist() == [2.0, 3.0]  # the one older than two weeks is gone


def test_a_row_scores_any_instant_of_the_week_before_it_exactly() -> None:
    """A row as of E reaches two weeks back, so features at any T >= E - 7 d equal those from the full history."""
    history = [txn(minutes, float(minutes)) for minutes in (12 * 24 * 60, 9 * 24 * 60, 3 * 24 * 60, 24 * 60, 90, 30, 0)]
    full = sorted(recent_event(record) for record in history)
    latest_row = recent_events_as_of(full, full[-1][0])
    for at in (T0 - timedelta(days=7), T0 - timedelta(hours=20), T0 - timedelta(minutes=45), T0):
        exact = recent_events_as_of([event for event in full if event[0] < to_micros(at)], to_micros(at))
        assert customer_features_at(latest_row, at) == customer_features_at(exact, at), at
    times = unpack_events(row_of(*(txn(minutes, 1.0) for minutes in range(MAX_RECENT_EVENTS + 10)))["recent_events"])["time_us"]
    assert len(times) == MAX_RECENT_EVENTS
    assert times.tolist() == sorted(times.tolist()) and times[-1] == to_micros(T0)


def test_a_customer_without_a_row_or_quiet_for_a_week_reads_an_empty_week() -> None:
    assert customer_features_at(None, T0) == customer_features_at(row_of(txn(0, 5.0)), T0)  # only itself: no history
    assert customer_features_at(None, T0)["seconds_since_previous_txn"] == NO_PREVIOUS_SECONDS
    quiet = customer_features_at(row_of(txn(8 * 24 * 60, 9.0), as_of=T0 - timedelta(days=8)), T0)
    assert quiet["seconds_since_previous_txn"] == NO_PREVIOUS_SECONDS
    assert all(quiet[name] == 0 for name in CUSTOMER_FEATURES if name != "seconds_since_previous_txn")


def test_records_may_be_objects_with_attributes_or_iso_strings() -> None:
    @dataclass
    class Event:
        event_timestamp: datetime
        amount_aed: float
        channel: str
        is_cross_border: bool

    moment = T0 - timedelta(minutes=10)
    as_dict = recent_event(txn(10, 3.0, "ecommerce", True))
    as_object = recent_event(Event(moment, 3.0, "ecommerce", True))
    as_string = recent_event({**txn(10, 3.0, "ecommerce", True), "event_timestamp": moment.isoformat()})
    assert as_dict == as_object == as_string == (to_micros(moment), 3.0, 3)


def test_a_timestamp_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="event_timestamp"):
        recent_event({**txn(0, 1.0), "event_timestamp": datetime(2026, 1, 1)})


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

"""The training set built through Feast: point-in-time correctness, one row per label, the time split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ml_helpers import tiny_environment

from features.aggregations import CUSTOMER_FEATURES, NO_PREVIOUS_SECONDS, pack_events
from features.names import CUSTOMER_TRANSACTIONS_FILE, CUSTOMER_TRANSACTIONS_VIEW, MERCHANT_RISK_FILE, TRANSACTIONS_FILE
from environments.errors import ConfigError
from training.dataset import TRANSACTION_TIME, build_training_set, historical_rows, snapshot_digest

T1 = pd.Timestamp("2026-01-05 10:00:00", tz="UTC")
T2 = pd.Timestamp("2026-01-05 10:30:00", tz="UTC")
T3 = pd.Timestamp("2026-01-05 11:00:00", tz="UTC")


def customer_row(moment: pd.Timestamp, count: int) -> dict:
    """A stored row stamped ``moment`` holding ``count`` events an hour before T1 (so any later reader counts them all)."""
    first = (T1 - pd.Timedelta(hours=1)).value // 1000
    return {"customer_id": "c000001", "event_timestamp": moment,
            "recent_events": pack_events([(first + i, 1.0, 0) for i in range(count)])}


def transaction(transaction_id: str, moment: pd.Timestamp, merchant: str) -> dict:
    return {"transaction_id": transaction_id, "customer_id": "c000001", "merchant_id": merchant, "event_timestamp": moment,
            "amount_aed": 10.0, "merchant_category": "grocery", "channel": "pos", "hour": 14, "is_cross_border": False,
            "is_fraud": 0}


@pytest.fixture(scope="module")
def handmade_store(tmp_path_factory: pytest.TempPathFactory):
    """A repository over hand-written tables: one customer, a feature row per transaction, and a row from the future."""
    from features.store import apply, feature_store_for
    from training.data.offline import offline_dir, write_parquet_atomically

    env = tiny_environment(tmp_path_factory.mktemp("pit"), name="pittest")
    folder = offline_dir(env)
    transactions = pd.DataFrame([
        transaction("t1", T1, "m0001"), transaction("t2", T2, "m0001"),
        transaction("t3a", T3, "m0001"), transaction("t3b", T3, "m0002"),  # two at one instant
    ])
    customers = pd.DataFrame([
        customer_row(T1, 1), customer_row(T2, 2), customer_row(T3, 4),
        customer_row(T2 + pd.Timedelta(seconds=1), 999),  # stamped after t2's label: must never reach t2's row
    ])
    merchants = pd.DataFrame({"merchant_id": ["m0001", "m0002"], "event_timestamp": [T1.floor("D")] * 2,
                              "merchant_fraud_rate_30d": [0.01, 0.03], "merchant_txn_count_7d": [5, 7]})
    for frame, name in ((transactions, TRANSACTIONS_FILE), (customers, CUSTOMER_TRANSACTIONS_FILE), (merchants, MERCHANT_RISK_FILE)):
        for column in ("event_timestamp",):
            frame[column] = frame[column].dt.as_unit("us")
        write_parquet_atomically(frame, folder / name)
    apply(env)
    return feature_store_for(env), transactions


def test_a_feature_row_stamped_after_the_label_never_reaches_that_row(handmade_store) -> None:
    store, transactions = handmade_store
    rows = historical_rows(store, transactions).set_index("transaction_id")
    assert rows.loc["t2", "txn_count_7d"] == 1  # the row at t1; not t2's own (2), not the future one (999)
    assert 999 not in rows.loc[["t1", "t2"], "txn_count_7d"].tolist()


def test_a_transactions_own_feature_row_is_not_in_its_features(handmade_store) -> None:
    store, transactions = handmade_store
    rows = historical_rows(store, transactions).set_index("transaction_id")
    assert rows.loc["t1", "txn_count_7d"] == 0  # nothing before the first transaction: an empty history
    assert rows.loc["t1", "seconds_since_previous_txn"] == NO_PREVIOUS_SECONDS


def test_the_pandas_join_of_the_customer_view_equals_feasts_own(ml_store, ml_offline) -> None:
    """Training joins the customer view in pandas (Feast's Dask engine is slow on its text rows): same frame."""
    transactions = pd.read_parquet(ml_offline.transactions_path)
    customers = pd.read_parquet(ml_offline.customer_features_path)
    through_feast = historical_rows(ml_store, transactions)
    in_pandas = historical_rows(ml_store, transactions, view_rows={CUSTOMER_TRANSACTIONS_VIEW: customers})
    pd.testing.assert_frame_equal(in_pandas, through_feast, check_dtype=False)
    assert (in_pandas["txn_count_1h"] > 0).any()


def test_every_transaction_keeps_its_row_even_without_history_or_sharing_an_instant(handmade_store) -> None:
    store, transactions = handmade_store
    rows = historical_rows(store, transactions).set_index("transaction_id")
    assert sorted(rows.index) == ["t1", "t2", "t3a", "t3b"]
    assert rows.loc["t3a", "txn_count_7d"] == rows.loc["t3b", "txn_count_7d"] == 999  # latest row before t3
    assert rows.loc["t1", "merchant_fraud_rate_30d"] == pytest.approx(0.01)  # other views keep their values
    assert rows.loc["t3b", "merchant_fraud_rate_30d"] == pytest.approx(0.03)


def independent_customer_features(transactions: pd.DataFrame, customer_id: str, at: pd.Timestamp) -> dict[str, float]:
    """The customer features at ``at`` recomputed with pandas from the customer's transactions strictly before it."""
    before = transactions[(transactions["customer_id"] == customer_id) & (transactions["event_timestamp"] < at)]
    def window(width: str) -> pd.DataFrame:
        return before[before["event_timestamp"] > at - pd.Timedelta(width)]
    hour, two, day, week = window("1h"), window("2h"), window("24h"), window("7D")
    return {
        "seconds_since_previous_txn": (at - week["event_timestamp"].max()).total_seconds() if len(week) else 7 * 86400.0,
        "txn_count_1h": len(hour), "amount_sum_1h_aed": hour["amount_aed"].sum(),
        "txn_count_2h": len(two), "amount_sum_2h_aed": two["amount_aed"].sum(),
        "ecommerce_count_2h": int((two["channel"] == "ecommerce").sum()),
        "cross_border_count_2h": int(two["is_cross_border"].sum()),
        "amount_max_2h_aed": two["amount_aed"].max() if len(two) else 0.0,
        "txn_count_24h": len(day), "amount_sum_24h_aed": day["amount_aed"].sum(),
        "txn_count_7d": len(week), "amount_mean_7d_aed": week["amount_aed"].mean() if len(week) else 0.0,
        "amount_max_7d_aed": week["amount_aed"].max() if len(week) else 0.0,
    }


def test_every_customer_feature_uses_only_transactions_strictly_before_its_own(ml_training_set, ml_offline) -> None:
    """Point in time: each sampled row's features equal a recomputation from strictly earlier transactions, so
    neither the transaction itself nor anything after it is in them."""
    rows = pd.concat([ml_training_set.train, ml_training_set.stopping, ml_training_set.validation], ignore_index=True)
    transactions = pd.read_parquet(ml_offline.transactions_path)
    assert len(rows) == ml_offline.transactions
    earlier = rows.groupby("customer_id")[TRANSACTION_TIME].transform("min") < rows[TRANSACTION_TIME]
    sample = pd.concat([rows[earlier].sample(150, random_state=3), rows[rows["txn_count_1h"] > 0].head(50)])
    for row in sample.to_dict("records"):
        expected = independent_customer_features(transactions, row["customer_id"], row[TRANSACTION_TIME])
        assert {name: row[name] for name in CUSTOMER_FEATURES} == pytest.approx(expected, rel=1e-9), row["transaction_id"]


def test_the_validation_window_is_the_last_days_and_follows_every_training_row(ml_env, ml_training_set) -> None:
    train, validation = ml_training_set.train, ml_training_set.validation
    assert train[TRANSACTION_TIME].max() <= ml_training_set.validation_start < validation[TRANSACTION_TIME].min()
    span = validation[TRANSACTION_TIME].max() - ml_training_set.validation_start
    assert span == pd.Timedelta(days=ml_env.training.validation_days)
    assert validation["is_fraud"].sum() >= 20


def test_the_snapshot_digest_changes_with_any_value_and_not_otherwise() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    changed = frame.assign(a=[1, 3])
    assert snapshot_digest(frame) == snapshot_digest(frame.copy())
    assert snapshot_digest(frame) != snapshot_digest(changed)


def test_building_without_generated_data_says_which_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sahab data generate"):
        build_training_set(tiny_environment(tmp_path, name="empty"))

"""The offline tables: batch rows come from the same function the stream calls (a customer's recent events)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.aggregations import RECENT_EVENT_COLUMNS, recent_event, recent_events_as_of, to_micros


@pytest.fixture(scope="module")
def tables(ml_offline) -> dict[str, pd.DataFrame]:
    return {
        "transactions": pd.read_parquet(ml_offline.transactions_path),
        "customers": pd.read_parquet(ml_offline.customer_features_path),
        "merchants": pd.read_parquet(ml_offline.merchant_features_path),
    }


def test_customer_rows_equal_the_shared_function_over_the_whole_history(tables) -> None:
    transactions, customers = tables["transactions"], tables["customers"]
    for customer in sorted(transactions["customer_id"].unique())[:40]:
        history = transactions[transactions["customer_id"] == customer]
        events = sorted(recent_event(record) for record in history.to_dict("records"))
        for row in customers[customers["customer_id"] == customer].to_dict("records"):
            expected = recent_events_as_of(events, to_micros(row["event_timestamp"].to_pydatetime()))
            assert {name: row[name] for name in RECENT_EVENT_COLUMNS} == expected


def test_there_is_one_customer_row_per_customer_and_transaction_instant(tables) -> None:
    transactions, customers = tables["transactions"], tables["customers"]
    assert not customers.duplicated(["customer_id", "event_timestamp"]).any()
    assert len(customers) == len(transactions.drop_duplicates(["customer_id", "event_timestamp"]))


def test_customer_rows_carry_only_the_entity_timestamp_and_features_the_stream_appends(tables) -> None:
    assert list(tables["customers"].columns) == ["customer_id", "event_timestamp", *RECENT_EVENT_COLUMNS]


def test_every_merchant_has_a_snapshot_before_the_first_transaction_and_one_per_day(tables, ml_env) -> None:
    merchants, transactions = tables["merchants"], tables["transactions"]
    first = merchants.groupby("merchant_id")["event_timestamp"].min()
    assert (first <= transactions["event_timestamp"].min()).all()
    assert len(first) == ml_env.data.merchants
    assert merchants.groupby("merchant_id").size().min() >= ml_env.data.days


def test_no_temporary_files_are_left_beside_the_tables(ml_offline) -> None:
    names = sorted(path.name for path in ml_offline.transactions_path.parent.iterdir())
    assert names == ["customer_transactions.parquet", "merchant_risk.parquet", "transactions.parquet"]

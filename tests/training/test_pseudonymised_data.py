"""Pseudonyms change the keys and nothing else: the offline tables, the training set and so the model are those
the raw ids would give, row for row (UAE PDPL without a cost in model quality)."""

from __future__ import annotations

import pandas as pd

from features.names import BATCH_PART_FILE, CUSTOMER_TRANSACTIONS_FILE, CUSTOMER_TRANSACTIONS_VIEW, TRANSACTIONS_FILE
from features.pseudonyms import is_pseudonym
from training.data.generator import generate_transactions
from training.data.offline import customer_feature_rows, offline_dir, raw_customer_ids
from training.dataset import historical_rows


def with_raw_ids(frame: pd.DataFrame, raw_of: dict[str, str]) -> pd.DataFrame:
    out = frame.copy()
    out["customer_id"] = frame["customer_id"].map(raw_of)
    return out


def test_the_written_tables_hold_pseudonyms_and_are_the_raw_tables_once_mapped_back(ml_env, ml_offline) -> None:
    raw_of = raw_customer_ids(ml_env)
    stored = pd.read_parquet(offline_dir(ml_env) / TRANSACTIONS_FILE)
    assert stored["customer_id"].map(is_pseudonym).all()
    raw = generate_transactions(ml_env.data)
    pd.testing.assert_frame_equal(with_raw_ids(stored, raw_of), raw, check_dtype=False)

    rows = pd.read_parquet(offline_dir(ml_env) / CUSTOMER_TRANSACTIONS_FILE / BATCH_PART_FILE)
    order = ["event_timestamp", "customer_id"]
    pd.testing.assert_frame_equal(
        with_raw_ids(rows, raw_of).sort_values(order, ignore_index=True),
        customer_feature_rows(raw).sort_values(order, ignore_index=True),
        check_dtype=False,
    )


def test_the_training_rows_are_the_ones_raw_ids_give_in_the_same_order(ml_env, ml_store, ml_offline) -> None:
    """Same rows, same order, same values: the same seed trains the same model, so quality cannot move."""
    raw_of = raw_customer_ids(ml_env)
    labelled = pd.read_parquet(offline_dir(ml_env) / TRANSACTIONS_FILE)
    customers = pd.read_parquet(offline_dir(ml_env) / CUSTOMER_TRANSACTIONS_FILE)
    pseudonymous = historical_rows(ml_store, labelled, view_rows={CUSTOMER_TRANSACTIONS_VIEW: customers})
    raw = historical_rows(ml_store, with_raw_ids(labelled, raw_of), view_rows={CUSTOMER_TRANSACTIONS_VIEW: with_raw_ids(customers, raw_of)})
    assert len(pseudonymous) == len(labelled)
    pd.testing.assert_frame_equal(with_raw_ids(pseudonymous, raw_of), raw)

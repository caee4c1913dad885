"""Serving computes a transaction's features as training did: same stored events, same function, same values.

Training reads each customer's stored row as of just before a transaction (Feast's point-in-time join over the
offline store) and computes the features at the transaction's time; serving reads the latest row from the
online store and computes them at the request's ``event_timestamp``. For any recorded transaction of a
customer's last week (the stored row reaches two weeks back) both must give the same numbers, bit for bit,
including the request's hour.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from serving_stack import TinyStack, pseudonyms_of

from bento_services.fraud_scoring.online_features import OnlineFeatures
from bento_services.fraud_scoring.schemas import TransactionIn
from bento_services.traffic import payloads_from_frame, replayable
from features.aggregations import CUSTOMER_FEATURES
from features.names import FRAUD_MODEL_FEATURE_SERVICE
from features.store import feature_store_for
from training.dataset import historical_rows


@pytest.fixture(scope="module")
def replayed(tiny_stack: TinyStack) -> tuple[pd.DataFrame, list[TransactionIn], Callable[[list[TransactionIn]], list]]:
    store = feature_store_for(tiny_stack.env)
    latest = replayable(tiny_stack.transactions, store)
    sample = latest.sample(min(150, len(latest)), random_state=5).sort_values("transaction_id", ignore_index=True)
    training_rows = historical_rows(store, sample).set_index("transaction_id").loc[sample["transaction_id"]]
    requests = [TransactionIn(**item) for item in payloads_from_frame(sample, tiny_stack.env)]
    online = OnlineFeatures(store, FRAUD_MODEL_FEATURE_SERVICE)
    return training_rows, requests, lambda items: online.lookup(items, pseudonyms_of(tiny_stack.env, items))


def test_serving_features_equal_the_training_rows_of_the_same_transactions(replayed) -> None:
    training_rows, requests, lookup = replayed
    served = lookup(requests)
    assert len(served) == len(training_rows) >= 100
    for request, item in zip(requests, served, strict=True):
        expected = training_rows.loc[request.transaction_id]
        assert {name: item.values[name] for name in CUSTOMER_FEATURES} == {
            name: expected[name] for name in CUSTOMER_FEATURES
        }, request.transaction_id
        assert request.hour == expected["hour"]
    # The sample is not trivially empty: customers with recent history, and some within the hour.
    assert (training_rows["txn_count_24h"] > 0).sum() >= 10 and (training_rows["seconds_since_previous_txn"] < 86_400).any()


def test_a_transaction_already_in_the_store_does_not_count_itself(replayed) -> None:
    """The online row of a replayed transaction already holds it (it is the customer's latest event): the features
    must be those of the moment before it, as in training."""
    training_rows, requests, lookup = replayed
    request = next(r for r in requests if training_rows.loc[r.transaction_id, "txn_count_7d"] > 0)
    [at_its_time] = lookup([request])
    [just_after] = lookup([request.model_copy(update={"event_timestamp": request.event_timestamp + pd.Timedelta(microseconds=1)})])
    assert just_after.values["txn_count_7d"] == at_its_time.values["txn_count_7d"] + 1

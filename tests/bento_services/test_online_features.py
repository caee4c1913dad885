"""Online features read through the online store directly answer exactly what Feast's get_online_features does."""

from __future__ import annotations

import copy

import pytest
from serving_stack import TinyStack, pseudonyms_of

from bento_services.fraud_scoring.online_features import OnlineFeatures
from bento_services.fraud_scoring.schemas import TransactionIn
from bento_services.traffic import payloads_from_frame
from features.aggregations import MERCHANT_FEATURES, RECENT_EVENT_COLUMNS, customer_features_at
from features.names import FRAUD_MODEL_FEATURE_SERVICE, STORED_FEATURES
from features.store import feature_store_for


@pytest.fixture(scope="module")
def online(tiny_stack: TinyStack) -> OnlineFeatures:
    store = OnlineFeatures(feature_store_for(tiny_stack.env), FRAUD_MODEL_FEATURE_SERVICE)
    store.env = tiny_stack.env  # for read() and feast_answer() below: the items' pseudonyms
    return store


def read(online: OnlineFeatures, transactions: list[TransactionIn]) -> list:
    return online.lookup(transactions, pseudonyms_of(online.env, transactions))


@pytest.fixture(scope="module")
def batch(tiny_stack: TinyStack) -> list[TransactionIn]:
    """Known entities, the same customer and shop more than once, an unknown customer and an unknown shop."""
    items = [TransactionIn(**item) for item in payloads_from_frame(tiny_stack.transactions.sample(30, random_state=3), tiny_stack.env)]
    return [*items, items[0], items[1], items[2].model_copy(update={"customer_id": "c999999"}),
            items[3].model_copy(update={"merchant_id": "m9999"})]


def feast_answer(online: OnlineFeatures, transactions: list[TransactionIn]) -> dict[str, list]:
    rows = {"customer_id": pseudonyms_of(online.env, transactions), "merchant_id": [t.merchant_id for t in transactions]}
    return online.store.get_online_features(features=online.service, entity_rows=rows).to_dict()


def expected_values(online: OnlineFeatures, transactions: list[TransactionIn]) -> list[dict]:
    """What each transaction must read: Feast's stored answer, the customer's turned into features at its time."""
    answer = feast_answer(online, transactions)
    expected = []
    for i, transaction in enumerate(transactions):
        stored = {name: answer[name][i] for name in RECENT_EVENT_COLUMNS}
        features = customer_features_at(stored, transaction.event_timestamp)
        expected.append({**features, **{name: answer[name][i] for name in MERCHANT_FEATURES}})
    return expected


def test_every_feature_of_every_item_equals_get_online_features_in_value_and_type(online, batch) -> None:
    expected = expected_values(online, batch)
    found = read(online, batch)
    assert sorted(online.feature_names) == sorted(STORED_FEATURES)
    for item, want in zip(found, expected, strict=True):
        assert item.values == want
        assert {name: type(v) for name, v in item.values.items()} == {name: type(v) for name, v in want.items()}


def test_unknown_entities_are_flagged_with_none_features_and_known_ones_are_not(online, batch) -> None:
    found = read(online, batch)
    assert found[-2].unknown_entities == ["customer"] and found[-1].unknown_entities == ["merchant"]
    assert found[-2].values["txn_count_7d"] == 0 and found[-1].values["merchant_fraud_rate_30d"] is None
    assert not any(item.unknown_entities for item in found[:-2])


def test_a_repeated_entity_gets_its_own_features_at_each_position(online, batch) -> None:
    found = read(online, batch)
    for position, original in ((30, 0), (31, 1)):
        [alone] = expected_values(online, [batch[original]])
        assert found[position].values == found[original].values == alone


def test_sqlite_is_read_in_process(online) -> None:
    assert online.reads_in_process  # so the service scores on the event loop (Redis goes to a thread)


def test_a_feature_view_that_is_not_served_online_is_refused_at_start_up(online, monkeypatch) -> None:
    real = online.store.get_feature_view

    def not_online(name: str, *args, **kwargs):
        view = copy.copy(real(name, *args, **kwargs))
        view.online = False
        return view

    monkeypatch.setattr(online.store, "get_feature_view", not_online)
    with pytest.raises(ValueError, match="feature view '.+' is not served online"):
        OnlineFeatures(online.store, FRAUD_MODEL_FEATURE_SERVICE)


def test_request_overrides_win_over_the_store(online, batch) -> None:
    item = batch[0].model_copy(update={"features": {"txn_count_1h": 40.0}})
    [found] = read(online, [item])
    assert found.values["txn_count_1h"] == 40.0
    assert found.values["txn_count_24h"] == expected_values(online, [item])[0]["txn_count_24h"]

"""Online features read through the online store directly answer exactly what Feast's get_online_features does."""

from __future__ import annotations

import pytest
from serving_stack import TinyStack

from bento_services.fraud_scoring.online_features import OnlineFeatures
from bento_services.fraud_scoring.schemas import TransactionIn
from bento_services.traffic import payloads_from_frame
from features.names import FRAUD_MODEL_FEATURE_SERVICE, FRAUD_MODEL_FEATURES
from features.store import feature_store_for


@pytest.fixture(scope="module")
def online(tiny_stack: TinyStack) -> OnlineFeatures:
    return OnlineFeatures(feature_store_for(tiny_stack.env), FRAUD_MODEL_FEATURE_SERVICE)


@pytest.fixture(scope="module")
def batch(tiny_stack: TinyStack) -> list[TransactionIn]:
    """Known entities, the same customer and shop more than once, an unknown customer and an unknown shop."""
    items = [TransactionIn(**item) for item in payloads_from_frame(tiny_stack.transactions.sample(30, random_state=3))]
    return [*items, items[0], items[1], items[2].model_copy(update={"customer_id": "c999999"}),
            items[3].model_copy(update={"merchant_id": "m9999"})]


def feast_answer(online: OnlineFeatures, transactions: list[TransactionIn]) -> dict[str, list]:
    rows = {"customer_id": [t.customer_id for t in transactions], "merchant_id": [t.merchant_id for t in transactions]}
    return online.store.get_online_features(features=online.service, entity_rows=rows).to_dict()


def test_every_feature_of_every_item_equals_get_online_features_in_value_and_type(online, batch) -> None:
    expected = feast_answer(online, batch)
    found = online.lookup(batch)
    assert sorted(online.feature_names) == sorted(FRAUD_MODEL_FEATURES)
    for i, item in enumerate(found):
        want = {name: expected[name][i] for name in online.feature_names}
        assert item.values == want
        assert [type(v) for v in item.values.values()] == [type(v) for v in want.values()]


def test_unknown_entities_are_flagged_with_none_features_and_known_ones_are_not(online, batch) -> None:
    found = online.lookup(batch)
    assert found[-2].unknown_entities == ["customer"] and found[-1].unknown_entities == ["merchant"]
    assert found[-2].values["txn_count_7d"] is None and found[-1].values["merchant_fraud_rate_30d"] is None
    assert not any(item.unknown_entities for item in found[:-2])


def test_a_repeated_entity_gets_the_same_features_at_each_position(online, batch) -> None:
    found = online.lookup(batch)
    assert found[30].values == found[0].values and found[31].values == found[1].values


def test_request_overrides_win_over_the_store(online, batch) -> None:
    item = batch[0].model_copy(update={"features": {"txn_count_1h": 40.0}})
    [found] = online.lookup([item])
    assert found.values["txn_count_1h"] == 40.0
    assert found.values["txn_count_24h"] == feast_answer(online, [item])["txn_count_24h"][0]

"""The Feast repository against Feast's real local stores: apply, materialise, read online, push."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from features.aggregations import pack_events, unpack_events
from features.names import (
    CUSTOMER_TRANSACTIONS_PUSH_SOURCE,
    FRAUD_MODEL_FEATURE_SERVICE,
    STORED_FEATURES,
)
from environments import Environment, parse_environment


def small_env(data_dir: Path) -> Environment:
    return parse_environment(
        {
            "name": "featuretest", "target": "local", "region": "me-central-1", "data_dir": str(data_dir / "{name}"),
            "tags": {"owner": "o", "cost-centre": "c", "data-classification": "internal", "environment": "featuretest"},
            "data": {"customers": 60, "merchants": 12, "days": 9, "seed": 5},
        }
    )


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory):
    """Generated data, the repository applied, and the online store materialised (once per module)."""
    from features.store import apply, feature_store_for, materialize
    from training.data.offline import write_offline_store

    env = small_env(tmp_path_factory.mktemp("features"))
    written = write_offline_store(env)
    applied = apply(env)
    materialize(env)
    return env, applied, written, feature_store_for(env)


def test_apply_registers_the_entities_views_and_service_the_platform_relies_on(repository) -> None:
    _, applied, _, store = repository
    assert applied.entities == ["customer", "merchant"]
    assert applied.feature_views == ["customer_transactions", "merchant_risk"]
    assert applied.feature_services == [FRAUD_MODEL_FEATURE_SERVICE]
    assert store.get_data_source(CUSTOMER_TRANSACTIONS_PUSH_SOURCE).batch_source.path.endswith("customer_transactions.parquet")


def test_the_feature_service_serves_exactly_the_model_features(repository) -> None:
    store = repository[3]
    service = store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE)
    served = [feature.name for projection in service.feature_view_projections for feature in projection.features]
    assert served == list(STORED_FEATURES)


def test_the_online_store_holds_each_customers_latest_offline_row_after_materialise(repository) -> None:
    _, _, written, store = repository
    offline = pd.read_parquet(written.customer_features_path)
    latest = offline.sort_values("event_timestamp").groupby("customer_id").tail(1).set_index("customer_id")
    customer = latest.index[0]
    online = store.get_online_features(
        features=store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE),
        entity_rows=[{"customer_id": customer, "merchant_id": "m0001"}],
    ).to_dict()
    assert online["recent_events"] == [latest.loc[customer, "recent_events"]]
    assert online["merchant_fraud_rate_30d"][0] is not None


def test_an_unknown_customer_reads_as_none_online(repository) -> None:
    store = repository[3]
    online = store.get_online_features(
        features=store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE),
        entity_rows=[{"customer_id": "c999999", "merchant_id": "m9999"}],
    ).to_dict()
    assert all(online[name] == [None] for name in STORED_FEATURES)


def test_a_row_pushed_to_the_push_source_is_read_online(repository) -> None:
    from feast.data_source import PushMode

    store = repository[3]
    row = {"customer_id": "c000007", "event_timestamp": datetime.now(UTC), "recent_events": pack_events([(42, 1.0, 0), (43, 2.0, 3)])}
    store.push(CUSTOMER_TRANSACTIONS_PUSH_SOURCE, pd.DataFrame([row]), to=PushMode.ONLINE)
    online = store.get_online_features(features=["customer_transactions:recent_events"],
                                       entity_rows=[{"customer_id": "c000007"}]).to_dict()
    assert unpack_events(online["recent_events"][0]).tolist() == [(42, 1.0, 0), (43, 2.0, 3)]


def test_applying_again_is_idempotent(repository) -> None:
    from features.store import apply

    env, first, _, _ = repository
    assert apply(env) == first

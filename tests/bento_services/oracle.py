"""The expected score of a transaction, computed without the serving code: Feast, Preprocessor, ORT.

The serving tests compare what the service answers with what the signed model gives when run
directly on the same features, read straight from the online store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import onnxruntime as ort

from features.aggregations import RECENT_EVENT_COLUMNS, customer_features_at
from features.names import DUBAI, FRAUD_MODEL_FEATURE_SERVICE, REQUEST_FIELDS
from features.pseudonyms import pseudonymiser_for
from features.store import feature_store_for
from environments import Environment
from training.preprocessing import Preprocessor
from training.registry import resolve_version


def online_records(env: Environment, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model-input records: request fields (hour from the timestamp) + the online store's features at each item's
    time (None where unknown; read by the customer's pseudonym, as the store is keyed) + overrides."""
    store = feature_store_for(env)
    rows = {"customer_id": pseudonymiser_for(env).many(i["customer_id"] for i in items), "merchant_id": [i["merchant_id"] for i in items]}
    found = store.get_online_features(features=store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE),
                                      entity_rows=rows).to_dict()
    records = []
    for index, item in enumerate(items):
        at = datetime.fromisoformat(item["event_timestamp"])
        record = {name: item[name] for name in REQUEST_FIELDS if name != "hour"} | {"hour": at.astimezone(DUBAI).hour}
        stored = {name: values[index] for name, values in found.items() if name not in ("customer_id", "merchant_id")}
        recent = {name: stored.pop(name) for name in RECENT_EVENT_COLUMNS}
        record.update(stored)
        record.update(customer_features_at(recent, at))
        record.update(item.get("features", {}))
        records.append(record)
    return records


def expected_scores(env: Environment, version_id: str, items: list[dict[str, Any]]) -> np.ndarray:
    folder = resolve_version(env, version_id).path
    preprocessor = Preprocessor.from_json((folder / "preprocessing.json").read_text())
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, preprocessor.transform(online_records(env, items)))[0].reshape(-1)

"""Names of the feature repository that other parts of the platform refer to, importable without Feast.

The stream ingestor pushes to ``CUSTOMER_TRANSACTIONS_PUSH_SOURCE``; serving and training read
``FRAUD_MODEL_FEATURE_SERVICE`` by ``ENTITY_KEYS``. Importing Feast costs seconds, so code that only
needs a name imports it from here rather than from ``features.definitions``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from features.aggregations import (
    CUSTOMER_FEATURE_SPECS,
    CUSTOMER_FEATURES,
    MERCHANT_FEATURE_SPECS,
    MERCHANT_FEATURES,
    RECENT_EVENT_COLUMNS,
)

# Parquet tables of the offline store (one folder per environment).
TRANSACTIONS_FILE = "transactions.parquet"
#: A folder (a parquet dataset): the generator's ``BATCH_PART_FILE`` plus the stream's files, one per input
#: partition and checkpoint (``features/ingest/offline.py``), so replicas never write the same file.
CUSTOMER_TRANSACTIONS_FILE = "customer_transactions.parquet"
BATCH_PART_FILE = "batch.parquet"
MERCHANT_RISK_FILE = "merchant_risk.parquet"
DRIFT_TRANSACTIONS_FILE = "transactions_drift.parquet"

CUSTOMER_ENTITY = "customer"
MERCHANT_ENTITY = "merchant"
CUSTOMER_TRANSACTIONS_VIEW = "customer_transactions"
CUSTOMER_TRANSACTIONS_PUSH_SOURCE = "customer_transactions_push"
MERCHANT_RISK_VIEW = "merchant_risk"
FRAUD_MODEL_FEATURE_SERVICE = "fraud_model_v1"
ENTITY_KEYS: tuple[str, ...] = ("customer_id", "merchant_id")
TIMESTAMP_FIELD = "event_timestamp"

#: Columns ``fraud_model_v1`` returns from the stores (names without the view prefix), in order.
STORED_FEATURES: tuple[str, ...] = (*RECENT_EVENT_COLUMNS, *MERCHANT_FEATURES)

#: Features the model reads besides the request fields: the customer's computed at the scoring instant from
#: their stored recent events (``features.aggregations.customer_features_at``), the merchant's as stored.
FRAUD_MODEL_FEATURES: tuple[str, ...] = (*CUSTOMER_FEATURES, *MERCHANT_FEATURES)

#: The largest value of each feature (the smallest is 0): what a scoring request may override it with.
FEATURE_MAXIMA: dict[str, float] = {spec.name: spec.maximum for spec in (*CUSTOMER_FEATURE_SPECS, *MERCHANT_FEATURE_SPECS)}

#: Local time of the platform's users (no daylight saving): ``hour`` is a transaction's hour on this clock.
DUBAI = ZoneInfo("Asia/Dubai")

#: Fields of the transaction itself that the model takes at request time (``hour``: the Asia/Dubai hour of the
#: transaction's ``event_timestamp``).
REQUEST_FIELDS: tuple[str, ...] = ("amount_aed", "merchant_category", "channel", "hour", "is_cross_border")

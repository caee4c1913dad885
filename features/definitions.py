"""The Feast feature repository of the fraud model: entity -> source -> feature view -> feature service.

Flat on purpose, in the order of Feast's own templates. The objects are built by a function of the
offline store's location (a local folder, or ``s3://<data bucket>/offline`` in the cloud) because
that location is per environment; ``features.store.apply`` registers them. Feature schemas come from
``features.aggregations``, the same module that computes the values, so names and types match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64, PrimitiveFeastType, String

from features.aggregations import MERCHANT_FEATURE_SPECS, RECENT_EVENT_SPECS, FeatureSpec
from features.names import (
    CUSTOMER_ENTITY,
    CUSTOMER_TRANSACTIONS_FILE,
    CUSTOMER_TRANSACTIONS_PUSH_SOURCE,
    CUSTOMER_TRANSACTIONS_VIEW,
    FRAUD_MODEL_FEATURE_SERVICE,
    MERCHANT_ENTITY,
    MERCHANT_RISK_FILE,
    MERCHANT_RISK_VIEW,
    TIMESTAMP_FIELD,
)

#: A ttl of 0 means "never expires". Online reads in Feast do not apply a ttl, so a finite one would
#: make training see nulls where serving sees the last value; with none, both see the same row.
NO_EXPIRY = timedelta(0)

_FEAST_TYPES: dict[str, PrimitiveFeastType] = {"int64": Int64, "float64": Float64, "string": String}


@dataclass(frozen=True)
class FeatureDefinitions:
    """Every Feast object of the repository, built for one offline store location."""

    customer: Entity
    merchant: Entity
    customer_transactions_source: FileSource
    customer_transactions_push: PushSource
    merchant_risk_source: FileSource
    customer_transactions: FeatureView
    merchant_risk: FeatureView
    fraud_model_v1: FeatureService

    def objects(self) -> list[Any]:
        """What ``FeatureStore.apply`` takes: entities, sources, views and the service."""
        return [
            self.customer,
            self.merchant,
            self.customer_transactions_source,
            self.customer_transactions_push,
            self.merchant_risk_source,
            self.customer_transactions,
            self.merchant_risk,
            self.fraud_model_v1,
        ]


def feature_definitions(offline_uri: str, *, s3_endpoint_override: str | None = None) -> FeatureDefinitions:
    """The repository's objects with sources under ``offline_uri`` (a folder path or an ``s3://`` prefix)."""
    base = offline_uri.rstrip("/")

    # The card holder: the rolling spending features are keyed by it.
    customer = Entity(name=CUSTOMER_ENTITY, join_keys=["customer_id"], value_type=ValueType.STRING,
                      description="A card holder, by the keyed pseudonym of their id (p + 32 hex digits), never the raw id.")
    # The shop: its fraud rate is a strong prior for every card used there.
    merchant = Entity(name=MERCHANT_ENTITY, join_keys=["merchant_id"], value_type=ValueType.STRING,
                      description="A merchant, e.g. m0042.")

    # History of the customer aggregates; the stream appends to it through the push source.
    customer_transactions_source = FileSource(
        name="customer_transactions_parquet",
        path=f"{base}/{CUSTOMER_TRANSACTIONS_FILE}",
        timestamp_field=TIMESTAMP_FIELD,
        s3_endpoint_override=s3_endpoint_override,
        description="One row per customer transaction: the customer's recent events up to it.",
    )
    # The stream ingestor pushes fresh rows here (online, and offline for later training).
    customer_transactions_push = PushSource(
        name=CUSTOMER_TRANSACTIONS_PUSH_SOURCE, batch_source=customer_transactions_source
    )
    # Daily merchant snapshots; batch only, as fraud labels arrive in batches (chargebacks).
    merchant_risk_source = FileSource(
        name="merchant_risk_parquet",
        path=f"{base}/{MERCHANT_RISK_FILE}",
        timestamp_field=TIMESTAMP_FIELD,
        s3_endpoint_override=s3_endpoint_override,
        description="One row per merchant and day.",
    )

    # The card holder's recent events (7 days): velocity and spend are computed from them at the scoring instant.
    customer_transactions = FeatureView(
        name=CUSTOMER_TRANSACTIONS_VIEW,
        entities=[customer],
        ttl=NO_EXPIRY,
        schema=[Field(name="customer_id", dtype=String), *_fields(RECENT_EVENT_SPECS)],
        source=customer_transactions_push,
        online=True,
        description="Per-customer recent events; features at scoring time by features.aggregations.customer_features_at.",
    )
    # How risky the merchant has been lately.
    merchant_risk = FeatureView(
        name=MERCHANT_RISK_VIEW,
        entities=[merchant],
        ttl=NO_EXPIRY,
        schema=[Field(name="merchant_id", dtype=String), *_fields(MERCHANT_FEATURE_SPECS)],
        source=merchant_risk_source,
        online=True,
        description="Daily merchant fraud rate and volume (features.aggregations).",
    )

    # The features the fraud model v1 reads, online and for training.
    fraud_model_v1 = FeatureService(
        name=FRAUD_MODEL_FEATURE_SERVICE,
        features=[customer_transactions, merchant_risk],
        description="Inputs of the card-fraud model, looked up by customer_id and merchant_id.",
    )
    return FeatureDefinitions(
        customer=customer,
        merchant=merchant,
        customer_transactions_source=customer_transactions_source,
        customer_transactions_push=customer_transactions_push,
        merchant_risk_source=merchant_risk_source,
        customer_transactions=customer_transactions,
        merchant_risk=merchant_risk,
        fraud_model_v1=fraud_model_v1,
    )


def _fields(specs: tuple[FeatureSpec, ...]) -> list[Field]:
    return [Field(name=spec.name, dtype=_FEAST_TYPES[spec.dtype], description=spec.description) for spec in specs]

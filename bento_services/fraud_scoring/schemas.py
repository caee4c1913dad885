"""Request and response schemas of the fraud-scoring API (pydantic v2).

A request is a list of transactions as they arrive at the card switch: the request-time fields
the model needs plus the two entity ids whose features are read from the Feast online store.
``features`` may override any stored feature by name (for a what-if, or when the caller knows a
fresher value than the store). Unknown fields are refused, so a misspelt field is a 422 naming
it rather than a silently ignored value.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from features.names import DUBAI, FEATURE_MAXIMA, FRAUD_MODEL_FEATURES

#: The channels the model was trained on (cross-team contract).
Channel = Literal["pos", "ecommerce", "mobile_wallet"]


class TransactionIn(BaseModel):
    """One card transaction to score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transaction_id: str = Field(
        default_factory=lambda: f"req-{uuid.uuid4().hex[:16]}", min_length=1, max_length=128,
        description="Caller's id, echoed back. Default: a generated req-<hex> id.",
    )
    customer_id: str = Field(min_length=1, max_length=64, description="Card holder, e.g. c000123. Replaced on arrival by its keyed pseudonym, which routes the A/B split, reads the features and is logged; the raw id is never stored.")
    merchant_id: str = Field(min_length=1, max_length=64, description="Merchant, e.g. m0042.")
    event_timestamp: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC),
        description="When the transaction happened, ISO 8601 with a UTC offset (e.g. 2026-02-01T21:15:00+04:00). "
        "The customer's features are computed as of this instant from their transactions strictly before it, and "
        "the model's hour is its Asia/Dubai hour. Default: the moment the service receives the request.",
    )
    amount_aed: float = Field(gt=0, le=10_000_000, allow_inf_nan=False, description="Amount in AED, > 0.")
    merchant_category: str = Field(min_length=1, max_length=64, description="e.g. grocery, fuel, electronics.")
    channel: Channel = Field(description="pos, ecommerce or mobile_wallet.")
    is_cross_border: bool = Field(description="Card issued outside the UAE or merchant abroad.")
    features: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Overrides of online-store features by name, each between 0 and the feature's stated maximum "
        "(rates at most 1). Default: none (all from the store).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_hour(cls, data: Any) -> Any:
        # 'hour' was a request field before features were computed at the transaction's time: say what replaced it.
        if isinstance(data, dict) and "hour" in data:
            raise ValueError("'hour' is not a request field: send 'event_timestamp' (ISO 8601 with a UTC offset); "
                             "the hour is its Asia/Dubai hour")
        return data

    @property
    def hour(self) -> int:
        """The Asia/Dubai hour of ``event_timestamp`` (a model input)."""
        return self.event_timestamp.astimezone(DUBAI).hour

    @field_validator("features")
    @classmethod
    def _known_features_within_bounds(cls, value: dict[str, float]) -> dict[str, float]:
        # A misspelt override would otherwise be scored as if it were absent; an absurd one (1e300) drives the
        # model to NaN, which a canary would count against the variant.
        unknown = sorted(set(value) - set(FRAUD_MODEL_FEATURES))
        problems = [f"unknown feature(s) {unknown}; known: {list(FRAUD_MODEL_FEATURES)}"] if unknown else []
        problems += [
            f"'features.{name}' must be between 0 and {FEATURE_MAXIMA[name]:g} (value: {number:g})"
            for name, number in sorted(value.items()) if name in FEATURE_MAXIMA and number > FEATURE_MAXIMA[name]
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return value


def refuse_overrides(transactions: list[TransactionIn], *, allowed: bool) -> list[TransactionIn]:
    """Refuse (a 422 naming the setting) any feature override where the environment turns them off."""
    overriding = [i for i, t in enumerate(transactions) if t.features]
    if overriding and not allowed:
        raise ValueError(
            f"feature overrides are turned off in this environment (serving.allow_feature_overrides); transactions "
            f"{overriding} carry 'features': send them without it"
        )
    return transactions


class TransactionScore(BaseModel):
    """The answer for one transaction: score, decision and who decided."""

    transaction_id: str
    score: float = Field(description="Fraud probability, 0-1.")
    is_fraud: bool = Field(description="score >= serving.score_threshold.")
    model_version: str = Field(description="Registered model version that produced the score.")
    variant: str = Field(description="Routing variant (A/B arm or canary) that answered.")
    unknown_entities: list[str] = Field(
        default_factory=list,
        description="Entities absent from the online store ('customer', 'merchant'); their features took the "
        "documented defaults.",
    )
    fallback_from: str | None = Field(
        default=None, description="Set when the routed variant failed and this variant answered instead."
    )


class RoutingState(BaseModel):
    """What the router does right now (``POST /routing``)."""

    weights: dict[str, float]
    reason: str
    updated_at: str
    rolled_back: dict[str, str]
    shadow_variant: str | None
    canary_variant: str | None
    model_versions: dict[str, str]


EXAMPLE_INPUT: dict[str, Any] = {
    "transactions": [
        {
            "transaction_id": "t-example-1",
            "customer_id": "c000001",
            "merchant_id": "m0001",
            "amount_aed": 249.5,
            "event_timestamp": "2026-02-01T21:15:00+04:00",
            "merchant_category": "electronics",
            "channel": "ecommerce",
            "is_cross_border": False,
        }
    ]
}

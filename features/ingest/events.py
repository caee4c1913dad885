"""The transaction event contract, version 1: one schema for the producer, the ingestor and the tests.

An event is a UTF-8 JSON object on the ``transactions`` topic, keyed by ``customer_id`` (so one
customer's events stay in order on one partition). It carries the fields of a transaction record
without the fraud label, plus ``schema_version`` and ``event_id``, the idempotency key, which in
version 1 equals ``transaction_id``.

Validation is strict on purpose: a string where a number belongs, an unknown field, a timestamp
without a zone or an ``hour`` that is not the Asia/Dubai hour of ``event_timestamp`` are producer
bugs, and such events go to the dead-letter topic with the reason rather than into the features.
A future version 2 gets its own model; this ingestor sends events of any version but 1 to the
dead-letter topic as ``unsupported_schema_version`` instead of guessing.

``TransactionEventV1.model_json_schema()`` is the JSON Schema for producers written in other
languages (``sahab stream schema`` prints it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.names import DUBAI

SCHEMA_VERSION = 1


Channel = Literal["pos", "ecommerce", "mobile_wallet"]


class InvalidEvent(ValueError):
    """A message that is not a valid version-1 event. ``reason`` is a short code for the DLQ header."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class TransactionEventV1(BaseModel):
    """One card transaction as it happens (version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schema_version: Literal[1] = Field(default=1, description="Version of this contract; always 1 here.")
    event_id: str = Field(min_length=1, max_length=128, description="Idempotency key; equals transaction_id in v1.")
    transaction_id: str = Field(min_length=1, max_length=128, description="Unique, deterministic transaction id.")
    customer_id: str = Field(pattern=r"^c\d{6}$", description="Card holder, e.g. c000123; the message key.")
    merchant_id: str = Field(pattern=r"^m\d{4}$", description="Merchant, e.g. m0042.")
    event_timestamp: AwareDatetime = Field(description="When the transaction happened, with a UTC offset.")
    amount_aed: float = Field(gt=0, le=10_000_000, allow_inf_nan=False, description="Amount in AED, > 0.")
    merchant_category: str = Field(pattern=r"^[a-z][a-z_]{1,39}$", description="e.g. grocery, fuel, jewellery.")
    channel: Channel = Field(description="pos, ecommerce or mobile_wallet.")
    hour: int = Field(ge=0, le=23, description="Hour of event_timestamp on the Asia/Dubai clock.")
    is_cross_border: bool = Field(description="Card issued outside the UAE or merchant abroad.")

    @field_validator("event_timestamp")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> TransactionEventV1:
        problems = []
        if self.event_id != self.transaction_id:
            problems.append(f"'event_id' must equal 'transaction_id' in version 1 ({self.event_id!r} != {self.transaction_id!r})")
        local_hour = self.event_timestamp.astimezone(DUBAI).hour
        if self.hour != local_hour:
            problems.append(f"'hour' must be {local_hour}, the Asia/Dubai hour of 'event_timestamp' (value: {self.hour})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def key(self) -> bytes:
        """The message key: the customer, so that a customer's events keep their order."""
        return self.customer_id.encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def event_from_record(record: Mapping[str, Any]) -> TransactionEventV1:
    """Build an event from a transaction record (a parquet row or dict); the label, if any, is dropped."""
    timestamp = record["event_timestamp"]
    if hasattr(timestamp, "to_pydatetime"):  # pandas.Timestamp
        timestamp = timestamp.to_pydatetime()
    return TransactionEventV1(
        event_id=str(record["transaction_id"]),
        transaction_id=str(record["transaction_id"]),
        customer_id=str(record["customer_id"]),
        merchant_id=str(record["merchant_id"]),
        event_timestamp=timestamp,
        amount_aed=float(record["amount_aed"]),
        merchant_category=str(record["merchant_category"]),
        channel=str(record["channel"]),  # type: ignore[arg-type]  # validated by the model
        hour=int(record["hour"]),
        is_cross_border=bool(record["is_cross_border"]),
    )


def parse_event(value: bytes | None) -> TransactionEventV1:
    """Decode and validate one message value; raise ``InvalidEvent`` naming what is wrong and how to fix it."""
    if value is None:
        raise InvalidEvent("empty_message", "the message has no value; send the event as a JSON object")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent("not_json", f"the value is not UTF-8 JSON ({exc}); send the event as a JSON object") from None
    if not isinstance(data, dict):
        raise InvalidEvent("not_an_object", f"the value is JSON {type(data).__name__}, not an object with the event's fields")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InvalidEvent(
            "unsupported_schema_version",
            f"'schema_version' must be {SCHEMA_VERSION} for this ingestor (value: {version!r}); "
            "upgrade the ingestor before producing a newer version",
        )
    try:
        return TransactionEventV1.model_validate_json(value)
    except ValidationError as exc:
        raise InvalidEvent("schema_violation", _describe(exc)) from None


def _describe(error: ValidationError) -> str:
    """All field problems of one event, each as ``'field' message (value: ...)``."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a field of version 1 (check the spelling)"
        elif item["type"] == "missing":
            message = "is required"
        where = f"'{field}' " if field else ""
        shown = "" if item["type"] in ("missing", "model_type") or not field else f" (value: {_short(item.get('input'))})"
        problems.append(f"{where}{message}{shown}")
    return "; ".join(problems)


def _short(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

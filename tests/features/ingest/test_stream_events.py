"""The v1 event contract: what it accepts, and the reason it gives for each kind of broken event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from features.ingest.events import InvalidEvent, TransactionEventV1, event_from_record, parse_event
from features.ingest.synthetic import MALFORMATIONS, malformed_payload, synthetic_events
from environments import DataConfig


def an_event(**changes: object) -> TransactionEventV1:
    fields: dict[str, object] = dict(
        event_id="t-1",
        transaction_id="t-1",
        customer_id="c000123",
        merchant_id="m0042",
        event_timestamp=datetime(2026, 3, 1, 20, 30, tzinfo=UTC),  # 00:30 in Dubai
        amount_aed=250.5,
        merchant_category="electronics",
        channel="ecommerce",
        hour=0,
        is_cross_border=False,
    )
    fields.update(changes)
    return TransactionEventV1(**fields)


def test_an_event_survives_a_round_trip_through_json() -> None:
    event = an_event()
    assert parse_event(event.to_json_bytes()) == event


def test_a_timestamp_with_another_offset_is_normalised_to_utc() -> None:
    dubai_time = datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=4)))
    assert an_event(event_timestamp=dubai_time).event_timestamp == datetime(2026, 3, 1, 20, 30, tzinfo=UTC)


def test_the_message_key_is_the_customer() -> None:
    assert an_event().key == b"c000123"


EXPECTED_REASON = {
    "not_json": ("not_json", "JSON"),
    "not_an_object": ("not_an_object", "not an object"),
    "unsupported_schema_version": ("unsupported_schema_version", "'schema_version' must be 1"),
    "negative_amount": ("schema_violation", "'amount_aed'"),
    "missing_customer_id": ("schema_violation", "'customer_id' is required"),
    "naive_timestamp": ("schema_violation", "'event_timestamp'"),
    "unknown_channel": ("schema_violation", "'channel'"),
    "wrong_hour": ("schema_violation", "the Asia/Dubai hour of 'event_timestamp'"),
    "amount_as_string": ("schema_violation", "'amount_aed'"),
}


@pytest.mark.parametrize("kind", MALFORMATIONS)
def test_each_malformation_is_rejected_with_a_reason_naming_the_problem(kind: str) -> None:
    reason, words = EXPECTED_REASON[kind]
    with pytest.raises(InvalidEvent) as caught:
        parse_event(malformed_payload(an_event(), kind))
    assert caught.value.reason == reason
    assert words in caught.value.detail


def test_every_malformation_kind_has_an_expected_reason() -> None:
    assert set(EXPECTED_REASON) == set(MALFORMATIONS)


def test_a_wrong_hour_is_refused_with_the_right_one() -> None:
    with pytest.raises(InvalidEvent, match=r"'hour' must be 0, the Asia/Dubai hour of 'event_timestamp' \(value: 5\)"):
        parse_event(malformed_payload(an_event(), "wrong_hour"))


def test_an_unknown_field_is_refused_by_name() -> None:
    data = json.loads(an_event().to_json_bytes()) | {"amount_usd": 3.0}
    with pytest.raises(InvalidEvent, match="'amount_usd' is not a field of version 1"):
        parse_event(json.dumps(data).encode())


def test_event_id_must_equal_transaction_id() -> None:
    data = json.loads(an_event().to_json_bytes()) | {"event_id": "other"}
    with pytest.raises(InvalidEvent, match="'event_id' must equal 'transaction_id'"):
        parse_event(json.dumps(data).encode())


def test_an_empty_message_is_invalid() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(None)
    assert caught.value.reason == "empty_message"


def test_a_transaction_record_becomes_an_event_without_its_label() -> None:
    import pandas as pd

    record = {
        "transaction_id": "tx-9",
        "customer_id": "c000001",
        "merchant_id": "m0001",
        "event_timestamp": pd.Timestamp("2026-03-01T06:00:00Z"),
        "amount_aed": 12.0,
        "merchant_category": "grocery",
        "channel": "pos",
        "hour": 10,
        "is_cross_border": False,
        "is_fraud": 1,
    }
    event = event_from_record(record)
    assert event.event_id == "tx-9" and "is_fraud" not in event.model_dump()


def test_the_json_schema_pins_the_version_and_forbids_unknown_fields() -> None:
    schema = TransactionEventV1.model_json_schema()
    assert schema["properties"]["schema_version"]["const"] == 1
    assert schema["additionalProperties"] is False


def test_synthetic_events_are_valid_unique_and_reproducible_from_their_seed() -> None:
    clock = iter(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(10_000))
    first = list(synthetic_events(DataConfig(), 300, seed=5, id_prefix="x", drift=True, clock=lambda: next(clock)))
    clock = iter(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(10_000))
    second = list(synthetic_events(DataConfig(), 300, seed=5, id_prefix="x", drift=True, clock=lambda: next(clock)))
    assert first == second
    assert len({e.event_id for e in first}) == 300
    assert all(parse_event(e.to_json_bytes()) == e for e in first)

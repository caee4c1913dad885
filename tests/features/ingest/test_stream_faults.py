"""Ordinary input that used to block the stream, and dependencies that fail: each test ends in an exact state.

- timestamps of mixed precision and offset in one batch are all applied, to the microsecond;
- events larger than the DLQ takes are dead-lettered as references, and the stream moves on;
- a DLQ that does not confirm, or an online store whose write raises: no offset is committed, nothing is
  marked applied (the next run applies every event once), and the caller gets a one-line reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from stream_helpers import StreamWorld, assert_online_store_holds, write_environment_file
from stream_processes import (
    SAHAB,
    Stream,
    assert_dead_letters_are_exactly,
    assert_offline_rows_are_exactly,
    committed_total,
)

from environments.errors import CommandFailed
from features.ingest.connection import KafkaConnection
from features.ingest.dlq import read_dead_letters
from features.ingest.events import DUBAI, TransactionEventV1
from features.ingest.ingestor import Ingestor, IngestSummary
from features.ingest.producer import EventProducer
from features.ingest.topics import ensure_topics
from features.names import CUSTOMER_TRANSACTIONS_FILE

pytestmark = pytest.mark.slow


def ingest(world: StreamWorld, end_offsets: dict[int, int], **options: object) -> IngestSummary:
    with Ingestor(world.env, store=world.store, connection=world.connection, **options) as ingestor:
        return ingestor.run(until_offsets=end_offsets, max_seconds=120)


def send(world: StreamWorld, payloads: list[tuple[bytes, bytes]]) -> dict[int, int]:
    """Produce raw payloads (up to 2 MB each) and return the end offsets."""
    ensure_topics(world.connection, world.env)
    producer = EventProducer(world.connection, world.env.streaming.topic, settings={"message.max.bytes": 2_000_000})
    for key, value in payloads:
        producer.send(key, value)
    return producer.close(30).end_offsets


def event_json(customer: str, event_id: str, moment: datetime, timestamp_text: str, amount: float) -> bytes:
    """A valid v1 event whose timestamp is written exactly as ``timestamp_text``."""
    body = TransactionEventV1(
        event_id=event_id, transaction_id=event_id, customer_id=customer, merchant_id="m0001", event_timestamp=moment,
        amount_aed=amount, merchant_category="grocery", channel="pos", hour=moment.astimezone(DUBAI).hour,
        is_cross_border=False,
    ).model_dump(mode="json")
    body["event_timestamp"] = timestamp_text
    return json.dumps(body).encode()


def test_timestamps_of_any_precision_and_offset_in_one_batch_are_all_applied(world: StreamWorld) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    texts = [
        lambda m: m.strftime("%Y-%m-%dT%H:%M:%S+00:00"),                   # whole seconds
        lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}+00:00",  # milliseconds
        lambda m: m.isoformat().replace("+00:00", "Z"),                     # microseconds, Z
        lambda m: m.astimezone(DUBAI).isoformat(),                          # another offset
        lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 100_000}+00:00",    # one decimal
    ]
    events, payloads = [], []
    for index in range(40):
        moment = base + timedelta(seconds=index, milliseconds=(index * 137) % 1000)
        moment = moment.replace(microsecond=(moment.microsecond // 100_000) * 100_000) if index % 5 == 4 else moment
        moment = moment.replace(microsecond=(moment.microsecond // 1000) * 1000) if index % 5 == 1 else moment
        moment = moment.replace(microsecond=0) if index % 5 == 0 else moment
        customer = f"c00010{index % 4}"
        payload = event_json(customer, f"ts-{index}", moment, texts[index % 5](moment), 10.0 + index)
        payloads.append((customer.encode(), payload))
        events.append(TransactionEventV1.model_validate_json(payload))

    summary = ingest(world, send(world, payloads), batch_size=1000)

    assert (summary.applied, summary.dead_lettered, summary.caught_up) == (40, 0, True)
    assert_online_store_holds(world.store, events)
    assert_offline_rows_are_exactly(world, events)  # to the microsecond: the rows are keyed by exact time


def test_oversized_events_are_dead_lettered_as_references_and_the_stream_moves_on(world: StreamWorld) -> None:
    stream = Stream(world, count=300, malformed=0, seed=81)
    huge = [(b"c000001", b'{"schema_version": 1, "padding": "' + bytes([65 + i]) * (1024 * 1024) + b'"}') for i in range(5)]
    end = send(world, huge)

    summary = ingest(world, end)

    assert (summary.applied, summary.dead_lettered, summary.caught_up) == (300, 5, True)
    letters = read_dead_letters(world.connection, world.env.streaming.dlq_topic)
    assert len(letters) == 5 and all(letter.is_reference for letter in letters)
    assert len({letter.source for letter in letters}) == 5
    for letter in letters:
        reference = json.loads(letter.value)
        assert reference["size_bytes"] > world.env.streaming.dlq_max_message_bytes
        head = base64.b64decode(reference["value_head_base64"])
        original = next(value for _, value in huge if value.startswith(head))
        assert reference["value_sha256"] == hashlib.sha256(original).hexdigest()
    assert_online_store_holds(world.store, stream.valid)


def test_a_dlq_that_does_not_confirm_commits_nothing_and_the_next_run_applies_everything_once(world: StreamWorld) -> None:
    stream = Stream(world, count=400, malformed=10, seed=91)
    refused = KafkaConnection(bootstrap_servers=f"127.0.0.1:{closed_port()}")

    with pytest.raises(CommandFailed, match="dead letters of partition .* were not confirmed") as failure:
        ingest(world, stream.produced.end_offsets, dlq_connection=refused, dlq_timeout_s=2.0)

    assert "\n" not in str(failure.value)
    assert committed_total(world) == 0
    again = ingest(world, stream.produced.end_offsets)
    assert (again.applied, again.duplicates, again.dead_lettered) == (390, 0, 10)
    assert_online_store_holds(world.store, stream.valid)
    assert_offline_rows_are_exactly(world, stream.valid)
    assert_dead_letters_are_exactly(world, stream.malformed)


def test_an_online_store_whose_write_raises_commits_nothing_and_marks_nothing_applied(world: StreamWorld, tmp_path: Path) -> None:
    stream = Stream(world, count=400, malformed=0, seed=101)
    online_db = world.env.data_path() / "feature_repo" / "online_store.db"
    assert online_db.is_file()
    env_file = write_environment_file(world.env, tmp_path / "env")
    subprocess.run(["chattr", "+i", str(online_db)], check=True)  # root ignores modes; an immutable file it cannot write
    try:
        failed = subprocess.run(
            [SAHAB, "stream", "ingest", "--env", str(env_file), "--metrics-port", "0", "--max-seconds", "60"],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        subprocess.run(["chattr", "-i", str(online_db)], check=True)

    assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
    assert "writing" in failed.stderr and "online store failed 3 times" in failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    assert committed_total(world) == 0
    assert not list((world.env.data_path() / "offline" / CUSTOMER_TRANSACTIONS_FILE).glob("stream-*"))
    again = ingest(world, stream.produced.end_offsets)
    assert (again.applied, again.duplicates) == (400, 0)  # nothing had been marked applied
    assert_online_store_holds(world.store, stream.valid)
    assert_offline_rows_are_exactly(world, stream.valid)


def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

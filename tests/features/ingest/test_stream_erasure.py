"""Personal data in the stream: the ingestor's state and changelog hold pseudonyms only, and an erasure request
removes one customer from the state, the changelog and the online store, leaving the others as they were."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from rocksdict import AccessType, Options, Rdict
from stream_helpers import StreamWorld, online_features
from test_stream_ingestor import ingest, live_events, produce

from features.aggregations import RECENT_EVENTS, unpack_events
from features.ingest.erasure_requests import request_erasure
from features.ingest.events import TransactionEventV1
from features.ingest.ingestor import Ingestor, IngestSummary, state_dir_for
from features.pseudonyms import pseudonymiser_for

pytestmark = pytest.mark.slow


#: The engine's local TTL index: a deleted key's entry (its expiry stamp + key, no value) stays until that expiry,
#: when the sweep drops it; it is never written to the changelog.
TTL_INDEX = "__ttl_index__"


def state_records(state_dir: Path, *, families: tuple[str, ...] | None = None) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of the column families (default: all) of every RocksDB store under ``state_dir``."""
    records = []
    for current in state_dir.rglob("CURRENT"):
        options = Options(raw_mode=True)
        present = {name: Options(raw_mode=True) for name in Rdict.list_cf(str(current.parent), options)}
        db = Rdict(str(current.parent), options=options, column_families=present, access_type=AccessType.read_only())
        try:
            for name in present:
                if families is None or name in families:
                    records += list(db.get_column_family(name).items())
        finally:
            db.close()
    return records


def changelog_records(world: StreamWorld, timeout_s: float = 15.0) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) of the consumer group's changelog topics, oldest first per partition."""
    consumer = Consumer({**world.connection.client_config(), "group.id": "test-changelog-reader", "enable.auto.commit": False})
    try:
        topics = [t for t in consumer.list_topics(timeout=10).topics if "changelog" in t and world.env.streaming.consumer_group in t]
        assert topics, "the ingestor wrote no changelog topic"
        metadata = consumer.list_topics(timeout=10).topics
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in metadata[t].partitions])
        records, quiet_since = [], time.monotonic()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 2.0:
            batch = [m for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
            if batch:
                quiet_since = time.monotonic()
            records += [(m.key(), m.value()) for m in batch]
        return records
    finally:
        consumer.close()


def read_requests(world: StreamWorld, offsets: dict[int, int]) -> IngestSummary:
    """Run the ingestor until it has read the erasure requests."""
    with Ingestor(world.env, store=world.store, connection=world.connection) as ingestor:
        summary = ingestor.run(until_offsets=offsets, max_seconds=120)
    assert summary.caught_up, summary
    return summary


def holds(records: list[tuple[bytes | None, bytes | None]], needle: str) -> bool:
    return any(needle.encode() in (part or b"") for record in records for part in record)


@pytest.fixture
def streamed(world: StreamWorld) -> tuple[StreamWorld, list[TransactionEventV1]]:
    events = live_events(world, 600, seed=41)
    ingest(world, produce(world, [(e.key, e.to_json_bytes(), None) for e in events]))
    return world, events


def test_the_state_and_its_changelog_hold_pseudonyms_and_no_raw_customer_id(streamed) -> None:
    world, events = streamed
    pseudonym = pseudonymiser_for(world.env)
    raw_ids = sorted({e.customer_id for e in events})
    state, changelog = state_records(state_dir_for(world.env)), changelog_records(world)
    assert state and changelog
    for raw in raw_ids:
        assert not holds(state, raw) and not holds(changelog, raw), raw
    assert all(holds(state, pseudonym(raw)) and holds(changelog, pseudonym(raw)) for raw in raw_ids)


def test_an_erasure_request_removes_the_customer_from_state_changelog_and_online_store_and_no_one_else(streamed) -> None:
    world, events = streamed
    pseudonym = pseudonymiser_for(world.env)
    customers = sorted({e.customer_id for e in events})
    erased, others = customers[0], customers[1:]
    before = online_features(world.store, others)

    offsets = request_erasure(world.connection, world.env.streaming, pseudonym(erased))
    assert sorted(offsets) == list(range(world.env.streaming.partitions))  # every partition: producers' hashes differ
    summary = read_requests(world, offsets)

    assert summary.erasures == world.env.streaming.partitions and summary.applied == 0
    assert online_features(world.store, [erased])[erased][RECENT_EVENTS] is None
    assert online_features(world.store, others) == before
    data_families = tuple(f for f in Rdict.list_cf(str(next(state_dir_for(world.env).rglob("CURRENT")).parent)) if f != TTL_INDEX)
    assert not holds(state_records(state_dir_for(world.env), families=data_families), pseudonym(erased))
    ghosts = [(k, v) for k, v in state_records(state_dir_for(world.env), families=(TTL_INDEX,)) if pseudonym(erased).encode() in k]
    assert all(value == b"" for _, value in ghosts)  # at most the expiry index's key, holding nothing
    latest = {key: value for key, value in changelog_records(world) if key and pseudonym(erased).encode() in key}
    assert latest and all(value is None for value in latest.values())  # the engine's tombstone is the last word


def test_a_replica_restored_from_the_changelog_alone_does_not_bring_the_customer_back(streamed) -> None:
    """The local folder deleted, the next owner restores from the changelog: the customer's next event starts an
    empty history (one transaction in the week), while another customer's history is restored whole."""
    world, events = streamed
    pseudonym = pseudonymiser_for(world.env)
    counts: dict[str, int] = {}
    for event in events:
        counts[event.customer_id] = counts.get(event.customer_id, 0) + 1
    erased, kept = sorted(counts, key=lambda c: (-counts[c], c))[:2]  # two customers with several events each
    offsets = request_erasure(world.connection, world.env.streaming, pseudonym(erased))
    read_requests(world, offsets)
    shutil.rmtree(state_dir_for(world.env))

    last = max(events, key=lambda e: e.event_timestamp)
    again = [e.model_copy(update={"event_id": f"after-{e.customer_id}", "transaction_id": f"after-{e.customer_id}"})
             for e in (next(e for e in events if e.customer_id == erased), next(e for e in events if e.customer_id == kept))]
    again = [e.model_copy(update={"event_timestamp": last.event_timestamp}) for e in again]
    ingest(world, produce(world, [(e.key, e.to_json_bytes(), None) for e in again]))
    rows = online_features(world.store, [erased, kept])
    assert len(unpack_events(rows[erased][RECENT_EVENTS])) == 1
    assert len(unpack_events(rows[kept][RECENT_EVENTS])) == counts[kept] + 1


def test_an_event_under_another_customers_key_is_dead_lettered_under_the_keys_pseudonym_naming_no_id(world) -> None:
    from features.ingest.dlq import read_dead_letters

    [event] = live_events(world, 1, seed=43)
    ingest(world, produce(world, [(b"c000299", event.to_json_bytes(), None)]))
    [letter] = read_dead_letters(world.connection, world.env.streaming.dlq_topic)
    assert letter.reason == "wrong_key" and letter.key == pseudonymiser_for(world.env)("c000299").encode()
    assert "c000299" not in letter.error and event.customer_id not in letter.error
    assert letter.value == event.to_json_bytes()  # the raw payload: the DLQ's stated exception (privacy.dlq_days)

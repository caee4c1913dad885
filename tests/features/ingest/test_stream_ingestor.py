"""The ingestor on a real Tansu broker and a real Feast store: counts add up, the DLQ explains every
rejected event, re-delivery changes nothing, late events never roll features back, lag is exported."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from stream_helpers import (
    StreamWorld,
    assert_online_store_holds,
    feature_store_with_definitions,
    make_environment,
    online_features,
    write_environment_file,
)
from stream_processes import SAHAB, committed_total
from test_stream_events import EXPECTED_REASON

from features.aggregations import customer_features_at
from features.ingest.dlq import read_dead_letters
from features.ingest.events import DUBAI, TransactionEventV1
from features.ingest.ingestor import Ingestor, IngestSummary
from features.ingest.producer import ProduceSummary, produce_payloads
from features.ingest.synthetic import MALFORMATIONS, malformed_payload, synthetic_events
from features.ingest.topics import ensure_topics
from features.names import CUSTOMER_TRANSACTIONS_FILE
from features.pseudonyms import pseudonymise_column, pseudonymiser_for
from features.ingest.local_broker import LocalBroker

pytestmark = pytest.mark.slow

TOTAL_EVENTS = 10_000
MALFORMED_EVENTS = 100  # 1 %


#: Scoring "just after" the latest event reads every stored event (features count strictly before the instant).
JUST_AFTER = timedelta(microseconds=1)

def produce(world: StreamWorld, payloads: list[tuple[bytes | None, bytes | None, None]]) -> ProduceSummary:
    ensure_topics(world.connection, world.env)
    return produce_payloads(world.connection, world.env.streaming.topic, payloads)


def ingest(world: StreamWorld, produced: ProduceSummary, **options: object) -> IngestSummary:
    with Ingestor(world.env, store=world.store, connection=world.connection, **options) as ingestor:
        summary = ingestor.run(until_offsets=produced.end_offsets, max_seconds=120)
    assert summary.caught_up, f"did not catch up: {summary}"
    return summary


def live_events(world: StreamWorld, count: int, seed: int) -> list[TransactionEventV1]:
    return list(synthetic_events(world.env.data, count, seed=seed, id_prefix=f"t{seed}"))


class TenThousand:
    """10,000 events, 1 % of them malformed in every way the contract names, ingested once."""

    def __init__(self, world: StreamWorld) -> None:
        self.world = world
        events = live_events(world, TOTAL_EVENTS, seed=11)
        broken_at = set(random.Random(3).sample(range(TOTAL_EVENTS), MALFORMED_EVENTS))
        self.valid = [e for i, e in enumerate(events) if i not in broken_at]
        self.malformed: dict[bytes, str] = {}  # payload -> malformation kind
        payloads = []
        for index, event in enumerate(events):
            if index in broken_at:
                kind = MALFORMATIONS[len(self.malformed) % len(MALFORMATIONS)]
                payload = malformed_payload(event, kind)
                self.malformed[payload] = kind
                payloads.append((event.key, payload, None))
            else:
                payloads.append((event.key, event.to_json_bytes(), None))
        self.produced = produce(world, payloads)
        self.summary = ingest(world, self.produced)


@pytest.fixture(scope="module")
def ten_thousand(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> TenThousand:
    env = make_environment(tmp_path_factory.mktemp("ten-thousand"), bootstrap_servers=broker.bootstrap_servers)
    return TenThousand(StreamWorld(env=env, store=feature_store_with_definitions(env)))


def test_ten_thousand_events_are_all_delivered_to_the_broker(ten_thousand: TenThousand) -> None:
    assert ten_thousand.produced.delivered == TOTAL_EVENTS
    assert sum(ten_thousand.produced.end_offsets.values()) == TOTAL_EVENTS


def test_counts_add_up_exactly_valid_applied_plus_malformed_dead_lettered(ten_thousand: TenThousand) -> None:
    summary = ten_thousand.summary
    assert (summary.applied, summary.dead_lettered, summary.duplicates) == (TOTAL_EVENTS - MALFORMED_EVENTS, MALFORMED_EVENTS, 0)


def test_every_valid_event_is_reflected_in_the_online_store(ten_thousand: TenThousand) -> None:
    assert_online_store_holds(ten_thousand.world.store, ten_thousand.valid)


def test_every_malformed_event_is_in_the_dlq_once_with_its_reason(ten_thousand: TenThousand) -> None:
    world = ten_thousand.world
    letters = read_dead_letters(world.connection, world.env.streaming.dlq_topic)
    assert len(letters) == MALFORMED_EVENTS
    assert {letter.value for letter in letters} == set(ten_thousand.malformed)
    for letter in letters:
        reason, words = EXPECTED_REASON[ten_thousand.malformed[letter.value]]
        assert letter.reason == reason and words in letter.error
    assert len({letter.source for letter in letters}) == MALFORMED_EVENTS


def test_every_valid_event_has_one_offline_row_as_of_itself(ten_thousand: TenThousand) -> None:
    offline = pd.read_parquet(ten_thousand.world.env.data_path() / "offline" / CUSTOMER_TRANSACTIONS_FILE)
    rows = Counter(zip(offline["customer_id"], pd.to_datetime(offline["event_timestamp"], utc=True)))
    pseudonym = pseudonymiser_for(ten_thousand.world.env)
    expected = Counter((pseudonym(e.customer_id), pd.Timestamp(e.event_timestamp)) for e in ten_thousand.valid)
    assert rows == expected


def test_redelivered_events_change_nothing(world: StreamWorld) -> None:
    events = live_events(world, 1000, seed=21)
    ingest(world, produce(world, [(e.key, e.to_json_bytes(), None) for e in events]))
    customers = sorted({e.customer_id for e in events})
    before = online_features(world.store, customers)

    again = produce(world, [(e.key, e.to_json_bytes(), None) for e in events[:400]])
    summary = ingest(world, again)

    assert (summary.applied, summary.duplicates) == (0, 400)
    assert online_features(world.store, customers) == before
    offline = pd.read_parquet(world.env.data_path() / "offline" / CUSTOMER_TRANSACTIONS_FILE)
    assert len(offline) == 1000


def an_event_at(moment: datetime, event_id: str, amount: float) -> TransactionEventV1:
    return TransactionEventV1(
        event_id=event_id,
        transaction_id=event_id,
        customer_id="c000007",
        merchant_id="m0003",
        event_timestamp=moment,
        amount_aed=amount,
        merchant_category="fuel",
        channel="pos",
        hour=moment.astimezone(DUBAI).hour,
        is_cross_border=False,
    )


def test_a_late_event_is_counted_without_rolling_the_features_back(world: StreamWorld) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    on_time = an_event_at(now, "late-test-1", 100.0)
    late = an_event_at(now - timedelta(minutes=30), "late-test-2", 50.0)
    ingest(world, produce(world, [(on_time.key, on_time.to_json_bytes(), None)]))
    ingest(world, produce(world, [(late.key, late.to_json_bytes(), None)]))

    features = customer_features_at(online_features(world.store, ["c000007"])["c000007"], now + JUST_AFTER)
    assert (features["txn_count_1h"], features["amount_sum_1h_aed"]) == (2, 150.0)


def test_consumer_lag_is_exported_as_a_prometheus_metric(world: StreamWorld, loopback_port: int, tmp_path: Path) -> None:
    """The real command's /metrics: lag per partition rises while a backlog is read and ends at 0."""
    env_file = write_environment_file(world.env, tmp_path / "envs")
    ensure_topics(world.connection, world.env)
    log = tmp_path / "ingest.log"
    process = subprocess.Popen(
        [SAHAB, "stream", "ingest", "--env", str(env_file), "--metrics-port", str(loopback_port)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        produced = produce(world, [(e.key, e.to_json_bytes(), None) for e in live_events(world, 6000, seed=31)])
        seen: list[dict[str, float]] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            seen.append(scrape_lag(loopback_port))
            if len(seen[-1]) == world.env.streaming.partitions and not any(seen[-1].values()) and committed_total(world) == 6000:
                break
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert sum(produced.end_offsets.values()) == 6000
    assert max(sum(sample.values()) for sample in seen) > 0, "the lag never showed the backlog"
    assert seen[-1] == {str(p): 0.0 for p in range(world.env.streaming.partitions)}


def scrape_lag(port: int) -> dict[str, float]:
    """``sahab_ingest_consumer_lag`` by partition, as Prometheus would scrape it (empty while unknown)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.TransportError:
        return {}
    lag = {}
    for line in text.splitlines():
        if line.startswith("sahab_ingest_consumer_lag{"):
            partition = line.split('partition="', 1)[1].split('"', 1)[0]
            lag[partition] = float(line.rsplit(" ", 1)[1])
    return lag


def test_recorded_transactions_inside_the_windows_count_toward_streamed_features(world: StreamWorld) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    recorded = [an_event_at(now - age, f"hist-{i}", 10.0) for i, age in enumerate((timedelta(hours=2), timedelta(days=3), timedelta(days=10)))]
    offline = world.env.data_path() / "offline"
    offline.mkdir(parents=True, exist_ok=True)
    recorded_rows = pd.DataFrame([e.model_dump() | {"is_fraud": 0} for e in recorded])
    pseudonymise_column(recorded_rows, pseudonymiser_for(world.env)).to_parquet(offline / "transactions.parquet")

    live = an_event_at(now, "live-1", 10.0)
    summary = ingest(world, produce(world, [(live.key, live.to_json_bytes(), None)]))
    replayed = ingest(world, produce(world, [(recorded[0].key, recorded[0].to_json_bytes(), None)]))

    features = customer_features_at(online_features(world.store, ["c000007"])["c000007"], now + JUST_AFTER)
    assert (features["txn_count_1h"], features["txn_count_24h"], features["txn_count_7d"]) == (1, 2, 3)
    assert (summary.applied, replayed.applied, replayed.duplicates) == (1, 0, 1)

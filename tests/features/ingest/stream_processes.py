"""Helpers of the streaming suite that run the real ``sahab stream ingest`` command: events produced for a
test, the command started and stopped by its pid, the group's progress read from the broker."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from confluent_kafka import Consumer, TopicPartition
from stream_helpers import StreamWorld

from features.ingest.dlq import read_dead_letters
from features.ingest.events import TransactionEventV1
from features.ingest.producer import ProduceSummary, produce_payloads
from features.ingest.synthetic import MALFORMATIONS, malformed_payload, synthetic_events
from features.ingest.topics import ensure_topics
from features.names import CUSTOMER_TRANSACTIONS_FILE
from features.pseudonyms import pseudonymiser_for

SAHAB = str(Path(sys.executable).with_name("sahab"))


class Stream:
    """Events produced for a test: the valid ones and the malformed payloads, and where they ended."""

    def __init__(self, world: StreamWorld, count: int, malformed: int, seed: int) -> None:
        events = list(synthetic_events(world.env.data, count, seed=seed, id_prefix=f"r{seed}"))
        broken_at = set(random.Random(seed).sample(range(count), malformed))
        self.valid: list[TransactionEventV1] = [e for i, e in enumerate(events) if i not in broken_at]
        self.malformed = {
            malformed_payload(e, MALFORMATIONS[i % len(MALFORMATIONS)]) for i, e in enumerate(events) if i in broken_at
        }
        payloads = [
            (e.key, malformed_payload(e, MALFORMATIONS[i % len(MALFORMATIONS)]) if i in broken_at else e.to_json_bytes(), None)
            for i, e in enumerate(events)
        ]
        ensure_topics(world.connection, world.env)
        self.produced: ProduceSummary = produce_payloads(world.connection, world.env.streaming.topic, payloads)


def start_ingestor(env_file: Path, log: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SAHAB, "stream", "ingest", "--env", str(env_file), "--metrics-port", "0", *options],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def owned_partitions(log: Path) -> dict[str, list[int]]:
    """Per replica, the partitions it said it owns last (``<replica> owns partitions [...]`` lines)."""
    return {m[1]: json.loads(m[2]) for m in re.finditer(r"(replica-\d+) owns partitions (\[[\d, ]*\])", log.read_text())}


def wait_for_members(replicas: list[str], processes: list[subprocess.Popen], log: Path, timeout_s: float = 90) -> None:
    """Until each of ``replicas`` owns at least one partition (a rebalance has completed)."""
    deadline = time.monotonic() + timeout_s
    owned: dict[str, list[int]] = {}
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"a replica exited early ({process.returncode}):\n{log.read_text()[-3000:]}"
        owned = owned_partitions(log)
        if all(owned.get(replica) for replica in replicas):
            return
        time.sleep(0.2)
    raise AssertionError(f"the partitions were not spread over {replicas} within {timeout_s} s (last: {owned})")


def committed_total(world: StreamWorld) -> int:
    """Sum of the ingestor group's committed offsets, read without joining the group."""
    reader = Consumer({**world.connection.client_config(), "group.id": world.env.streaming.consumer_group})
    try:
        partitions = [TopicPartition(world.env.streaming.topic, p) for p in range(world.env.streaming.partitions)]
        return sum(max(tp.offset, 0) for tp in reader.committed(partitions, timeout=10))
    finally:
        reader.close()


def wait_for_progress(world: StreamWorld, process: subprocess.Popen, at_least: int, log: Path, timeout_s: float = 90) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the ingestor exited early ({process.returncode}):\n{log.read_text()[-3000:]}"
        done = committed_total(world)
        if done >= at_least:
            return done
        time.sleep(0.05)
    raise AssertionError(f"no progress to {at_least} within {timeout_s} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen, sig: signal.Signals, timeout_s: float = 30) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def assert_offline_rows_are_exactly(world: StreamWorld, valid: list[TransactionEventV1]) -> None:
    """One offline row per distinct valid event, as of itself: none lost, none doubled."""
    offline = pd.read_parquet(world.env.data_path() / "offline" / CUSTOMER_TRANSACTIONS_FILE)
    rows = Counter(zip(offline["customer_id"], pd.to_datetime(offline["event_timestamp"], utc=True)))
    pseudonym = pseudonymiser_for(world.env)
    expected = Counter((pseudonym(e.customer_id), pd.Timestamp(e.event_timestamp)) for e in {e.event_id: e for e in valid}.values())
    lost, doubled = expected - rows, rows - expected
    assert not lost and not doubled, f"{sum(lost.values())} offline rows lost, {sum(doubled.values())} extra"


def assert_dead_letters_are_exactly(world: StreamWorld, malformed: set[bytes]) -> None:
    """Every malformed payload in the DLQ, each from one source message."""
    letters = read_dead_letters(world.connection, world.env.streaming.dlq_topic)
    assert {letter.value for letter in letters} == malformed
    assert len({letter.source for letter in letters}) == len(malformed)

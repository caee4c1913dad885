"""The real ``sahab stream ingest`` process, killed: SIGKILL mid-stream loses nothing and counts nothing
twice after a restart; SIGTERM finishes the batch, commits, and exits 0."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from confluent_kafka import Consumer, TopicPartition
from stream_helpers import StreamWorld, assert_online_store_holds, write_environment_file

from features.ingest.dlq import read_dead_letters
from features.ingest.events import TransactionEventV1
from features.ingest.ingestor import Ingestor, state_path_for
from features.ingest.producer import ProduceSummary, produce_payloads
from features.ingest.state import IngestState
from features.ingest.synthetic import MALFORMATIONS, malformed_payload, synthetic_events
from features.ingest.topics import ensure_topics
from features.names import CUSTOMER_TRANSACTIONS_FILE

pytestmark = pytest.mark.slow

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
        ensure_topics(world.connection, world.env.streaming)
        self.produced: ProduceSummary = produce_payloads(world.connection, world.env.streaming.topic, payloads)


def start_ingestor(env_file: Path, log: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SAHAB, "stream", "ingest", "--env", str(env_file), "--metrics-port", "0", *options],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


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


def test_sigkill_mid_stream_then_restart_loses_nothing_and_counts_nothing_twice(world: StreamWorld, tmp_path: Path) -> None:
    stream = Stream(world, count=3000, malformed=30, seed=41)
    total = sum(stream.produced.end_offsets.values())
    env_file = write_environment_file(world.env, tmp_path / "env")
    log = tmp_path / "ingestor.log"

    process = start_ingestor(env_file, log, "--batch-size", "100")
    reached = wait_for_progress(world, process, total // 3, log)  # a third of the way in, mid-batch
    assert stop(process, signal.SIGKILL) == -signal.SIGKILL
    assert reached < total, "the ingestor finished before it could be killed mid-stream"

    final = start_ingestor(env_file, log, "--batch-size", "100", "--until-caught-up", "--max-seconds", "120")
    assert final.wait(timeout=180) == 0, log.read_text()[-3000:]

    assert_online_store_holds(world.store, stream.valid)
    state = IngestState(state_path_for(world.env), retention=timedelta(days=8))
    try:
        assert state.applied_ids() == {e.event_id for e in stream.valid}
    finally:
        state.close()
    offline = pd.read_parquet(world.env.data_path() / "offline" / CUSTOMER_TRANSACTIONS_FILE)
    rows = Counter(zip(offline["customer_id"], pd.to_datetime(offline["event_timestamp"], utc=True)))
    assert rows == Counter((e.customer_id, pd.Timestamp(e.event_timestamp)) for e in stream.valid)
    letters = read_dead_letters(world.connection, world.env.streaming.dlq_topic)
    assert {letter.value for letter in letters} == stream.malformed
    assert len({letter.source for letter in letters}) == len(stream.malformed)


def test_sigterm_finishes_the_batch_commits_and_exits_zero(world: StreamWorld, tmp_path: Path) -> None:
    stream = Stream(world, count=1500, malformed=0, seed=51)
    env_file = write_environment_file(world.env, tmp_path / "env")
    log = tmp_path / "ingestor.log"
    process = start_ingestor(env_file, log, "--batch-size", "100")
    wait_for_progress(world, process, 1, log)

    assert stop(process, signal.SIGTERM) == 0, log.read_text()[-3000:]
    assert "stopped (stop)" in log.read_text()

    with Ingestor(world.env, store=world.store, connection=world.connection) as ingestor:
        rest = ingestor.run(until_offsets=stream.produced.end_offsets, max_seconds=120)
    assert rest.caught_up and rest.duplicates == 0  # nothing the stopped process applied is read again
    assert_online_store_holds(world.store, stream.valid)

"""A broker restart with Tansu's S3 storage engine on moto's server: the log and the group's committed offsets
survive. The ingestor refuses that storage (its high watermarks are wrong, see ``local_broker``). Also the
burst hook ``sahab up local`` calls, on the default in-memory broker."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from stream_helpers import StreamWorld, assert_online_store_holds, feature_store_with_definitions, make_environment

from features.ingest.burst import stream_burst
from features.ingest.ingestor import Ingestor
from features.ingest.producer import produce_payloads
from features.ingest.synthetic import synthetic_events
from features.ingest.topics import ensure_topics
from features.ingest.local_broker import LocalBroker, start_local_broker, stop_local_broker
from environments.errors import ConfigError
from environments.process_records import stop_child

pytestmark = pytest.mark.slow

BUCKET = "sahab-local-broker"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "me-central-1", "AWS_REGION": "me-central-1"}


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free loopback port, with the broker's bucket; stopped by its pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        boto3.client("s3", endpoint_url=url, **_boto_credentials()).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "me-central-1"}
        )
        yield url
    finally:
        stop_child(server)


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": DUMMY_AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": DUMMY_AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": DUMMY_AWS["AWS_REGION"],
    }


def start_durable_broker(world: StreamWorld, moto_url: str, port: int) -> LocalBroker:
    return start_local_broker(
        world.env,
        port=port,
        storage_url=f"s3://{BUCKET}/",
        extra_env={"AWS_ENDPOINT": moto_url, "AWS_ALLOW_HTTP": "true", **DUMMY_AWS},
    )


def burst(world: StreamWorld, count: int, seed: int) -> tuple[list, dict[int, int]]:
    events = list(synthetic_events(world.env.data, count, seed=seed, id_prefix=f"d{seed}"))
    ensure_topics(world.connection, world.env)
    produced = produce_payloads(world.connection, world.env.streaming.topic, [(e.key, e.to_json_bytes(), None) for e in events])
    return events, produced.end_offsets


def test_a_restarted_s3_backed_broker_keeps_the_log_and_the_committed_offsets(
    moto_s3: str, tmp_path: Path, loopback_port: int
) -> None:
    env = make_environment(tmp_path / "data", bootstrap_servers=f"127.0.0.1:{loopback_port}")
    world = StreamWorld(env=env, store=None)
    start_durable_broker(world, moto_s3, loopback_port)
    try:
        events, end_offsets = burst(world, 300, seed=61)
        commit(world, {partition: offset for partition, offset in end_offsets.items()})

        assert stop_local_broker(env)
        start_durable_broker(world, moto_s3, loopback_port)

        assert read_values(world, end_offsets) == sorted(e.to_json_bytes() for e in events)
        assert committed(world) == end_offsets
    finally:
        stop_local_broker(env)


def test_the_ingestor_refuses_an_s3_backed_local_broker_naming_the_field(moto_s3: str, tmp_path: Path, loopback_port: int) -> None:
    env = make_environment(tmp_path / "data", bootstrap_servers=f"127.0.0.1:{loopback_port}")
    world = StreamWorld(env=env, store=feature_store_with_definitions(env))
    start_durable_broker(world, moto_s3, loopback_port)
    try:
        with pytest.raises(ConfigError, match="'streaming.local_broker_storage' to memory://tansu/"):
            Ingestor(env, store=world.store, connection=world.connection)
    finally:
        stop_local_broker(env)


def commit(world: StreamWorld, offsets: dict[int, int]) -> None:
    consumer = Consumer({**world.connection.client_config(), "group.id": world.env.streaming.consumer_group})
    try:
        consumer.commit(offsets=[TopicPartition(world.env.streaming.topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def committed(world: StreamWorld) -> dict[int, int]:
    consumer = Consumer({**world.connection.client_config(), "group.id": world.env.streaming.consumer_group})
    try:
        found = consumer.committed([TopicPartition(world.env.streaming.topic, p) for p in range(world.env.streaming.partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}
    finally:
        consumer.close()


def read_values(world: StreamWorld, end_offsets: dict[int, int], timeout_s: float = 30) -> list[bytes]:
    """Every record up to ``end_offsets``, read from the start without a group."""
    consumer = Consumer({**world.connection.client_config(), "group.id": "durable-reader", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(world.env.streaming.topic, p, OFFSET_BEGINNING) for p in end_offsets])
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while len(values) < sum(end_offsets.values()) and time.monotonic() < deadline:
            values += [m.value() for m in consumer.consume(500, timeout=0.5) if m.error() is None]
        return sorted(values)
    finally:
        consumer.close()


def test_the_burst_hook_streams_events_until_the_online_store_has_them_all(tmp_path: Path) -> None:
    env = make_environment(tmp_path / "data")
    store = feature_store_with_definitions(env)
    start_local_broker(env)
    try:
        summary = stream_burst(env, 800, seed=71, store=store)
    finally:
        stop_local_broker(env)
    assert (summary.produced, summary.applied, summary.duplicates, summary.dead_lettered) == (800, 800, 0, 0)
    # The same seed regenerates the same events; their timestamps differ by the seconds since, but every
    # event of the burst is within the last hour either way, so every row holds the same events in the same order.
    assert_online_store_holds(store, list(synthetic_events(env.data, 800, seed=71, id_prefix="burst-71")),
                              compare_times=False)


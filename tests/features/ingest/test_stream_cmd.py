"""``sahab stream``: the commands wire flags to the library and report what happened (no Feast needed here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stream_helpers import make_environment, write_environment_file
from typer.testing import CliRunner

from environments.errors import ConfigError
from infra.cli.main import app
from features.ingest.local_broker import running_broker, stop_local_broker

runner = CliRunner()


def test_schema_prints_the_v1_json_schema() -> None:
    result = runner.invoke(app, ["stream", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["properties"]["schema_version"]["const"] == 1


def test_broker_start_status_and_stop_manage_one_process(tmp_path: Path) -> None:
    env = make_environment(tmp_path / "data")
    env_file = str(write_environment_file(env, tmp_path / "env"))
    try:
        started = runner.invoke(app, ["stream", "broker", "start", "--env", env_file])
        assert started.exit_code == 0, started.output
        broker = running_broker(env)
        assert broker is not None and broker.bootstrap_servers in started.stdout
        status = runner.invoke(app, ["stream", "broker", "status", "--env", env_file])
        assert f"pid {broker.pid}" in status.stdout
        assert "broker stopped" in runner.invoke(app, ["stream", "broker", "stop", "--env", env_file]).stdout
        assert running_broker(env) is None
    finally:
        stop_local_broker(env)


def read_topic(connection, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    """Every message of ``topic`` (without a group), until ``expected`` arrived or the timeout."""
    import time

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**connection.client_config(), "group.id": "test-reader", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list = []
        deadline = time.monotonic() + timeout_s
        while len(messages) < expected and time.monotonic() < deadline:
            messages += [m for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
        return messages
    finally:
        consumer.close()


def test_produce_keys_events_by_customer_so_each_customer_stays_on_one_partition(tmp_path: Path) -> None:
    from features.ingest.connection import connection_for
    from features.ingest.events import parse_event

    env = make_environment(tmp_path / "data")
    env_file = str(write_environment_file(env, tmp_path / "env"))
    runner.invoke(app, ["stream", "broker", "start", "--env", env_file])
    try:
        produced = runner.invoke(app, ["stream", "produce", "--env", env_file, "--count", "600", "--seed", "9"])
        assert produced.exit_code == 0, produced.output
        assert "delivered 600 events" in produced.stdout
        messages = read_topic(connection_for(env), env.streaming.topic, 600)
    finally:
        stop_local_broker(env)
    assert len(messages) == 600
    partitions_of: dict[bytes, set[int]] = {}
    for message in messages:
        assert parse_event(message.value()).key == message.key()
        partitions_of.setdefault(message.key(), set()).add(message.partition())
    assert all(len(partitions) == 1 for partitions in partitions_of.values())
    assert len({p for partitions in partitions_of.values() for p in partitions}) == env.streaming.partitions


@pytest.mark.parametrize("command", [["stream", "produce"], ["stream", "dlq"]])
def test_commands_on_a_local_environment_without_a_broker_exit_2_with_the_fix(tmp_path: Path, command: list[str]) -> None:
    import subprocess
    import sys

    env_file = str(write_environment_file(make_environment(tmp_path / "data"), tmp_path / "env"))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("sahab")), *command, "--env", env_file],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "no local broker is running" in result.stderr and "sahab up local" in result.stderr


def test_produce_replay_moves_recorded_transactions_to_today_by_whole_days(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    import pandas as pd

    from features.ingest.connection import connection_for
    from features.ingest.events import parse_event
    from features.ingest.synthetic import synthetic_events
    from environments import DataConfig

    moments = iter(datetime(2026, 1, 10, 9, 0, tzinfo=UTC) + timedelta(minutes=7 * i) for i in range(50))
    recorded = list(synthetic_events(DataConfig(), 50, seed=3, id_prefix="tx3", clock=lambda: next(moments)))
    parquet = tmp_path / "transactions.parquet"
    pd.DataFrame([e.model_dump(exclude={"schema_version", "event_id"}) | {"is_fraud": 0} for e in recorded]).to_parquet(parquet)

    env = make_environment(tmp_path / "data")
    env_file = str(write_environment_file(env, tmp_path / "env"))
    runner.invoke(app, ["stream", "broker", "start", "--env", env_file])
    try:
        produced = runner.invoke(app, ["stream", "produce", "--env", env_file, "--replay", str(parquet), "--count", "50"])
        assert produced.exit_code == 0, produced.output
        replayed = [parse_event(m.value()) for m in read_topic(connection_for(env), env.streaming.topic, 50)]
    finally:
        stop_local_broker(env)
    by_id = {e.transaction_id: e for e in recorded}
    shifts = {r.event_timestamp - by_id[r.transaction_id].event_timestamp for r in replayed}
    assert len(replayed) == 50 and len(shifts) == 1
    shift = shifts.pop()
    assert shift % timedelta(days=1) == timedelta(0)
    assert (datetime.now(UTC) - max(r.event_timestamp for r in replayed)) < timedelta(days=1)


def test_replaying_a_pseudonymised_offline_table_is_refused_naming_the_file_and_the_way_out(tmp_path: Path) -> None:
    import pandas as pd

    from features.pseudonyms import LOCAL_KEY_FILE, LocalMacKey, Pseudonymiser

    parquet = tmp_path / "transactions.parquet"
    pseudonym = Pseudonymiser(LocalMacKey(tmp_path / LOCAL_KEY_FILE))("c000001")
    pd.DataFrame({"customer_id": [pseudonym], "event_timestamp": [pd.Timestamp("2026-01-05", tz="UTC")]}).to_parquet(parquet)
    env_file = str(write_environment_file(make_environment(tmp_path / "data"), tmp_path / "env"))
    refused = runner.invoke(app, ["stream", "produce", "--env", env_file, "--replay", str(parquet)])
    assert isinstance(refused.exception, ConfigError)  # the entry point turns it into exit 2 (tests/infra/test_cli_refusals.py)
    assert "holds customer pseudonyms" in str(refused.exception) and str(parquet) in str(refused.exception)

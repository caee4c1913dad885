"""``sahab stream ...``: produce transaction events, run the ingestor, manage the local broker, read the DLQ.

A thin adapter: each command parses flags, calls ``features.ingest`` / ``features.ingest.local_broker`` and
prints the result. Feast and the Kafka client are imported inside the commands (the CLI starts fast).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from environments import Environment, load_environment
from environments.errors import ConfigError

console = Console()
stream_app = typer.Typer(help="Kafka ingestion: produce events, run the ingestor, the local broker, the DLQ.", no_args_is_help=True)
broker_app = typer.Typer(help="The local Kafka-protocol broker (Tansu on 127.0.0.1).", no_args_is_help=True)
stream_app.add_typer(broker_app, name="broker")

EnvOption = Annotated[str, typer.Option("--env", help="Environment name (environments/<env>.yaml) or a YAML path.")]


@stream_app.command("produce")
def produce_command(
    env_name: EnvOption = "local",
    count: Annotated[int, typer.Option(min=1, help="Events to produce.")] = 1000,
    rate: Annotated[Optional[float], typer.Option(min=0.001, help="Events per second. Default: as fast as the broker takes them.")] = None,
    drift: Annotated[bool, typer.Option(help="Shift the mix (amounts, channels, cross-border, night) for the drift monitor.")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Same seed, same events (replays become duplicates). Default: new each run.")] = None,
    malformed_fraction: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of deliberately broken events (to see the DLQ).")] = 0.0,
    replay: Annotated[Optional[Path], typer.Option(help="Replay transactions from this parquet file instead of generating.")] = None,
    shift_to_now: Annotated[bool, typer.Option(help="Replay: move timestamps by whole days so the newest is today.")] = True,
) -> None:
    """Produce transaction events to the topic, keyed by customer id, with an idempotent producer."""
    env = load_environment(env_name)
    from features.ingest.connection import connection_for
    from features.ingest.producer import produce_payloads
    from features.ingest.payloads import replay_payloads, synthetic_payloads
    from features.ingest.topics import ensure_topics

    if replay is not None:
        payloads = replay_payloads(replay, limit=count, shift_to_now=shift_to_now)
    else:
        seed = seed if seed is not None else time.time_ns() % 1_000_000_007
        payloads = synthetic_payloads(env, count, seed=seed, drift=drift, malformed_fraction=malformed_fraction)
    connection = connection_for(env)
    ensure_topics(connection, env)
    with console.status(f"Producing to {env.streaming.topic!r} on {connection.bootstrap_servers}..."):
        summary = produce_payloads(connection, env.streaming.topic, payloads, rate_per_s=rate)
    console.print(
        f"delivered {summary.delivered} events to {summary.topic!r} in {summary.seconds:.2f} s "
        f"({summary.events_per_second:,.0f}/s); end offsets {dict(sorted(summary.end_offsets.items()))}"
    )


@stream_app.command("ingest")
def ingest_command(
    env_name: EnvOption = "local",
    until_caught_up: Annotated[bool, typer.Option(help="Stop once no message is left to read.")] = False,
    max_seconds: Annotated[Optional[float], typer.Option(min=0.1, help="Stop after this long. Default: run until SIGTERM/SIGINT.")] = None,
    metrics_port: Annotated[Optional[int], typer.Option(help="Prometheus /metrics port on 127.0.0.1; 0 turns it off. Default: streaming.metrics_port.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1, help="Events per checkpoint. Default: streaming.max_batch_events.")] = None,
    replicas: Annotated[int, typer.Option(min=1, max=64, help="Run N replicas in one consumer group (N processes).")] = 1,
    replica: Annotated[str, typer.Option(help="This replica's name: its state folder under <data>/streaming/<group>/ (a pod's name in the cluster).")] = "replica-0",
) -> None:
    """Consume the topic as the ingestor group and keep the Feast stores current (SIGTERM stops it cleanly)."""
    env = load_environment(env_name)
    if replicas > 1:
        from features.ingest.replicas import run_replicas

        options = _replica_options(until_caught_up, max_seconds, batch_size)
        console.print(f"running {replicas} replicas of the ingestor in group {env.streaming.consumer_group!r}")
        code = run_replicas(env_name, replicas, options)
        if code:
            raise typer.Exit(code)
        return
    from features.ingest.ingestor import Ingestor, state_dir_for

    with console.status("Loading the feature store and the recorded history..."):
        ingestor = Ingestor(env, batch_size=batch_size, state_dir=state_dir_for(env, replica=replica))
    port = env.streaming.metrics_port if metrics_port is None else metrics_port
    server = ingestor.metrics.serve(port) if port else None
    stop = lambda _signum, _frame: ingestor.stop()  # noqa: E731 - the handler only flags; the checkpoint is committed
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    console.print(
        f"ingesting {env.streaming.topic!r} as group {ingestor.group_id!r}, {replica}"
        + (f"; metrics on http://127.0.0.1:{port}/metrics" if server else "")
    )
    try:
        with console.status("waiting for events...") as status:
            summary = ingestor.run(
                until_caught_up=until_caught_up,
                max_seconds=max_seconds,
                progress=lambda s: status.update(
                    f"applied {s.applied}, duplicates {s.duplicates}, dead-lettered {s.dead_lettered} ({s.batches} batches)"
                ),
                on_assignment=lambda partitions: console.print(f"{replica} owns partitions {partitions}"),
            )
    finally:
        ingestor.close()
        if server is not None:
            server.shutdown()
    console.print(
        f"{replica} stopped ({summary.stopped_by}): applied {summary.applied}, duplicates {summary.duplicates}, "
        f"dead-lettered {summary.dead_lettered}, offline rows {summary.offline_rows}, in {summary.seconds:.1f} s; "
        f"committed offsets {dict(sorted(summary.committed_offsets.items()))}"
    )


def _replica_options(until_caught_up: bool, max_seconds: float | None, batch_size: int | None) -> list[str]:
    """The options each replica gets: the same stop conditions; metrics off (N processes cannot share a port)."""
    options = ["--metrics-port", "0"]
    if until_caught_up:
        options.append("--until-caught-up")
    if max_seconds is not None:
        options += ["--max-seconds", str(max_seconds)]
    if batch_size is not None:
        options += ["--batch-size", str(batch_size)]
    return options


@stream_app.command("burst")
def burst_command(
    env_name: EnvOption = "local",
    events: Annotated[int, typer.Option(min=1, help="Events in the burst.")] = 2000,
    drift: Annotated[bool, typer.Option(help="Produce drifted events.")] = False,
) -> None:
    """Produce a burst of live events and ingest it until the online store has all of it."""
    env = load_environment(env_name)
    from features.ingest.burst import stream_burst

    with console.status(f"Streaming {events} events through the broker into the feature store...") as status:
        summary = stream_burst(env, events, drift=drift, progress=lambda text: status.update(text))
    console.print(
        f"{summary.produced} produced, {summary.applied} applied, {summary.duplicates} duplicates, "
        f"{summary.dead_lettered} dead-lettered in {summary.seconds:.1f} s ({summary.events_per_second:,.0f} events/s)"
    )


@stream_app.command("dlq")
def dlq_command(
    env_name: EnvOption = "local",
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many (the newest).")] = 20,
) -> None:
    """List the dead-lettered events with their reasons and source offsets."""
    env = load_environment(env_name)
    from features.ingest.connection import connection_for
    from features.ingest.dlq import read_dead_letters

    letters = read_dead_letters(connection_for(env), env.streaming.dlq_topic)
    table = Table(title=f"{env.streaming.dlq_topic}: {len(letters)} dead letters (newest {min(limit, len(letters))})")
    for column in ("source", "reason", "error"):
        table.add_column(column, overflow="fold")
    for letter in letters[-limit:]:
        table.add_row(f"{letter.source_topic}[{letter.source_partition}]@{letter.source_offset}", letter.reason, letter.error)
    console.print(table)


@stream_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the transaction event (version 1) for producers in other languages."""
    from features.ingest.events import TransactionEventV1

    typer.echo(json.dumps(TransactionEventV1.model_json_schema(), indent=2))


@broker_app.command("start")
def broker_start_command(env_name: EnvOption = "local") -> None:
    """Start the local broker (or show the one already running)."""
    from features.ingest.local_broker import start_local_broker

    broker = start_local_broker(_local(env_name))
    console.print(f"broker pid {broker.pid} on {broker.bootstrap_servers} (storage {broker.storage_url}); log {broker.log_path}")


@broker_app.command("stop")
def broker_stop_command(env_name: EnvOption = "local") -> None:
    """Stop the local broker by its pid."""
    from features.ingest.local_broker import stop_local_broker

    console.print("broker stopped" if stop_local_broker(_local(env_name)) else "no broker was running")


@broker_app.command("status")
def broker_status_command(env_name: EnvOption = "local") -> None:
    """Say whether the local broker runs, and where."""
    from features.ingest.local_broker import running_broker

    broker = running_broker(_local(env_name))
    console.print(f"running: pid {broker.pid} on {broker.bootstrap_servers}" if broker else "not running")


def _local(env_name: str) -> Environment:
    env = load_environment(env_name)
    if env.is_cloud:
        raise ConfigError(f"'sahab stream broker' manages the local broker; environment {env.name!r} targets {env.target.value}")
    return env


def register(app: typer.Typer) -> None:
    app.add_typer(stream_app, name="stream")

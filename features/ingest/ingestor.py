"""The stream ingestor: a Quix Streams application that turns transaction events into features.

The pipeline is one stateful step and one sink (see ``history`` and ``sink``):

    transactions ──► key: raw customer id → its pseudonym (``pseudonymous_keys``)
                 ──► CustomerHistoryStep (state per partition, keyed by customer; RocksDB + changelog topic)
                 ──► OutcomeSink: dead letters → DLQ (confirmed), online rows → Feast, offline rows → a file per partition
                 ──► checkpoint: changelog produced, offsets committed (every ``streaming.commit_interval_s`` or batch)

Quix Streams keeps each input partition's state in its own store, writes every change to a changelog
topic, and on a rebalance the partition's new owner restores that store before it reads on, so any
number of replicas in one consumer group compute the same features as one. Exactly what is committed
when a step fails is written in ``sink``; ``docs/streaming.md`` has the operator's view.

``Ingestor(env).run(...)`` runs until ``stop()`` (also SIGTERM/SIGINT), until the group's committed
offsets reach ``until_offsets``, until no message arrived for a while (``until_caught_up``), or for at
most ``max_seconds``; a failure raises ``CommandFailed`` with a one-line reason and commits nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from environments import Environment
from environments.errors import CommandFailed, ConfigError
from features.ingest import local_broker, rolling
from features.ingest.connection import KafkaConnection, connection_for
from features.ingest.history import CustomerHistoryStep, Outcome, seed_lookup
from features.ingest.metrics import IngestMetrics
from features.ingest.offline import PartitionFileSink, sink_for_source
from features.ingest.producer import EventProducer
from features.ingest.pseudonymous_keys import keyed_by_pseudonym
from features.ingest.seeding import recorded_entries_since
from features.ingest.sink import OutcomeSink
from features.ingest.topics import ensure_topics
from features.names import CUSTOMER_TRANSACTIONS_VIEW as FEATURE_VIEW
from features.pseudonyms import pseudonymiser_for

log = logging.getLogger(__name__)

#: How often the stop conditions are checked.
WATCH_INTERVAL_S = 0.2
#: How often the consumer-lag gauge is refreshed.
LAG_REFRESH_S = 1.0


@dataclass
class IngestSummary:
    """What one ``run`` did. ``freshness_s`` is filled only when the ingestor records it (benchmarks)."""

    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    erasures: int = 0  # erasure requests read (``erasure_requests``), one per partition and customer
    erased_histories: int = 0  # of those, the ones whose partition held the customer's history (deleted)
    batches: int = 0
    offline_rows: int = 0
    seconds: float = 0.0
    caught_up: bool = False
    stopped_by: str = ""
    committed_offsets: dict[int, int] = field(default_factory=dict)
    freshness_s: list[float] = field(default_factory=list)


def state_dir_for(env: Environment, group_id: str | None = None, replica: str = "replica-0") -> Path:
    """A replica's state folder (its RocksDB stores): one per replica of a consumer group.

    A replica's folder is only a cache of its partitions' changelogs: losing it costs a restore, not data.
    """
    return env.paths.streaming / (group_id or env.streaming.consumer_group) / replica


class Ingestor:
    """Consume ``streaming.topic`` as ``streaming.consumer_group`` and keep the feature stores current."""

    def __init__(
        self,
        env: Environment,
        *,
        store: Any | None = None,
        connection: KafkaConnection | None = None,
        dlq_connection: KafkaConnection | None = None,
        group_id: str | None = None,
        batch_size: int | None = None,
        state_dir: Path | None = None,
        metrics: IngestMetrics | None = None,
        record_freshness: bool = False,
        dlq_timeout_s: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``dlq_connection`` defaults to the stream's; ``dlq_timeout_s`` bounds the wait for the DLQ's confirmation."""
        from quixstreams import Application

        self.env = env
        self.streaming = env.streaming
        self.group_id = group_id or self.streaming.consumer_group
        self.batch_size = batch_size or self.streaming.max_batch_events
        self.connection = connection or connection_for(env)
        self.metrics = metrics or IngestMetrics()
        self.record_freshness = record_freshness
        self.clock = clock
        if store is None:
            from features.store import feature_store_for

            store = feature_store_for(env)
        self.store = store
        self.state_dir = state_dir or state_dir_for(env, self.group_id)
        if not env.is_cloud:
            _refuse_durable_local_broker(env)
        ensure_topics(self.connection, env)
        self._summary = IngestSummary()
        self._last_message_at = time.monotonic()
        self._next_offsets: dict[int, int] = {}
        self._dlq = EventProducer(
            dlq_connection or self.connection,
            self.streaming.dlq_topic,
            client_id=f"{self.group_id}-dlq",
            settings={"message.max.bytes": self.streaming.dlq_max_message_bytes},
        )
        client = {k: v for k, v in self.connection.client_config().items() if k != "bootstrap.servers"}
        self.app = Application(
            broker_address=self.connection.bootstrap_servers,
            consumer_group=self.group_id,
            auto_offset_reset="earliest",
            commit_interval=self.streaming.commit_interval_s,
            commit_every=self.batch_size,
            state_dir=self.state_dir,
            consumer_extra_config={
                **client,
                "client.id": f"{self.group_id}-ingestor",
                "group.protocol": "classic",  # Tansu does not assign partitions under KIP-848's protocol
                "session.timeout.ms": self.streaming.session_timeout_ms,
                "heartbeat.interval.ms": max(100, self.streaming.session_timeout_ms // 5),
                "fetch.message.max.bytes": self.streaming.max_event_bytes,
            },
            producer_extra_config={
                **client,
                "client.id": f"{self.group_id}-changelog",
                **({} if env.is_cloud else local_broker.PRODUCER_SETTINGS),
            },
            on_message_processed=self._processed,
            loglevel="WARNING",
            processing_guarantee="at-least-once",
        )
        topic = self.app.topic(self.streaming.topic, value_deserializer="bytes", key_deserializer="bytes")
        pseudonymise = pseudonymiser_for(env)
        history = CustomerHistoryStep(self._seed(), pseudonymise, timedelta(days=env.privacy.ingestor_state_days))
        events = keyed_by_pseudonym(self.app.dataframe(topic), pseudonymise)
        outcomes = events.apply(history, stateful=True, metadata=True)
        outcomes.sink(
            OutcomeSink(
                store=store,
                offline=_offline_sink_for(store, env.region),
                dlq=self._dlq,
                group_id=self.group_id,
                dlq_max_message_bytes=self.streaming.dlq_max_message_bytes,
                metrics=self.metrics,
                on_written=self._written,
                dlq_timeout_s=dlq_timeout_s,
                clock=clock,
            )
        )
        self._stop_reason = ""

    # ---- public API -----------------------------------------------------------------------------
    def stop(self, reason: str = "stop") -> None:
        """Finish the current checkpoint, commit and return from ``run`` (safe from a signal handler)."""
        self._stop_reason = self._stop_reason or reason
        self.app.stop()

    def run(
        self,
        *,
        until_offsets: Mapping[int, int] | None = None,
        until_caught_up: bool = False,
        max_seconds: float | None = None,
        progress: Callable[[IngestSummary], None] | None = None,
        on_assignment: Callable[[list[int]], None] | None = None,
    ) -> IngestSummary:
        """Ingest until a stop condition holds (see the module docstring).

        ``progress`` sees the summary after each written batch; ``on_assignment`` the input partitions this
        replica owns, each time they change (a rebalance), checked every ``WATCH_INTERVAL_S``."""
        self._summary = summary = IngestSummary()
        self._progress = progress
        self._on_assignment = on_assignment
        started = self._last_message_at = time.monotonic()
        done = threading.Event()
        watcher = threading.Thread(
            target=self._watch, args=(done, until_offsets, until_caught_up, max_seconds, started), daemon=True
        )
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        watcher.start()
        try:
            self.app.run()
        except CommandFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - the engine's own errors, said in one line
            raise CommandFailed(f"the stream processor stopped: {_one_line(exc)}; no offset was committed past the last checkpoint") from exc
        finally:
            done.set()
            watcher.join()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        summary.stopped_by = self._stop_reason or "stop"
        summary.caught_up = summary.stopped_by == "caught_up"
        summary.seconds = time.monotonic() - started
        summary.committed_offsets = self.committed_offsets()
        return summary

    def committed_offsets(self, timeout_s: float = 10.0) -> dict[int, int]:
        """The group's committed offsets on the broker, per partition of the topic (absent: none yet)."""
        return committed_offsets(self.connection, self.group_id, self.streaming.topic, self.streaming.partitions, timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Release the DLQ producer (the application closes its own clients when ``run`` returns).

        Dead letters still unconfirmed here belong to a checkpoint that was not committed: they are read
        and sent again, so this warns rather than raises (and never hides the error that ended ``run``)."""
        try:
            self._dlq.close(timeout_s)
        except CommandFailed as exc:
            log.warning("closing the DLQ producer: %s", exc)

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        self.close(1.0 if exc_type is not None else 10.0)

    # ---- callbacks ------------------------------------------------------------------------------
    def _processed(self, _topic: str, partition: int, offset: int) -> None:
        self._last_message_at = time.monotonic()
        self._next_offsets[partition] = offset + 1

    def assigned_partitions(self) -> list[int] | None:
        """The input partitions this replica owns now (``None`` before the consumer has subscribed)."""
        consumer = self.app._consumer  # noqa: SLF001 - the application's consumer, read only
        try:
            return sorted(tp.partition for tp in consumer.assignment() if tp.topic == self.streaming.topic)
        except Exception:  # noqa: BLE001 - not subscribed yet
            return None

    def refresh_lag(self) -> dict[int, int] | None:
        """Set ``sahab_ingest_consumer_lag`` per assigned partition: high watermark minus the next offset to process.

        The watermark is the one fetch responses carry (librdkafka's cache), right on Tansu and MSK alike
        (Tansu's ListOffsets is not). ``None`` while a watermark is still unknown.
        """
        consumer = self.app._consumer  # noqa: SLF001 - the application's consumer: its fetch watermarks, read only
        assigned = self.assigned_partitions()
        if not assigned:
            return None
        committed: dict[int, int] | None = None
        lag: dict[int, int] = {}
        for partition in assigned:
            low, high = consumer.get_watermark_offsets(TopicPartition(self.streaming.topic, partition), cached=True)
            if high is None or high < 0:
                return None
            position = self._next_offsets.get(partition)
            if position is None:
                committed = committed if committed is not None else self.committed_offsets()
                position = committed.get(partition, low)
            lag[partition] = max(0, high - position)
            self.metrics.consumer_lag.labels(topic=self.streaming.topic, partition=str(partition)).set(lag[partition])
        return lag

    def _written(self, outcomes: Sequence[Outcome], readable_at: datetime) -> None:
        """Count one written batch (its offsets commit right after the other partitions' batches)."""
        summary = self._summary
        counts = {"applied": 0, "duplicate": 0, "dead": 0, "erased": 0}
        for outcome in outcomes:
            counts[outcome.kind] += 1
            summary.erased_histories += outcome.held_history
            if outcome.kind == "applied" and outcome.event is not None:
                age_s = (readable_at - outcome.event.event_timestamp).total_seconds()
                self.metrics.freshness_seconds.observe(age_s)
                if self.record_freshness:
                    summary.freshness_s.append(age_s)
        summary.applied += counts["applied"]
        summary.duplicates += counts["duplicate"]
        summary.dead_lettered += counts["dead"]
        summary.erasures += counts["erased"]
        summary.offline_rows += counts["applied"]
        summary.batches += 1
        self.metrics.events.labels(outcome="applied").inc(counts["applied"])
        self.metrics.events.labels(outcome="duplicate").inc(counts["duplicate"])
        self.metrics.events.labels(outcome="dead_lettered").inc(counts["dead"])
        self.metrics.events.labels(outcome="erasure_request").inc(counts["erased"])
        if self._progress is not None:
            self._progress(summary)

    def _watch(
        self,
        done: threading.Event,
        until_offsets: Mapping[int, int] | None,
        until_caught_up: bool,
        max_seconds: float | None,
        started: float,
    ) -> None:
        """Stop the application when a stop condition holds; refresh the lag gauge meanwhile."""
        idle_s = max(10.0, 5 * self.streaming.session_timeout_ms / 1000)
        reader = _offsets_reader(self.connection, self.group_id)
        lag: dict[int, int] | None = None
        last_lag = 0.0
        owned: list[int] | None = None
        try:
            while not done.wait(WATCH_INTERVAL_S):
                now = time.monotonic()
                assigned = self.assigned_partitions()
                if assigned is not None and assigned != owned:
                    owned = assigned
                    log.info("this replica owns partitions %s of %r", owned, self.streaming.topic)
                    if self._on_assignment is not None:
                        self._on_assignment(owned)
                if now - last_lag >= LAG_REFRESH_S:
                    lag, last_lag = self.refresh_lag(), now
                if max_seconds is not None and now - started >= max_seconds:
                    self.stop("max_seconds")
                    return
                if until_offsets is not None:
                    committed = _committed(reader, self.streaming.topic, until_offsets.keys())
                    if all(committed.get(p, 0) >= offset for p, offset in until_offsets.items()):
                        self.stop("caught_up")
                        return
                elif until_caught_up and self._caught_up(owned, lag, now, started, idle_s):
                    self.stop("caught_up")
                    return
        finally:
            reader.close()

    def _caught_up(self, owned: list[int] | None, lag: dict[int, int] | None, now: float, started: float, idle_s: float) -> bool:
        """Caught up: every partition this replica owns is read to its high watermark (and a second passed quietly).

        Silence alone is not enough: after a crash the group waits out the dead member's session and the new
        owner restores its state before reading anything. A replica that owns nothing for ``idle_s`` (more
        replicas than partitions) has nothing to catch up with.
        """
        if owned:
            return lag is not None and not any(lag.values()) and now - self._last_message_at >= 1.0
        return now - started >= idle_s and now - self._last_message_at >= idle_s

    def _seed(self) -> Callable[[str], list]:
        """Recorded transactions inside the retention, the start of each customer's history (``seeding``)."""
        since = self.clock() - rolling.RETENTION
        recorded, source = recorded_entries_since(self.env, since)
        log.info("customers new to the stream start from %d recorded transactions since %s (%s)", len(recorded), since, source)
        return seed_lookup(recorded)


def committed_offsets(
    connection: KafkaConnection, group_id: str, topic: str, partitions: int, timeout_s: float = 10.0
) -> dict[int, int]:
    """A group's committed offsets per partition of ``topic``, read without joining the group."""
    reader = _offsets_reader(connection, group_id)
    try:
        return _committed(reader, topic, range(partitions), timeout_s)
    finally:
        reader.close()


def _offsets_reader(connection: KafkaConnection, group_id: str) -> Consumer:
    return Consumer({**connection.client_config(), "group.id": group_id, "client.id": f"{group_id}-offsets", "enable.auto.commit": False})


def _committed(reader: Consumer, topic: str, partitions: Any, timeout_s: float = 10.0) -> dict[int, int]:
    found = reader.committed([TopicPartition(topic, p) for p in partitions], timeout=timeout_s)
    return {tp.partition: tp.offset for tp in found if tp.offset >= 0}


def _refuse_durable_local_broker(env: Environment) -> None:
    """Tansu's S3 storage answers ListOffsets wrongly even for one-record batches (281 for 300 records, probed),
    and the stream processor compares each state store with its changelog's high watermark on every assignment:
    refuse, naming the field, rather than fail later with the engine's error."""
    broker = local_broker.running_broker(env)
    if broker is not None and not broker.storage_url.startswith("memory://"):
        raise ConfigError(
            f"the local broker runs with storage {broker.storage_url!r}: the stream ingestor needs correct high "
            "watermarks to restore its state, which Tansu's S3 storage does not give; set "
            "'streaming.local_broker_storage' to memory://tansu/ (the default) and restart the broker"
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _offline_sink_for(store: Any, region: str) -> PartitionFileSink:
    """The partition-file sink for the feature view's batch source (a local folder or ``s3://`` in ``region``)."""
    source = store.get_feature_view(FEATURE_VIEW).batch_source
    return sink_for_source(
        source.path, repo_path=str(store.repo_path), region=region,
        s3_endpoint_override=source.file_options.s3_endpoint_override,
    )

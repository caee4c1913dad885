"""The stream ingestor: a confluent-kafka consumer group that turns transaction events into features.

One cycle per batch, in this order (the order *is* the delivery guarantee):

1. read up to ``streaming.max_batch_events`` messages;
2. validate each against the v1 contract; copy every invalid one to the dead-letter topic with
   headers naming the reason and source offset, and wait for the DLQ to confirm (never dropped,
   never blocking the partition);
3. drop events already applied (idempotent by ``event_id``), recompute the touched customers'
   rolling features from their history (``features.aggregations`` via ``rolling``) and push one row
   per customer, as of their latest event, to the Feast online store (last write wins by event time,
   so a late event never rolls a customer's features back);
4. commit the batch to the SQLite state (applied ids + history + DLQ marks + offline rows owed);
5. commit the Kafka offsets, synchronously. Only now is the batch done: at least once, and, with
   steps 3-4 idempotent, re-delivery changes nothing.

Offline rows (as of each transaction) leave the state's outbox in bulk every few seconds and on
shutdown (see ``offline``). A new state file is first seeded with the recorded transactions still
inside the windows (``seeding``: local parquet or S3), so streamed and batch features count the
same history. ``stop()`` (wired to SIGTERM by the CLI) ends the loop after the current batch,
flushes the outbox and leaves the group.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from features.ingest import rolling
from features.ingest.connection import KafkaConnection, connection_for
from features.ingest.dlq import dead_letter_headers
from features.ingest.events import InvalidEvent, TransactionEventV1, parse_event
from features.ingest.metrics import IngestMetrics
from features.ingest.offline import FeastPushSink, OfflineSink, ParquetAppendSink
from features.ingest.producer import EventProducer
from features.ingest.seeding import recorded_events_since
from features.ingest.state import Coordinates, IngestState, insert_sorted
from features.ingest.topics import ensure_topics
from features.names import CUSTOMER_TRANSACTIONS_PUSH_SOURCE as PUSH_SOURCE
from features.names import CUSTOMER_TRANSACTIONS_VIEW as FEATURE_VIEW
from features.names import TIMESTAMP_FIELD as TIMESTAMP_COLUMN
from environments import Environment
from environments.errors import CommandFailed

log = logging.getLogger(__name__)

ENTITY_COLUMN = "customer_id"

POLL_TIMEOUT_S = 0.5
LAG_REFRESH_S = 1.0
PUSH_ATTEMPTS = 3


@dataclass
class IngestSummary:
    """What one ``run`` did. ``freshness_s`` is filled only when the ingestor records it (benchmarks)."""

    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    offline_rows: int = 0
    seconds: float = 0.0
    caught_up: bool = False
    stopped_by: str = ""
    committed_offsets: dict[int, int] = field(default_factory=dict)
    freshness_s: list[float] = field(default_factory=list)


def state_path_for(env: Environment, group_id: str | None = None) -> Path:
    """The ingestor's state file: one per consumer group, under the environment's data folder."""
    return env.paths.streaming / f"{group_id or env.streaming.consumer_group}.sqlite"


class Ingestor:
    """Consume ``streaming.topic`` as ``streaming.consumer_group`` and keep the feature stores current."""

    def __init__(
        self,
        env: Environment,
        *,
        store: Any | None = None,
        connection: KafkaConnection | None = None,
        group_id: str | None = None,
        batch_size: int | None = None,
        state_path: Path | None = None,
        metrics: IngestMetrics | None = None,
        offline_flush_interval_s: float = 5.0,
        record_freshness: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.env = env
        self.streaming = env.streaming
        self.group_id = group_id or self.streaming.consumer_group
        self.batch_size = batch_size or self.streaming.max_batch_events
        self.connection = connection or connection_for(env)
        self.metrics = metrics or IngestMetrics()
        self.offline_flush_interval_s = offline_flush_interval_s
        self.record_freshness = record_freshness
        self.clock = clock
        if store is None:
            from features.store import feature_store_for

            store = feature_store_for(env)
        self.store = store
        self.offline_sink = _offline_sink_for(store)
        self.state = IngestState(state_path or state_path_for(env, self.group_id), retention=rolling.RETENTION)
        if not self.state.seeded():
            self._seed_from_recorded_transactions()
        ensure_topics(self.connection, self.streaming)
        self._stop_requested = False
        self._assigned: set[int] = set()
        self._dlq = EventProducer(self.connection, self.streaming.dlq_topic, client_id=f"{self.group_id}-dlq")
        self._consumer = Consumer(
            {
                **self.connection.client_config(),
                "group.id": self.group_id,
                "client.id": f"{self.group_id}-ingestor",
                "group.protocol": "classic",  # Tansu does not assign partitions under KIP-848's protocol
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "session.timeout.ms": self.streaming.session_timeout_ms,
                "heartbeat.interval.ms": max(100, self.streaming.session_timeout_ms // 5),
                "max.poll.interval.ms": 300_000,
            }
        )
        self._consumer.subscribe([self.streaming.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.partitions = self._topic_partitions()

    # ---- public API -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to finish its current batch and return (safe from a signal handler)."""
        self._stop_requested = True

    def run(
        self,
        *,
        until_offsets: Mapping[int, int] | None = None,
        until_caught_up: bool = False,
        max_seconds: float | None = None,
        progress: Callable[[IngestSummary], None] | None = None,
    ) -> IngestSummary:
        """Ingest until ``stop()``, until the committed offsets reach ``until_offsets`` (partition -> offset),
        until no message is left (``until_caught_up``), or for at most ``max_seconds``.

        ``progress`` is called with the running summary after every batch (for a status line)."""
        summary = IngestSummary()
        started = time.monotonic()
        deadline = started + max_seconds if max_seconds else None
        last_flush = last_lag = started
        while True:
            if self._stop_requested:
                summary.stopped_by = "stop"
                break
            if deadline is not None and time.monotonic() >= deadline:
                summary.stopped_by = "max_seconds"
                break
            messages = self._consumer.consume(num_messages=self.batch_size, timeout=POLL_TIMEOUT_S)
            if messages:
                self._process(messages, summary)
                if progress is not None:
                    progress(summary)
            now = time.monotonic()
            if now - last_flush >= self.offline_flush_interval_s:
                summary.offline_rows += self.flush_offline()
                last_flush = now
            if now - last_lag >= LAG_REFRESH_S or len(messages) < self.batch_size:
                self.refresh_lag()
                last_lag = now
            if len(messages) < self.batch_size and self._done(until_offsets, until_caught_up):
                summary.caught_up = True
                summary.stopped_by = "caught_up"
                break
        summary.offline_rows += self.flush_offline()
        summary.seconds = time.monotonic() - started
        summary.committed_offsets = self.committed_offsets()
        return summary

    def flush_offline(self) -> int:
        """Write the outbox's rows to the offline store, then forget them; returns rows new to the store."""
        pending = self.state.pending_offline_rows()
        if not pending:
            return 0
        written = self.offline_sink.write([row for _, row in pending])
        self.state.forget_offline_rows([event_id for event_id, _ in pending])
        self.metrics.offline_rows.inc(written)
        return written

    def committed_offsets(self, timeout_s: float = 10.0) -> dict[int, int]:
        """The group's committed offsets on the broker, per partition of the topic (absent: none yet)."""
        partitions = [TopicPartition(self.streaming.topic, p) for p in self.partitions]
        committed = self._consumer.committed(partitions, timeout=timeout_s)
        return {tp.partition: tp.offset for tp in committed if tp.offset >= 0}

    def close(self) -> None:
        """Leave the group (a clean hand-over, no session timeout to wait for) and release the state file."""
        try:
            self._consumer.close()
        finally:
            try:
                self._dlq.close(10.0)
            finally:
                self.state.close()

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- one batch ------------------------------------------------------------------------------
    def _process(self, messages: Sequence[Message], summary: IngestSummary) -> None:
        started = time.monotonic()
        valid: list[TransactionEventV1] = []
        invalid: list[tuple[Message, InvalidEvent]] = []
        next_offsets: dict[int, int] = {}
        for message in messages:
            if message.error() is not None:
                self._raise_if_fatal(message.error())
                continue
            next_offsets[message.partition()] = message.offset() + 1
            try:
                valid.append(parse_event(message.value()))
            except InvalidEvent as problem:
                invalid.append((message, problem))

        dead = self._dead_letter(invalid)
        new_events = self.state.unseen(valid)
        offline_rows: list[tuple[str, dict]] = []
        if new_events:
            online_frame, offline_rows = self._features(new_events)
            self._push_online(online_frame)
            readable_at = self.clock()
            ages_s = [(readable_at - event.event_timestamp).total_seconds() for event in new_events]
            for age_s in ages_s:
                self.metrics.freshness_seconds.observe(age_s)
            if self.record_freshness:
                summary.freshness_s.extend(ages_s)
        self.state.commit_batch(new_events, dead, offline_rows)
        self._commit_offsets(next_offsets)

        duplicates = len(valid) - len(new_events)
        summary.applied += len(new_events)
        summary.duplicates += duplicates
        summary.dead_lettered += len(invalid)
        summary.batches += 1
        self.metrics.events.labels(outcome="applied").inc(len(new_events))
        self.metrics.events.labels(outcome="duplicate").inc(duplicates)
        self.metrics.events.labels(outcome="dead_lettered").inc(len(invalid))
        self.metrics.batch_seconds.observe(time.monotonic() - started)

    def _dead_letter(self, invalid: Sequence[tuple[Message, InvalidEvent]]) -> list[tuple[Coordinates, str]]:
        """Copy invalid events to the DLQ (unless an earlier committed batch did) and wait for the broker."""
        if not invalid:
            return []
        coordinates = [((m.topic(), m.partition(), m.offset()), problem) for m, problem in invalid]
        done = self.state.already_dead_lettered(c for c, _ in coordinates)
        for (message, problem), (coordinate, _) in zip(invalid, coordinates):
            if coordinate in done:
                continue
            self._dlq.send(message.key(), message.value(), dead_letter_headers(message, problem, self.group_id))
            self.metrics.dead_letters.labels(reason=problem.reason).inc()
        self._dlq.flush(30.0)
        return [(coordinate, problem.reason) for coordinate, problem in coordinates]

    def _features(self, new_events: Sequence[TransactionEventV1]) -> tuple[pd.DataFrame, list[tuple[str, dict]]]:
        """Online rows (one per customer, as of their latest event) and offline rows (one per new event)."""
        by_customer: dict[str, list[TransactionEventV1]] = defaultdict(list)
        for event in new_events:
            by_customer[event.customer_id].append(event)
        online: list[dict] = []
        offline: list[tuple[str, dict]] = []
        for customer_id, events in by_customer.items():
            history = list(self.state.history(customer_id))
            for event in sorted(events, key=lambda e: e.event_timestamp):
                insert_sorted(history, event)
            for event in events:
                offline.append((event.event_id, self._row(customer_id, event.event_timestamp, history)))
            online.append(self._row(customer_id, history[-1].event_timestamp, history))
        frame = pd.DataFrame(online)
        frame[TIMESTAMP_COLUMN] = pd.to_datetime(frame[TIMESTAMP_COLUMN], utc=True)
        return frame, offline

    @staticmethod
    def _row(customer_id: str, as_of: datetime, history: Sequence[TransactionEventV1]) -> dict:
        return {ENTITY_COLUMN: customer_id, TIMESTAMP_COLUMN: as_of.isoformat(), **rolling.features_as_of(history, as_of)}

    def _push_online(self, frame: pd.DataFrame) -> None:
        """Write the rows to the online store, retrying briefly: SQLite may be locked by a reader."""
        from feast.data_source import PushMode

        for attempt in range(1, PUSH_ATTEMPTS + 1):
            try:
                self.store.push(PUSH_SOURCE, frame, to=PushMode.ONLINE)
                return
            except Exception as exc:  # noqa: BLE001 - any store error is retried, then reported
                if attempt == PUSH_ATTEMPTS:
                    raise CommandFailed(
                        f"pushing {len(frame)} feature rows to {PUSH_SOURCE!r} failed {PUSH_ATTEMPTS} times: {exc}; "
                        "offsets were not committed, so the batch will be read again"
                    ) from exc
                log.warning("online push failed (attempt %d): %s", attempt, exc)
                time.sleep(0.2 * attempt)

    def _commit_offsets(self, next_offsets: Mapping[int, int]) -> None:
        if not next_offsets:
            return
        offsets = [TopicPartition(self.streaming.topic, p, o) for p, o in next_offsets.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except Exception as exc:  # noqa: BLE001 - a rebalance moved the partition: the new owner re-reads, harmlessly
            log.warning("offset commit failed (%s); the batch will be re-read and skipped as duplicates", exc)

    # ---- group bookkeeping ----------------------------------------------------------------------
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.update(tp.partition for tp in partitions)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.difference_update(tp.partition for tp in partitions)

    def _lag_by_partition(self) -> dict[int, int]:
        """High watermark minus position, for each assigned partition whose watermark is known yet.

        The position is the consumer's (next offset to read) or, before the first message since an
        assignment, the group's committed offset, or, if none, the log start (``auto.offset.reset``).
        """
        watermarks: dict[int, tuple[int, int]] = {}
        positions: dict[int, int] = {}
        for partition in sorted(self._assigned):
            tp = TopicPartition(self.streaming.topic, partition)
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high is not None and high >= 0:
                watermarks[partition] = (low, high)
                positions[partition] = self._consumer.position([tp])[0].offset
        unknown = [p for p, position in positions.items() if position < 0]
        if unknown:
            committed = self.committed_offsets()
            for partition in unknown:
                positions[partition] = committed.get(partition, watermarks[partition][0])
        return {p: max(0, high - positions[p]) for p, (_low, high) in watermarks.items()}

    def refresh_lag(self) -> dict[int, int]:
        """Update the ``sahab_ingest_consumer_lag`` gauge from the latest fetch watermarks; return it."""
        lag = self._lag_by_partition()
        for partition, behind in lag.items():
            self.metrics.consumer_lag.labels(topic=self.streaming.topic, partition=str(partition)).set(behind)
        return lag

    def _done(self, until_offsets: Mapping[int, int] | None, until_caught_up: bool) -> bool:
        if until_offsets is not None:
            committed = self.committed_offsets()
            return all(committed.get(p, 0) >= offset for p, offset in until_offsets.items())
        if until_caught_up:
            lag = self._lag_by_partition()
            everything = set(self.partitions)
            return self._assigned == everything and set(lag) == everything and not any(lag.values())
        return False

    def _seed_from_recorded_transactions(self) -> None:
        """On a new state file, load the recorded transactions still inside the windows into the history.

        Without this, a customer's first streamed event would count only streamed events, while the
        batch rows (and training) count the recorded ones too.
        """
        since = self.clock() - rolling.RETENTION
        events, source = recorded_events_since(self.env, since)
        added = self.state.seed(events, source=source)
        log.info("seeded the stream state with %d recorded transactions since %s from %s", added, since, source)

    def _topic_partitions(self, timeout_s: float = 10.0) -> list[int]:
        """The topic's partitions as the broker has them (a topic auto-created by an early producer may
        not have ``streaming.partitions``)."""
        # Asked through the DLQ producer: with IAM it already holds a token, the consumer gets its
        # own only inside its first consume().
        partitions = self._dlq.partitions_of(self.streaming.topic, timeout_s=timeout_s)
        if not partitions:
            raise CommandFailed(f"topic {self.streaming.topic!r} has no partitions on {self.connection.bootstrap_servers}")
        if len(partitions) != self.streaming.partitions:
            log.warning(
                "topic %r has %d partitions, 'streaming.partitions' says %d (was it auto-created by a producer?)",
                self.streaming.topic, len(partitions), self.streaming.partitions,
            )
        return partitions

    @staticmethod
    def _raise_if_fatal(error: KafkaError) -> None:
        if error.fatal():
            raise CommandFailed(f"the consumer hit a fatal broker error: {error.str()}")
        log.warning("consumer error (the client retries): %s", error.str())


def _offline_sink_for(store: Any) -> OfflineSink:
    """Atomic parquet append for a local file source; Feast's offline push otherwise (see ``offline``)."""
    from feast import FileSource

    source = store.get_feature_view(FEATURE_VIEW).batch_source
    if isinstance(source, FileSource) and "://" not in source.path:
        path = Path(source.path)
        if not path.is_absolute():
            path = Path(store.repo_path) / path
        return ParquetAppendSink(path, entity_column=ENTITY_COLUMN, timestamp_column=TIMESTAMP_COLUMN)
    return FeastPushSink(store, PUSH_SOURCE)

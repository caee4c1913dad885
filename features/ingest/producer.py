"""Produce transaction events to the ``transactions`` topic, keyed by customer, idempotently.

The producer is idempotent (``enable.idempotence``: the broker drops a retried batch it already has,
so a network retry never duplicates an event) with ``acks=all``. Every message's delivery is
confirmed before ``produce_payloads`` returns, and the summary carries the end offset of every
partition written, which is exactly what "caught up" means for the ingestor afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from features.ingest.connection import KafkaConnection
from environments.errors import CommandFailed

#: librdkafka settings that make produce-side retries harmless and batches efficient.
IDEMPOTENT_PRODUCER_SETTINGS: dict[str, object] = {
    "enable.idempotence": True,
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
    "linger.ms": 5,
    "message.timeout.ms": 30_000,
}

#: One payload: (message key, message value, headers).
Payload = tuple[bytes | None, bytes | None, list[tuple[str, bytes]] | None]


@dataclass
class ProduceSummary:
    """What reached the broker: counts and, per partition, the offset after the last delivered message."""

    topic: str
    delivered: int = 0
    failed: int = 0
    seconds: float = 0.0
    end_offsets: dict[int, int] = field(default_factory=dict)
    first_error: str | None = None

    @property
    def events_per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else 0.0


class EventProducer:
    """An idempotent confluent-kafka producer that tracks deliveries per partition."""

    def __init__(
        self,
        connection: KafkaConnection,
        topic: str,
        *,
        client_id: str = "sahab-producer",
        settings: dict[str, object] | None = None,
    ) -> None:
        self.topic = topic
        self.summary = ProduceSummary(topic=topic)
        self._producer = Producer(
            {**connection.client_config(), **IDEMPOTENT_PRODUCER_SETTINGS, "client.id": client_id, **(settings or {})}
        )
        self._producer.poll(0)  # serves the IAM token callback before the first message

    def send(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | None = None, *, partition: int = -1
    ) -> None:
        """Queue one message (to ``partition``, or where the key's hash sends it); when the local queue is full,
        wait for deliveries rather than drop it."""
        while True:
            try:
                self._producer.produce(self.topic, value=value, key=key, headers=headers, partition=partition,
                                       on_delivery=self._delivered)
                break
            except BufferError:
                self._producer.poll(0.05)
        self._producer.poll(0)

    def partitions_of(self, topic: str, *, timeout_s: float = 10.0) -> list[int]:
        """The partitions the broker has for ``topic``; empty when it does not exist."""
        metadata = self._producer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        return sorted(metadata.partitions)

    def flush(self, timeout_s: float = 30.0) -> ProduceSummary:
        """Wait until every queued message is delivered or failed; raise if any is still unconfirmed or failed."""
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise CommandFailed(
                f"{remaining} messages to {self.topic!r} were not confirmed within {timeout_s:g} s; "
                "is the broker reachable? they may or may not have been written"
            )
        if self.summary.failed:
            raise CommandFailed(
                f"{self.summary.failed} messages to {self.topic!r} failed to deliver (first error: {self.summary.first_error})"
            )
        return self.summary

    def close(self, timeout_s: float = 10.0) -> ProduceSummary:
        """Flush, then release the client now: a closed producer must not keep reconnecting to a broker
        that has gone away. (confluent-kafka 2.12, the newest Quix Streams accepts, has no ``Producer.close``;
        dropping the only reference destroys the client at once.)"""
        try:
            return self.flush(timeout_s)
        finally:
            del self._producer

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.summary.failed += 1
            self.summary.first_error = self.summary.first_error or error.str()
            return
        self.summary.delivered += 1
        partition, offset = message.partition(), message.offset()
        if offset + 1 > self.summary.end_offsets.get(partition, 0):
            self.summary.end_offsets[partition] = offset + 1


def produce_payloads(
    connection: KafkaConnection,
    topic: str,
    payloads: Iterable[Payload],
    *,
    rate_per_s: float | None = None,
    flush_timeout_s: float = 60.0,
    progress: Callable[[int], None] | None = None,
) -> ProduceSummary:
    """Send every payload (at ``rate_per_s`` when given, else as fast as the broker takes them) and confirm delivery."""
    producer = EventProducer(connection, topic)
    started = time.monotonic()
    sent = 0
    for key, value, headers in payloads:
        if rate_per_s:
            wait_s = started + sent / rate_per_s - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
        producer.send(key, value, headers)
        sent += 1
        if progress is not None and sent % 1000 == 0:
            progress(1000)
    summary = producer.close(flush_timeout_s)
    summary.seconds = time.monotonic() - started
    if progress is not None:
        progress(sent % 1000)
    return summary

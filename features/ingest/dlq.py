"""The dead-letter topic: every invalid event, unchanged, with headers that say why and where it came from.

An invalid event is never dropped and never blocks its partition: the ingestor copies it to
``transactions.dlq`` (same key, same bytes) and moves on. The headers make each dead letter
self-explaining and give it a unique identity, its source coordinates, so that a consumer of the
DLQ can de-duplicate the rare copy written twice after a crash (the DLQ is at least once).

| header              | value                                                        |
|---------------------|--------------------------------------------------------------|
| ``dlq.reason``      | short code: not_json, schema_violation, unsupported_schema_version, ... |
| ``dlq.error``       | the full message, naming each bad field and the fix          |
| ``dlq.source.topic``, ``dlq.source.partition``, ``dlq.source.offset`` | where the event was read |
| ``dlq.source.timestamp_ms`` | the broker timestamp of the original message         |
| ``dlq.ingestor.group`` | the consumer group that rejected it                       |
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from features.ingest.connection import KafkaConnection
from features.ingest.events import InvalidEvent
from environments.errors import CommandFailed

HEADER_REASON = "dlq.reason"
HEADER_ERROR = "dlq.error"
HEADER_SOURCE_TOPIC = "dlq.source.topic"
HEADER_SOURCE_PARTITION = "dlq.source.partition"
HEADER_SOURCE_OFFSET = "dlq.source.offset"
HEADER_SOURCE_TIMESTAMP = "dlq.source.timestamp_ms"
HEADER_GROUP = "dlq.ingestor.group"


@dataclass(frozen=True)
class DeadLetter:
    """One rejected event as read back from the dead-letter topic."""

    source_topic: str
    source_partition: int
    source_offset: int
    reason: str
    error: str
    key: bytes | None
    value: bytes | None

    @property
    def source(self) -> tuple[str, int, int]:
        """The unique identity of a dead letter: where its event was read."""
        return (self.source_topic, self.source_partition, self.source_offset)


def dead_letter_headers(message: Message, problem: InvalidEvent, group_id: str) -> list[tuple[str, bytes]]:
    """The headers of the DLQ copy of ``message``; the original headers follow ours unchanged."""
    _, timestamp_ms = message.timestamp()
    ours = [
        (HEADER_REASON, problem.reason.encode()),
        (HEADER_ERROR, problem.detail.encode()),
        (HEADER_SOURCE_TOPIC, message.topic().encode()),
        (HEADER_SOURCE_PARTITION, str(message.partition()).encode()),
        (HEADER_SOURCE_OFFSET, str(message.offset()).encode()),
        (HEADER_SOURCE_TIMESTAMP, str(timestamp_ms).encode()),
        (HEADER_GROUP, group_id.encode()),
    ]
    return ours + list(message.headers() or [])


def dead_letter_from_message(message: Message) -> DeadLetter:
    """Parse a message read from the DLQ; raise ``ValueError`` if it lacks the headers the ingestor writes."""
    headers = {name: value for name, value in (message.headers() or []) if name.startswith("dlq.")}
    missing = [h for h in (HEADER_REASON, HEADER_SOURCE_TOPIC, HEADER_SOURCE_PARTITION, HEADER_SOURCE_OFFSET) if h not in headers]
    if missing:
        raise ValueError(f"not a Sahab dead letter: headers {missing} are missing (offset {message.offset()})")
    return DeadLetter(
        source_topic=headers[HEADER_SOURCE_TOPIC].decode(),
        source_partition=int(headers[HEADER_SOURCE_PARTITION]),
        source_offset=int(headers[HEADER_SOURCE_OFFSET]),
        reason=headers[HEADER_REASON].decode(),
        error=headers.get(HEADER_ERROR, b"").decode(),
        key=message.key(),
        value=message.value(),
    )


def read_dead_letters(connection: KafkaConnection, topic: str, *, timeout_s: float = 30.0) -> list[DeadLetter]:
    """Every dead letter on ``topic``, oldest first, read without a consumer group (nothing is committed).

    Reads until the position reaches the high watermark of every partition (learnt from the first
    fetch responses) or ``timeout_s`` passes, whichever is first.
    """
    consumer = Consumer(
        {
            **connection.client_config(),
            "group.id": "sahab-dlq-reader",  # required by the client; never joined, never committed
            "enable.auto.commit": False,
            "client.id": "sahab-dlq-reader",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        partitions = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
        consumer.assign(partitions)
        letters: list[DeadLetter] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                if message.error() is None:
                    letters.append(dead_letter_from_message(message))
            if _at_end(consumer, partitions):
                return letters
        raise CommandFailed(f"could not read {topic!r} to its end within {timeout_s:g} s ({len(letters)} dead letters read)")
    finally:
        consumer.close()


def _at_end(consumer: Consumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        _low, high = consumer.get_watermark_offsets(tp, cached=True)
        if high is None or high < 0:
            return False
        position = consumer.position([TopicPartition(tp.topic, tp.partition)])[0].offset
        if high > 0 and position < high:
            return False
    return True

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
| ``dlq.value``       | ``copy`` (the original bytes follow) or ``reference`` (see below) |

An event larger than the dead-letter topic accepts (``streaming.dlq_max_message_bytes``, MSK's default
1 MB) cannot be copied whole: it is dead-lettered as a *reference*, a small JSON value with its source
coordinates, its size, its SHA-256 and its first bytes (base64), so an operator can find and judge it
while the stream moves on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
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
HEADER_VALUE = "dlq.value"

#: Bytes of an oversized event kept in its reference (enough to recognise it, small enough to always fit).
REFERENCE_HEAD_BYTES = 256
#: Room left in a DLQ message for our headers and the record's framing.
_FRAMING_BYTES = 4096


@dataclass(frozen=True)
class SourceMessage:
    """Where a rejected message was read and what it carried: everything its dead letter needs."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


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
    is_reference: bool = False

    @property
    def source(self) -> tuple[str, int, int]:
        """The unique identity of a dead letter: where its event was read."""
        return (self.source_topic, self.source_partition, self.source_offset)


def dead_letter(source: SourceMessage, problem: InvalidEvent, group_id: str, *, max_message_bytes: int) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The DLQ copy of ``source``: ``(value, headers)``; the original headers follow ours unchanged.

    The value is the original bytes, or a reference when the copy would not fit in ``max_message_bytes``.
    """
    size = len(source.value or b"") + len(source.key or b"") + sum(len(n) + len(v) for n, v in source.headers)
    fits = size + _FRAMING_BYTES <= max_message_bytes
    ours = [
        (HEADER_REASON, problem.reason.encode()),
        (HEADER_ERROR, problem.detail.encode()),
        (HEADER_SOURCE_TOPIC, source.topic.encode()),
        (HEADER_SOURCE_PARTITION, str(source.partition).encode()),
        (HEADER_SOURCE_OFFSET, str(source.offset).encode()),
        (HEADER_SOURCE_TIMESTAMP, str(source.timestamp_ms).encode()),
        (HEADER_GROUP, group_id.encode()),
        (HEADER_VALUE, b"copy" if fits else b"reference"),
    ]
    if fits:
        return source.value, ours + list(source.headers)
    return reference_to(source, size), ours


def reference_to(source: SourceMessage, size: int) -> bytes:
    """A small JSON value standing for a message too large to copy."""
    value = source.value or b""
    return json.dumps(
        {
            "source": {"topic": source.topic, "partition": source.partition, "offset": source.offset},
            "size_bytes": size,
            "value_sha256": hashlib.sha256(value).hexdigest(),
            "value_head_base64": base64.b64encode(value[:REFERENCE_HEAD_BYTES]).decode(),
        }
    ).encode()


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
        is_reference=headers.get(HEADER_VALUE) == b"reference",
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

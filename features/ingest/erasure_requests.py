"""Erasure requests through the stream: how a customer leaves the ingestor's state, its changelog and every
replica, in order with their events.

The state belongs to the stream processor (RocksDB per partition, each change in a changelog topic), and only
the processor may change it consistently. So ``sahab data erase`` produces a request to every partition of
the transactions topic (producers' partitioners differ, so the customer's partition is not assumed): key =
the customer's pseudonym, header ``sahab-erase``, no personal data in the value. Whichever replica owns a
partition reads it in order after the customer's earlier events, deletes the customer's history there (the
processor writes the tombstone to the changelog) and removes the customer's online row; a partition that never
held the customer deletes nothing. A request waits in the topic until the ingestor reads it: that is the
pending part of an erasure, and the erasure record says so.

Anyone who may produce to the topic may send a request; the same principals can already write any event, so
this grants nothing new (``docs/privacy.md``).
"""

from __future__ import annotations

from collections.abc import Iterable

from environments import StreamingConfig
from environments.errors import CommandFailed
from features.ingest.connection import KafkaConnection
from features.ingest.producer import EventProducer

ERASE_HEADER = "sahab-erase"
#: The request's value: a marker, never an id (the key carries the pseudonym).
ERASE_VALUE = b'{"sahab_erase": 1}'


def is_erasure_request(headers: Iterable[tuple[str, bytes]] | None) -> bool:
    return any(name == ERASE_HEADER for name, _ in headers or ())


def request_erasure(connection: KafkaConnection, streaming: StreamingConfig, pseudonym: str, *, timeout_s: float = 15.0) -> dict[int, int]:
    """Produce the request to every partition of ``streaming.topic``; the offsets after each, once confirmed."""
    producer = EventProducer(connection, streaming.topic, client_id="sahab-erase")
    partitions = producer.partitions_of(streaming.topic, timeout_s=timeout_s)
    if not partitions:
        producer.close(0)
        raise CommandFailed(f"topic {streaming.topic!r} was not found on {connection.bootstrap_servers}: the stream's "
                            "state cannot hold anyone yet, or the broker is not the environment's")
    for partition in partitions:
        producer.send(pseudonym.encode(), ERASE_VALUE, [(ERASE_HEADER, b"1")], partition=partition)
    return dict(producer.close(timeout_s).end_offsets)

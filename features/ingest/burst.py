"""Produce a burst of live events and ingest it until caught up: the hook ``sahab up local`` calls
before it starts serving, so the first scores already use fresh streaming features.

"Caught up" is exact, not a guess: the producer learns from its delivery reports the offset after
its last message on every partition, and the ingestor runs until the group's committed offsets
reach them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from features.ingest.connection import connection_for
from features.ingest.ingestor import Ingestor, IngestSummary
from features.ingest.producer import ProduceSummary, produce_payloads
from features.ingest.synthetic import synthetic_events
from features.ingest.topics import ensure_topics
from environments import Environment
from environments.errors import CommandFailed


@dataclass(frozen=True)
class BurstSummary:
    """Events produced and what the ingestor did with them (and with any backlog before them)."""

    produced: int
    applied: int
    duplicates: int
    dead_lettered: int
    seconds: float
    produce: ProduceSummary
    ingest: IngestSummary

    @property
    def events_per_second(self) -> float:
        return self.produced / self.seconds if self.seconds > 0 else 0.0


def stream_burst(
    env: Environment,
    n_events: int,
    *,
    seed: int | None = None,
    drift: bool = False,
    customers: int | None = None,
    store: Any | None = None,
    timeout_s: float = 300.0,
    progress: Callable[[str], None] | None = None,
) -> BurstSummary:
    """Produce ``n_events`` synthetic events now and ingest until all of them are in the feature stores.

    ``customers`` limits the events to the first that many customers of ``env.data`` (default: all of them).
    Raises ``CommandFailed`` if the ingestor has not caught up within ``timeout_s``.
    """
    seed = seed if seed is not None else time.time_ns() % 1_000_000_007
    connection = connection_for(env)
    ensure_topics(connection, env)
    started = time.monotonic()
    data = env.data if customers is None else env.data.model_copy(update={"customers": customers})
    events = synthetic_events(data, n_events, seed=seed, id_prefix=f"burst-{seed}", drift=drift)
    produced = produce_payloads(connection, env.streaming.topic, ((e.key, e.to_json_bytes(), None) for e in events))
    if progress:
        progress(f"produced {produced.delivered} events in {produced.seconds:.1f} s; ingesting")
    with Ingestor(env, store=store, connection=connection) as ingestor:
        ingested = ingestor.run(until_offsets=produced.end_offsets, max_seconds=timeout_s)
    if not ingested.caught_up:
        raise CommandFailed(
            f"the ingestor did not catch up with {n_events} events within {timeout_s:g} s "
            f"(applied {ingested.applied}); is the Feast online store reachable?"
        )
    return BurstSummary(
        produced=produced.delivered,
        applied=ingested.applied,
        duplicates=ingested.duplicates,
        dead_lettered=ingested.dead_lettered,
        seconds=time.monotonic() - started,
        produce=produced,
        ingest=ingested,
    )

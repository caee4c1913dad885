"""Where the producer's messages come from: live synthetic events (optionally with broken ones mixed
in, to watch the DLQ work) or a replay of recorded transactions from a parquet file."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from features.ingest.events import event_from_record
from features.ingest.producer import Payload
from features.ingest.synthetic import MALFORMATIONS, malformed_payload, synthetic_events
from features.pseudonyms import is_pseudonym
from environments import Environment
from environments.errors import ConfigError


def synthetic_payloads(
    env: Environment, count: int, *, seed: int, drift: bool = False, malformed_fraction: float = 0.0
) -> Iterator[Payload]:
    """``count`` live events; about ``malformed_fraction`` of them broken in one of ``MALFORMATIONS``."""
    rng = random.Random(seed ^ 0x5A5A)
    for index, event in enumerate(synthetic_events(env.data, count, seed=seed, id_prefix=f"live-{seed}", drift=drift)):
        if malformed_fraction and rng.random() < malformed_fraction:
            yield event.key, malformed_payload(event, MALFORMATIONS[index % len(MALFORMATIONS)]), None
        else:
            yield event.key, event.to_json_bytes(), None


def replay_payloads(path: Path, *, limit: int | None = None, shift_to_now: bool = True) -> Iterator[Payload]:
    """Transactions recorded in ``path`` (the generated parquet), oldest first, as v1 events.

    ``shift_to_now`` moves every timestamp by the same whole number of days so the newest lands
    today: the Dubai ``hour`` stays true, and the features are fresh enough for the online store's TTL.
    The file is read and checked here, before anything is produced; the events come lazily.
    """
    import pandas as pd

    if not path.is_file():
        raise ConfigError(f"no transactions file {path}; generate one with `sahab data generate` or pass --replay PATH")
    frame = pd.read_parquet(path).sort_values("event_timestamp", kind="stable")
    if len(frame) and is_pseudonym(frame["customer_id"].iloc[0]):
        raise ConfigError(
            f"{path} holds customer pseudonyms (a Sahab offline table), not the raw ids producers send; replay a "
            "transactions file from the source system, or produce synthetic events (leave out --replay)"
        )
    if limit is not None:
        frame = frame.head(limit)
    shift = timedelta(0)
    if shift_to_now and len(frame):
        newest = frame["event_timestamp"].max().to_pydatetime()
        shift = timedelta(days=(datetime.now(UTC) - newest).days)
    return _recorded_events(frame.to_dict("records"), shift)


def _recorded_events(records: list[dict], shift: timedelta) -> Iterator[Payload]:
    for record in records:
        record["event_timestamp"] = record["event_timestamp"].to_pydatetime() + shift
        event = event_from_record(record)
        yield event.key, event.to_json_bytes(), None

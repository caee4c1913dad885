"""The stateful step of the stream: each customer's recent history, kept per input partition by Quix Streams.

Quix Streams calls ``CustomerHistoryStep`` once per message with the message's ``State``, a key-value view
scoped to the message key (the customer id) inside the partition's RocksDB store. Every change is also
written to the store's changelog topic, so when a partition moves to another replica (a rebalance, a
pod lost) its new owner restores exactly the histories the old one had committed. That is why
features stay right at any number of replicas: the history travels with the partition.

Per message the step decides one ``Outcome``:

| outcome     | when                                                                 | goes to              |
|-------------|----------------------------------------------------------------------|----------------------|
| ``dead``    | not a valid v1 event, a key that is not its customer id, or older than the retention before the customer's latest event | the dead-letter topic, with the reason |
| ``duplicate`` | its ``event_id`` is already in the customer's history            | nowhere (counted)    |
| ``applied`` | otherwise: folded into the history                                   | the online store (the customer's row as of their latest event) and the offline store (a row as of the event itself) |

The features themselves come from ``features.aggregations`` (through ``rolling``): one definition for
batch, stream and training. A customer seen for the first time starts from their recorded transactions
inside the retention (``seeding``), so streamed windows count what the batch rows count.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from features.aggregations import from_micros, recent_event
from features.ingest import rolling
from features.ingest.events import InvalidEvent, TransactionEventV1, parse_event
from features.names import TIMESTAMP_FIELD

ENTITY_COLUMN = "customer_id"

#: The state key of a customer's history: a list of ``[event time in µs, amount, event id, flags]``, oldest first.
HISTORY_KEY = "history"

_RETENTION_US = rolling.RETENTION // timedelta(microseconds=1)

#: One remembered transaction, as the state stores it (JSON): ``[event time in µs, amount, event id, flags]``
#: (flags: ``features.aggregations.flags_of``).
Entry = list[Any]


def entry_of(event: TransactionEventV1) -> Entry:
    moment, amount, flags = recent_event(event)
    return [moment, amount, event.event_id, flags]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message (see the module table). ``value`` is kept only for dead letters."""

    kind: Literal["applied", "duplicate", "dead"]
    event: TransactionEventV1 | None = None
    offline_row: dict[str, Any] | None = None
    online_row: dict[str, Any] | None = None
    problem: InvalidEvent | None = None
    value: bytes | None = None


#: Recorded transactions of a customer inside the retention, as history entries (the seed of a new history).
SeedLookup = Callable[[str], list[Entry]]


class CustomerHistoryStep:
    """``sdf.apply(step, stateful=True, metadata=True)``: parse, de-duplicate, fold, compute the rows."""

    def __init__(self, seed: SeedLookup) -> None:
        self.seed = seed

    def __call__(self, value: bytes | None, key: bytes | None, _timestamp: int, _headers: Any, state: Any) -> Outcome:
        try:
            event = parse_event(value)
        except InvalidEvent as problem:
            return Outcome("dead", problem=problem, value=value)
        if key != event.key:
            return Outcome("dead", problem=wrong_key(event, key), value=value)
        history: list[Entry] | None = state.get(HISTORY_KEY)
        if history is None:
            history = self.seed(event.customer_id)
        entry = entry_of(event)
        if any(known[2] == event.event_id for known in history):
            return Outcome("duplicate", event=event)
        if history and entry[0] < history[-1][0] - _RETENTION_US:
            return Outcome("dead", problem=too_late(event, history[-1][0]), value=value)
        insert_sorted(history, entry)
        cutoff = history[-1][0] - _RETENTION_US
        if history[0][0] < cutoff:
            history = history[bisect.bisect_left([e[0] for e in history], cutoff):]
        state.set(HISTORY_KEY, history)
        return Outcome(
            "applied",
            event=event,
            offline_row=feature_row(event.customer_id, entry[0], history),
            online_row=feature_row(event.customer_id, history[-1][0], history),
        )


def insert_sorted(history: list[Entry], entry: Entry) -> None:
    """Insert in time order (a late event lands in place; equal times keep arrival order)."""
    history.insert(bisect.bisect_right([e[0] for e in history], entry[0]), entry)


def feature_row(customer_id: str, as_of_us: int, history: Sequence[Entry]) -> dict[str, Any]:
    """One stored row: the customer, the moment (a datetime, never a string) and their recent events then."""
    return {ENTITY_COLUMN: customer_id, TIMESTAMP_FIELD: from_micros(as_of_us), **rolling.row_as_of(history, as_of_us)}


def wrong_key(event: TransactionEventV1, key: bytes | None) -> InvalidEvent:
    return InvalidEvent(
        "wrong_key",
        f"the message key must be the event's 'customer_id' {event.customer_id!r} (key: {key!r}), so that a "
        "customer's events and history stay on one partition; produce with key=customer_id",
    )


def too_late(event: TransactionEventV1, latest_us: int) -> InvalidEvent:
    latest = from_micros(latest_us)
    return InvalidEvent(
        "too_late",
        f"'event_timestamp' {event.event_timestamp.isoformat()} is more than {rolling.RETENTION.days} days before "
        f"the customer's latest event ({latest.isoformat()}): its windows are closed and its history is gone",
    )


def seed_lookup(events: Sequence[TransactionEventV1]) -> SeedLookup:
    """Recorded events grouped by customer, as history entries (a fresh list per call: the step mutates it)."""
    by_customer: dict[str, list[Entry]] = {}
    for event in sorted(events, key=lambda e: e.event_timestamp):
        by_customer.setdefault(event.customer_id, []).append(entry_of(event))
    return lambda customer_id: [list(entry) for entry in by_customer.get(customer_id, ())]


def latest_rows(outcomes: Sequence[Outcome]) -> list[Mapping[str, Any]]:
    """The online rows to write for a batch: per customer, the last one (as of their latest event)."""
    last: dict[str, Mapping[str, Any]] = {}
    for outcome in outcomes:
        if outcome.online_row is not None:
            last[outcome.online_row[ENTITY_COLUMN]] = outcome.online_row
    return list(last.values())

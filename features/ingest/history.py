"""The stateful step of the stream: each customer's recent history, kept per input partition by Quix Streams.

Quix Streams calls ``CustomerHistoryStep`` once per message with the message's ``State``, a key-value view
scoped to the message key inside the partition's RocksDB store. The key arrives as the producer sent it (the
raw customer id) and is replaced by the customer's pseudonym before this step (``pseudonymous_keys``), so the
state, its changelog, the stores and the dead letters' keys never hold a raw id. A history expires
``privacy.ingestor_state_days`` after the customer's latest event (event time; the engine's state TTL, with a
tombstone in the changelog): retention that runs without a sweep. Every change is also
written to the store's changelog topic, so when a partition moves to another replica (a rebalance, a
pod lost) its new owner restores exactly the histories the old one had committed. That is why
features stay right at any number of replicas: the history travels with the partition.

Per message the step decides one ``Outcome``:

| outcome     | when                                                                 | goes to              |
|-------------|----------------------------------------------------------------------|----------------------|
| ``dead``    | not a valid v1 event, a key that is not its customer id, or older than the retention before the customer's latest event | the dead-letter topic, with the reason |
| ``duplicate`` | its ``event_id`` is already in the customer's history            | nowhere (counted)    |
| ``applied`` | otherwise: folded into the history                                   | the online store (the customer's row as of their latest event) and the offline store (a row as of the event itself) |
| ``erased``  | an erasure request (``erasure_requests``) for the customer         | the history deleted; the online row removed; the batch's earlier rows of the customer dropped |

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
from features.ingest.erasure_requests import is_erasure_request
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

    kind: Literal["applied", "duplicate", "dead", "erased"]
    event: TransactionEventV1 | None = None
    offline_row: dict[str, Any] | None = None
    online_row: dict[str, Any] | None = None
    problem: InvalidEvent | None = None
    value: bytes | None = None
    erased: str | None = None  # the customer (pseudonym) an erasure request was for
    held_history: bool = False  # whether this partition's state held a history for them


#: Recorded transactions of a customer inside the retention, as history entries (the seed of a new history).
SeedLookup = Callable[[str], list[Entry]]


class CustomerHistoryStep:
    """``sdf.apply(step, stateful=True, metadata=True)``: parse, de-duplicate, fold, compute the rows."""

    def __init__(self, seed: SeedLookup, pseudonymise: Callable[[str], str], state_ttl: timedelta) -> None:
        """``seed`` and the message keys are by pseudonym; ``pseudonymise`` maps the event's raw customer id."""
        self.seed = seed
        self.pseudonymise = pseudonymise
        self.state_ttl = state_ttl

    def __call__(self, value: bytes | None, key: bytes | None, _timestamp: int, headers: Any, state: Any) -> Outcome:
        if is_erasure_request(headers) and key is not None:
            held = state.get(HISTORY_KEY) is not None
            state.delete(HISTORY_KEY)
            return Outcome("erased", erased=key.decode(), held_history=held)
        try:
            event = parse_event(value)
        except InvalidEvent as problem:
            return Outcome("dead", problem=problem, value=value)
        customer = self.pseudonymise(event.customer_id)
        if key != customer.encode():
            return Outcome("dead", problem=wrong_key(), value=value)
        history: list[Entry] | None = state.get(HISTORY_KEY)
        if history is None:
            history = self.seed(customer)
        entry = entry_of(event)
        if any(known[2] == event.event_id for known in history):
            return Outcome("duplicate", event=event)
        if history and entry[0] < history[-1][0] - _RETENTION_US:
            return Outcome("dead", problem=too_late(event, history[-1][0]), value=value)
        insert_sorted(history, entry)
        cutoff = history[-1][0] - _RETENTION_US
        if history[0][0] < cutoff:
            history = history[bisect.bisect_left([e[0] for e in history], cutoff):]
        state.set(HISTORY_KEY, history, ttl=self.state_ttl)
        return Outcome(
            "applied",
            event=event,
            offline_row=feature_row(customer, entry[0], history),
            online_row=feature_row(customer, history[-1][0], history),
        )


def insert_sorted(history: list[Entry], entry: Entry) -> None:
    """Insert in time order (a late event lands in place; equal times keep arrival order)."""
    history.insert(bisect.bisect_right([e[0] for e in history], entry[0]), entry)


def feature_row(customer: str, as_of_us: int, history: Sequence[Entry]) -> dict[str, Any]:
    """One stored row: the customer's pseudonym, the moment (a datetime, never a string) and their recent events then."""
    return {ENTITY_COLUMN: customer, TIMESTAMP_FIELD: from_micros(as_of_us), **rolling.row_as_of(history, as_of_us)}


def wrong_key() -> InvalidEvent:
    """Neither id is named: the error travels in the dead letter's headers, and ids are personal data."""
    return InvalidEvent(
        "wrong_key",
        "the message key must be the event's 'customer_id', so that a customer's events and history stay on one "
        "partition; produce with key=customer_id",
    )


def too_late(event: TransactionEventV1, latest_us: int) -> InvalidEvent:
    latest = from_micros(latest_us)
    return InvalidEvent(
        "too_late",
        f"'event_timestamp' {event.event_timestamp.isoformat()} is more than {rolling.RETENTION.days} days before "
        f"the customer's latest event ({latest.isoformat()}): its windows are closed and its history is gone",
    )


def seed_lookup(recorded: Sequence[tuple[str, Entry]]) -> SeedLookup:
    """Recorded ``(pseudonym, entry)`` pairs grouped by customer, oldest first (a fresh list per call: the step
    mutates it)."""
    by_customer: dict[str, list[Entry]] = {}
    for customer, entry in sorted(recorded, key=lambda pair: pair[1][0]):
        by_customer.setdefault(customer, []).append(entry)
    return lambda customer: [list(entry) for entry in by_customer.get(customer, ())]


def latest_rows(outcomes: Sequence[Outcome]) -> list[Mapping[str, Any]]:
    """The online rows to write for a batch: per customer, the last one (as of their latest event)."""
    last: dict[str, Mapping[str, Any]] = {}
    for outcome in outcomes:
        if outcome.online_row is not None:
            last[outcome.online_row[ENTITY_COLUMN]] = outcome.online_row
    return list(last.values())

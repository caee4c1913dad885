"""The ingestor's durable state: which events it applied, each customer's recent history, and what is
still owed to the offline store, all in one SQLite file committed in one transaction per batch.

Why a file, and why one transaction: the rolling-window features (counts and sums over 1 h, 24 h,
7 d, ...) are recomputed from each customer's recent events, never incremented, and the set of
applied event ids is the same table as that history. A batch's events, its dead-letter marks and
its offline rows become durable together, *before* the batch's offsets are committed to Kafka.
So after any crash (SIGKILL included):

| crash point                                  | on restart                                           |
|----------------------------------------------|------------------------------------------------------|
| before the online push                       | the batch is re-read and applied; nothing was written |
| after the online push, before this commit    | re-read, recomputed from the same state: the same values are written again |
| after this commit, before the offset commit  | re-read; every event is already here: skipped as duplicates |

Counts cannot double: an event id is applied at most once (primary key), and features are a
function of the set of applied events. History older than ``retention`` before a customer's latest
event is pruned; it no longer affects any window.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from features.ingest.events import TransactionEventV1

STATE_FORMAT_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied_events (
    event_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    event_time_us INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS applied_events_by_customer ON applied_events (customer_id, event_time_us);
CREATE TABLE IF NOT EXISTS dead_letters (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE IF NOT EXISTS offline_outbox (
    event_id TEXT PRIMARY KEY,
    row TEXT NOT NULL
);
"""

#: Source coordinates of a message: (topic, partition, offset).
Coordinates = tuple[str, int, int]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding), the time key of the history table."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


class IngestState:
    """SQLite-backed state of one ingestor, with each touched customer's history cached in memory."""

    def __init__(self, path: Path, *, retention: timedelta) -> None:
        self.path = Path(path)
        self.retention = retention
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)  # explicit BEGIN/COMMIT below
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed batch survives power loss, not only SIGKILL
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('format_version', ?)", (STATE_FORMAT_VERSION,))
        self._histories: dict[str, list[TransactionEventV1]] = {}

    # ---- reads ----------------------------------------------------------------------------------
    def unseen(self, events: Sequence[TransactionEventV1]) -> list[TransactionEventV1]:
        """The events not applied yet, each id once (the first copy in ``events`` wins)."""
        first: dict[str, TransactionEventV1] = {}
        for event in events:
            first.setdefault(event.event_id, event)
        applied = self._existing("applied_events", "event_id", list(first))
        return [event for event_id, event in first.items() if event_id not in applied]

    def history(self, customer_id: str) -> list[TransactionEventV1]:
        """The customer's retained events, oldest first (loaded from the file on first use)."""
        cached = self._histories.get(customer_id)
        if cached is None:
            rows = self._db.execute(
                "SELECT event FROM applied_events WHERE customer_id = ? ORDER BY event_time_us, event_id", (customer_id,)
            )
            cached = [TransactionEventV1.model_validate_json(row[0]) for row in rows]
            self._histories[customer_id] = cached
        return cached

    def already_dead_lettered(self, coordinates: Iterable[Coordinates]) -> set[Coordinates]:
        """Which of these messages were sent to the DLQ by an earlier, committed batch."""
        found = set()
        for topic, partition, offset in coordinates:
            row = self._db.execute(
                'SELECT 1 FROM dead_letters WHERE topic = ? AND partition = ? AND "offset" = ?', (topic, partition, offset)
            ).fetchone()
            if row:
                found.add((topic, partition, offset))
        return found

    def applied_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM applied_events").fetchone()[0]

    def applied_ids(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT event_id FROM applied_events")}

    def pending_offline_rows(self) -> list[tuple[str, dict]]:
        """Offline rows committed but not yet written to the offline store: ``(event_id, row)``."""
        return [(row[0], json.loads(row[1])) for row in self._db.execute("SELECT event_id, row FROM offline_outbox")]

    # ---- writes ---------------------------------------------------------------------------------
    def commit_batch(
        self,
        events: Sequence[TransactionEventV1],
        dead_letters: Sequence[tuple[Coordinates, str]],
        offline_rows: Sequence[tuple[str, dict]],
    ) -> None:
        """Make one batch durable at once: applied events, DLQ marks, offline rows owed; then prune."""
        cutoffs = self._cutoffs(events)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO applied_events VALUES (?, ?, ?, ?)",
                [(e.event_id, e.customer_id, to_micros(e.event_timestamp), e.model_dump_json()) for e in events],
            )
            self._db.executemany(
                'INSERT OR IGNORE INTO dead_letters VALUES (?, ?, ?, ?)',
                [(topic, partition, offset, reason) for (topic, partition, offset), reason in dead_letters],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO offline_outbox VALUES (?, ?)",
                [(event_id, json.dumps(row)) for event_id, row in offline_rows],
            )
            self._db.executemany(
                "DELETE FROM applied_events WHERE customer_id = ? AND event_time_us < ?",
                [(customer_id, to_micros(cutoff)) for customer_id, cutoff in cutoffs.items()],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._follow_in_cache(events, cutoffs)

    def _follow_in_cache(self, events: Sequence[TransactionEventV1], cutoffs: dict[str, datetime]) -> None:
        """Apply a committed batch to the cached histories (the cache follows the file, never leads it)."""
        for event in events:
            cached = self._histories.get(event.customer_id)
            if cached is not None and all(e.event_id != event.event_id for e in cached):
                insert_sorted(cached, event)
        for customer_id, cutoff in cutoffs.items():
            cached = self._histories.get(customer_id)
            if cached is not None:
                cached[:] = [e for e in cached if e.event_timestamp >= cutoff]

    def forget_offline_rows(self, event_ids: Sequence[str]) -> None:
        """Drop outbox rows once the offline store has them."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany("DELETE FROM offline_outbox WHERE event_id = ?", [(i,) for i in event_ids])
        self._db.execute("COMMIT")

    def seeded(self) -> bool:
        """Whether the history was seeded from the recorded transactions (done once per state file)."""
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'seeded_from'").fetchone() is not None

    def seed(self, events: Iterable[TransactionEventV1], *, source: str) -> int:
        """Add recorded transactions to the history as already applied (nothing is pushed for them).

        Their features are already in the stores through the batch path; the stream needs them only so
        that its windows count them, and so that a replay of them is a duplicate. Returns how many
        were new.
        """
        events = list(events)
        before = self.applied_count()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO applied_events VALUES (?, ?, ?, ?)",
                [(e.event_id, e.customer_id, to_micros(e.event_timestamp), e.model_dump_json()) for e in events],
            )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seeded_from', ?)", (source,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._histories.clear()
        return self.applied_count() - before

    def close(self) -> None:
        self._db.close()

    # ---- helpers --------------------------------------------------------------------------------
    def _cutoffs(self, events: Sequence[TransactionEventV1]) -> dict[str, datetime]:
        """Per customer: events before (latest event - retention) can be pruned."""
        latest: dict[str, datetime] = {}
        for event in events:
            known = self.history(event.customer_id)
            newest = max(event.event_timestamp, known[-1].event_timestamp if known else event.event_timestamp)
            latest[event.customer_id] = max(latest.get(event.customer_id, newest), newest)
        return {customer_id: moment - self.retention for customer_id, moment in latest.items()}

    def _existing(self, table: str, column: str, values: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(values), 500):  # SQLite caps bound parameters per statement
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in self._db.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk))
        return found


def insert_sorted(history: list[TransactionEventV1], event: TransactionEventV1) -> None:
    """Insert ``event`` into a time-ordered history, keeping the order (late events land in place)."""
    keys = [e.event_timestamp for e in history]
    history.insert(bisect.bisect_right(keys, event.event_timestamp), event)

"""Appending streamed feature rows to the offline store, exactly once where the store allows it.

The offline store keeps one feature row per transaction (the aggregates as of that transaction) for
point-in-time-correct training sets. Two sinks:

| batch source of the feature view | sink                 | guarantee                                     |
|----------------------------------|----------------------|-----------------------------------------------|
| a local parquet file (``local``) | ``ParquetAppendSink`` | atomic (temp file + rename) and idempotent: rows already there (same entity and event time) are skipped |
| anything else (S3 in the cloud)  | ``FeastPushSink``     | Feast's ``push(to=OFFLINE)``; at least once: a crash between write and bookkeeping can repeat identical rows, which Feast's point-in-time join collapses |

Why not Feast's push for the local file too: its file offline store rewrites the parquet in place
(read, concatenate, write to the same path), so a SIGKILL during the write leaves a truncated file
that breaks every later training run, and a retried batch appends the same rows twice.
Rows are written in bulk from the ingestor's outbox (every few seconds and on shutdown), so the
cost of rewriting the file is paid per flush, not per event.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from environments.errors import CommandFailed


class OfflineSink(Protocol):
    def write(self, rows: Sequence[dict[str, Any]]) -> int:
        """Write feature rows; return how many were new to the store."""


class ParquetAppendSink:
    """Atomic, idempotent append to the feature view's local parquet batch source."""

    def __init__(self, path: Path, *, entity_column: str, timestamp_column: str) -> None:
        self.path = Path(path)
        self.entity_column = entity_column
        self.timestamp_column = timestamp_column

    def write(self, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        new = pd.DataFrame(list(rows))
        new[self.timestamp_column] = pd.to_datetime(new[self.timestamp_column], utc=True)
        if self.path.exists():
            existing = pq.read_table(self.path)
            new = self._without_rows_already_in(existing, new)
            if new.empty:
                return 0
            missing = sorted(set(existing.column_names) - set(new.columns))
            if missing:
                raise CommandFailed(
                    f"the offline source {self.path} has columns the stream does not compute: {missing}; "
                    "the feature view and features/aggregations.py must define the same features"
                )
            appended = pa.Table.from_pandas(new[existing.column_names], preserve_index=False)
            schema = _merged_schema(existing.schema, appended.schema)
            table = pa.concat_tables([existing.cast(schema), appended.cast(schema)])
        else:
            table = pa.Table.from_pandas(new, preserve_index=False)
        self._replace_atomically(table)
        return len(new)

    def _without_rows_already_in(self, existing: pa.Table, new: pd.DataFrame) -> pd.DataFrame:
        keys = existing.select([self.entity_column, self.timestamp_column]).to_pandas()
        keys[self.timestamp_column] = pd.to_datetime(keys[self.timestamp_column], utc=True)
        known = set(zip(keys[self.entity_column], keys[self.timestamp_column]))
        fresh = [
            (entity, moment) not in known for entity, moment in zip(new[self.entity_column], new[self.timestamp_column])
        ]
        return new[fresh].drop_duplicates(subset=[self.entity_column, self.timestamp_column])

    def _replace_atomically(self, table: pa.Table) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        pq.write_table(table, temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _merged_schema(existing: pa.Schema, appended: pa.Schema) -> pa.Schema:
    """The file's schema, except that columns typed ``null`` (an empty file) take the new rows' types."""
    return pa.schema(
        [appended.field(f.name) if pa.types.is_null(f.type) else f for f in existing],
        metadata=existing.metadata,
    )


class FeastPushSink:
    """``FeatureStore.push(..., to=PushMode.OFFLINE)`` for batch sources other than a local file."""

    def __init__(self, store: Any, push_source: str) -> None:
        self.store = store
        self.push_source = push_source

    def write(self, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        from feast.data_source import PushMode

        frame = pd.DataFrame(list(rows))
        self.store.push(self.push_source, frame, to=PushMode.OFFLINE)
        return len(frame)

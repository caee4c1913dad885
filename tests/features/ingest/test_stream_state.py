"""The ingestor's SQLite state and the offline parquet sink: durable, idempotent, and atomic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.ingest.events import DUBAI, TransactionEventV1
from features.ingest.offline import ParquetAppendSink
from features.ingest.state import IngestState

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def event(event_id: str, customer_id: str = "c000001", at: datetime = T0, amount: float = 10.0) -> TransactionEventV1:
    return TransactionEventV1(
        event_id=event_id,
        transaction_id=event_id,
        customer_id=customer_id,
        merchant_id="m0001",
        event_timestamp=at,
        amount_aed=amount,
        merchant_category="grocery",
        channel="pos",
        hour=at.astimezone(DUBAI).hour,
        is_cross_border=False,
    )


@pytest.fixture
def state(tmp_path: Path):
    opened = IngestState(tmp_path / "state.sqlite", retention=timedelta(days=8))
    yield opened
    opened.close()


def test_unseen_drops_committed_events_and_repeats_within_a_batch(state: IngestState) -> None:
    state.commit_batch([event("a")], [], [])
    assert [e.event_id for e in state.unseen([event("a"), event("b"), event("b")])] == ["b"]


def test_committed_history_survives_reopening_the_file(tmp_path: Path) -> None:
    first = IngestState(tmp_path / "s.sqlite", retention=timedelta(days=8))
    first.commit_batch([event("a", at=T0 + timedelta(minutes=5)), event("b", at=T0)], [], [])
    first.close()
    reopened = IngestState(tmp_path / "s.sqlite", retention=timedelta(days=8))
    assert [e.event_id for e in reopened.history("c000001")] == ["b", "a"]
    reopened.close()


def test_a_failed_commit_leaves_nothing_behind(state: IngestState) -> None:
    with pytest.raises(TypeError):
        state.commit_batch([event("a")], [], [("a", {"not": object()})])  # a row that cannot be stored
    assert state.applied_count() == 0 and state.pending_offline_rows() == []


def test_history_older_than_the_retention_before_the_latest_event_is_pruned(state: IngestState) -> None:
    state.commit_batch([event("old", at=T0)], [], [])
    state.commit_batch([event("new", at=T0 + timedelta(days=9))], [], [])
    assert [e.event_id for e in state.history("c000001")] == ["new"]


def test_dead_letter_marks_are_remembered_by_source_offset(state: IngestState) -> None:
    state.commit_batch([], [(("transactions", 1, 7), "not_json")], [])
    assert state.already_dead_lettered([("transactions", 1, 7), ("transactions", 1, 8)]) == {("transactions", 1, 7)}


def test_offline_rows_stay_owed_until_forgotten(state: IngestState) -> None:
    state.commit_batch([event("a")], [], [("a", {"customer_id": "c000001"})])
    assert state.pending_offline_rows() == [("a", {"customer_id": "c000001"})]
    state.forget_offline_rows(["a"])
    assert state.pending_offline_rows() == []


def feature_rows(*minutes: int) -> list[dict]:
    return [
        {"customer_id": "c000001", "event_timestamp": (T0 + timedelta(minutes=m)).isoformat(), "txn_count_1h": i + 1}
        for i, m in enumerate(minutes)
    ]


def test_the_parquet_sink_appends_only_rows_it_does_not_have(tmp_path: Path) -> None:
    sink = ParquetAppendSink(tmp_path / "f.parquet", entity_column="customer_id", timestamp_column="event_timestamp")
    assert sink.write(feature_rows(0, 1)) == 2
    assert sink.write(feature_rows(0, 1, 2)) == 1
    assert len(pd.read_parquet(tmp_path / "f.parquet")) == 3


def test_the_parquet_sink_keeps_the_file_schema_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    pd.DataFrame(
        {"customer_id": ["c000002"], "event_timestamp": pd.to_datetime([T0], utc=True), "txn_count_1h": [4]}
    ).to_parquet(path)
    before = pd.read_parquet(path).dtypes.to_dict()
    ParquetAppendSink(path, entity_column="customer_id", timestamp_column="event_timestamp").write(feature_rows(3))
    assert pd.read_parquet(path).dtypes.to_dict() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.parquet"]


def test_the_parquet_sink_refuses_rows_missing_a_column_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    pd.DataFrame(
        {"customer_id": ["c000002"], "event_timestamp": pd.to_datetime([T0], utc=True), "txn_count_1h": [4], "extra": [1.0]}
    ).to_parquet(path)
    sink = ParquetAppendSink(path, entity_column="customer_id", timestamp_column="event_timestamp")
    with pytest.raises(Exception, match=r"columns the stream does not compute: \['extra'\]"):
        sink.write(feature_rows(3))

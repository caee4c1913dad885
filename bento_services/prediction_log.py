"""The prediction log: every scored item (features, score, version, variant, latency) goes to a sink.

The log is what drift monitoring, audits and later retraining read, so it is written for every
live and shadow prediction. Two sinks share one interface:

| sink  | where                                              | used by                    |
|-------|----------------------------------------------------|----------------------------|
| jsonl | ``<data>/predictions/predictions-<day>-<pid>.jsonl`` | local stack (default)      |
| kafka | topic ``serving.prediction_topic``, keyed by customer pseudonym | cloud (MSK), any broker |

One JSONL file per worker process and UTC day: workers never interleave half-lines in one file,
and a day's files can be archived as a unit.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol


if TYPE_CHECKING:
    import pandas as pd

    from environments import Environment


@dataclass(frozen=True)
class PredictionRecord:
    """One scored item. ``features`` are the model inputs as scored (after overrides and defaults)."""

    transaction_id: str
    customer_id: str  # the customer's pseudonym (``features.pseudonyms``), never the raw id
    merchant_id: str
    variant: str
    model_version: str
    score: float
    latency_ms: float
    features: dict[str, Any]
    shadow: bool = False
    unknown_entities: list[str] = field(default_factory=list)
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> str:
        # A shallow dict, not dataclasses.asdict: asdict deep-copies the features (4x slower per record).
        return json.dumps({name: getattr(self, name) for name in _RECORD_FIELDS}, separators=(",", ":"),
                          default=_json_default)


_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PredictionRecord))


def _json_default(value: Any) -> Any:
    # numpy scalars (np.float32, np.int64, np.bool_) carry .item(); anything else is a bug to surface.
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"prediction log cannot serialise {type(value).__name__}: {value!r}")


class PredictionSink(Protocol):
    """Where prediction records go. ``write`` raises when the destination fails (the request is refused);
    ``probe`` raises while it cannot take a write (readiness)."""

    def write(self, records: Sequence[PredictionRecord]) -> None: ...

    def probe(self) -> None: ...

    def close(self) -> None: ...


class JsonlPredictionSink:
    """Appends one JSON line per record to a per-process, per-day file: each batch whole, or not at all.

    A batch is written with ``os.write`` on an ``O_APPEND`` descriptor (no user-space buffer). When the
    write fails (a full disk, a read-only folder) the file is cut back to its length before the batch and
    the error is raised: no record of a request that is answered with an error, and none appears later
    when space returns (a buffered file would write it on its next flush). Each write holds an ``flock`` on the
    file, and reopens it if ``rewrite_predictions`` (erasure, retention) replaced it meanwhile, so no record is
    written to a file that is no longer the log.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._day: str | None = None
        self._fd: int | None = None
        self._path = directory

    def _file_for_today(self) -> int:
        day = datetime.now(UTC).strftime("%Y%m%d")
        if day != self._day or self._fd is None:
            self._close_file()
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path = self.directory / f"predictions-{day}-{os.getpid()}.jsonl"
            self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._day = day
        return self._fd

    def write(self, records: Sequence[PredictionRecord]) -> None:
        if not records:
            return
        data = "".join(record.to_json() + "\n" for record in records).encode("utf-8")
        with self._lock:
            fd = self._locked_file_for_today()
            try:
                before = os.lseek(fd, 0, os.SEEK_END)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                except OSError:
                    try:
                        os.ftruncate(fd, before)
                    except OSError:
                        self._close_file()  # the next write reopens; a torn last line is skipped by readers
                        fd = -1
                    raise
            finally:
                if fd >= 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _locked_file_for_today(self) -> int:
        """Today's file, locked (``flock``) against ``rewrite_predictions``; reopened if a rewrite replaced it."""
        while True:
            fd = self._file_for_today()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(self._path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass  # removed by a prune: create it again
            fcntl.flock(fd, fcntl.LOCK_UN)
            self._close_file()

    def probe(self) -> None:
        """Raise if a write in the log folder fails now (``/readyz``): a few bytes, synced, then removed."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f".probe-{os.getpid()}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            self._close_file()

    def _close_file(self) -> None:
        """Close the day's file (the caller holds the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._day = None, None


class KafkaPredictionSink:
    """Produces one message per record (key: customer id, value: the JSON record) to a Kafka topic.

    Delivery is asynchronous (the producer batches); ``close`` flushes and raises when messages
    could not be delivered, so a broken log is noticed at shutdown rather than lost silently.
    """

    def __init__(self, producer_config: dict[str, Any], topic: str, *, flush_timeout_s: float = 10.0) -> None:
        from confluent_kafka import Producer

        self.topic = topic
        self._flush_timeout_s = flush_timeout_s
        self._failures: list[str] = []
        self._producer = Producer({"linger.ms": 20, "enable.idempotence": True, **producer_config})

    def _on_delivery(self, error: Any, _message: Any) -> None:
        if error is not None:
            self._failures.append(str(error))

    def write(self, records: Sequence[PredictionRecord]) -> None:
        for record in records:
            self._producer.produce(self.topic, key=record.customer_id, value=record.to_json(),
                                   on_delivery=self._on_delivery)
        self._producer.poll(0)

    def probe(self) -> None:
        """Raise while deliveries fail (``/readyz``)."""
        if self._failures:
            raise ConnectionError(f"prediction log topic '{self.topic}': {self._failures[-1]}")

    def close(self) -> None:
        left = self._producer.flush(self._flush_timeout_s)
        if left or self._failures:
            from environments.errors import CommandFailed

            raise CommandFailed(
                f"prediction log: {left} message(s) undelivered to topic '{self.topic}' after "
                f"{self._flush_timeout_s:g} s; delivery errors: {self._failures[:3]}"
            )


def predictions_dir(env: Environment) -> Path:
    return env.paths.predictions


def sink_for(env: Environment) -> PredictionSink:
    """The sink ``env.serving.prediction_sink`` names; Kafka connects as ``env.streaming`` says (local or MSK IAM)."""
    if env.serving.prediction_sink == "jsonl":
        return JsonlPredictionSink(predictions_dir(env))
    from features.ingest.connection import connection_for

    return KafkaPredictionSink(connection_for(env).client_config(), env.serving.prediction_topic)


def read_predictions(directory: Path, *, since: datetime | None = None, include_shadow: bool = False) -> pd.DataFrame:
    """Load logged predictions as one row per item: metadata columns plus one column per feature."""
    import pandas as pd

    rows = list(_iter_records(sorted(directory.glob("predictions-*.jsonl")), since, include_shadow))
    if not rows:
        return pd.DataFrame()
    frame = pd.json_normalize(rows, sep=".")
    frame.columns = [c.removeprefix("features.") for c in frame.columns]
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    return frame


def _iter_records(files: Iterable[Path], since: datetime | None, include_shadow: bool) -> Iterable[dict[str, Any]]:
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    # A worker killed mid-write leaves at most one torn last line; skip it, keep the rest.
                    continue
                if record.get("shadow") and not include_shadow:
                    continue
                if since is not None and datetime.fromisoformat(record["ts"]) < since:
                    continue
                yield record


@dataclass(frozen=True)
class RewrittenLog:
    """One log file that held records to remove: where, how many went, how many stayed."""

    path: Path
    removed: int
    kept: int


def rewrite_predictions(directory: Path, remove: Callable[[dict[str, Any]], bool]) -> list[RewrittenLog]:
    """Rewrite every log file holding records ``remove`` selects, without them (and without torn lines).

    Each file is rewritten under its ``flock`` (the writers' lock) to a hidden name and renamed over it, or
    removed when nothing stays; a server appending to it waits, then reopens the new file. Files with nothing
    to remove are not touched."""
    rewritten = []
    for path in sorted(directory.glob("predictions-*.jsonl")):
        result = _rewrite_locked(path, remove)
        if result is not None:
            rewritten.append(result)
    return rewritten


def _rewrite_locked(path: Path, remove: Callable[[dict[str, Any]], bool]) -> RewrittenLog | None:
    while True:
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue  # replaced while we waited for the lock: read the new file
            except FileNotFoundError:
                return None
            with os.fdopen(os.dup(fd), "rb") as handle:
                lines = handle.read().splitlines(keepends=True)
            kept = [line for line in lines if not _removed(line, remove)]
            if len(kept) == len(lines):
                return None
            if kept:
                spare = path.with_name(f".{path.name}.rewrite")
                spare_fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(spare_fd, "wb") as out:
                    out.writelines(kept)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(spare, path)
            else:
                path.unlink()
            return RewrittenLog(path, len(lines) - len(kept), len(kept))
        finally:
            os.close(fd)  # releases the lock


def _removed(line: bytes, remove: Callable[[dict[str, Any]], bool]) -> bool:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True  # a torn line (a killed worker): readers skip it, so nothing is lost, and it may hold an id
    return not isinstance(record, dict) or remove(record)

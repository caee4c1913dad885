"""``sahab data erase``: one customer out of every store, on request, with a record an auditor can read.

The operator gives the raw customer id once; it is turned into the pseudonym (``features.pseudonyms``) and
used for nothing else: not printed, not recorded. Then, in this order:

| step | store | how |
|------|-------|-----|
| 1 | online store | the customer's rows deleted (``features.online_erasure``) |
| 2 | stream state (every replica, the changelog) | an erasure request to every partition (``features.ingest.erasure_requests``); locally the ingestor is run until it has read them, in the cloud the running one is waited for; the replica that reads one also deletes the online row again, should an event have rewritten it meanwhile |
| 3 | offline tables | every parquet file holding the customer rewritten without them (``features.offline_rows``) |
| 4 | prediction log | every log file holding the customer rewritten under the writers' lock (``bento_services.prediction_log``); a Kafka prediction topic cannot be rewritten and expires after ``privacy.prediction_log_days`` |
| 5 | the record | ``<data>/privacy/audit.jsonl``: who, when, reference, each store and its count, the model versions trained before (their training data held the customer) |

The stream goes before the files: once the ingestor has read the requests, no event produced before them can
write the customer again, so steps 3-4 leave nothing behind. If the requests are not read in time (no ingestor running
in the cloud), the record says the stream state is pending, with the offsets to look for.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from environments import Environment
from environments.errors import CommandFailed

#: How long the cloud's running ingestor is given to read the requests (locally one is run meanwhile).
STREAM_WAIT_S = 60.0


@dataclass(frozen=True)
class StoreErasure:
    """What one store lost. ``pending``: the removal is requested but not yet done (said in ``detail``)."""

    store: str
    removed: int
    detail: str
    pending: bool = False


@dataclass(frozen=True)
class ErasureRecord:
    """The audit record of one erasure (no raw id in it)."""

    record_id: str
    kind: str
    environment: str
    pseudonym: str
    requested_by: str
    reference: str | None
    at: str
    key: str
    stores: list[StoreErasure] = field(default_factory=list)
    models_trained_before: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not any(store.pending for store in self.stores)


def erase_customer(
    env: Environment,
    customer_id: str,
    *,
    requested_by: str,
    reference: str | None = None,
    cloud: Any = None,
    stream_wait_s: float = STREAM_WAIT_S,
    say: Any = lambda _message: None,
) -> tuple[ErasureRecord, Path]:
    """Erase ``customer_id`` from every store of ``env``; the record and where it was appended."""
    from features.pseudonyms import pseudonymiser_for
    from infra.privacy.audit import append_record

    pseudonymiser = pseudonymiser_for(env)
    pseudonym = pseudonymiser(customer_id)
    stores = []
    say("online store")
    stores.append(_erase_online(env, pseudonym, cloud))
    say("stream state: erasure requests to every partition")
    stores.append(_erase_stream_state(env, pseudonym, stream_wait_s))
    say("offline tables")
    stores.append(_erase_offline(env, pseudonym, cloud))
    say("prediction log")
    stores.append(_erase_predictions(env, pseudonym))
    record = ErasureRecord(
        record_id=str(uuid.uuid4()), kind="erasure", environment=env.name, pseudonym=pseudonym,
        requested_by=requested_by, reference=reference, at=datetime.now(UTC).isoformat(),
        key=pseudonymiser.describe(), stores=stores, models_trained_before=_models_trained_before(env),
    )
    return record, append_record(env, {**asdict(record), "complete": record.complete})


def _erase_stream_state(env: Environment, pseudonym: str, wait_s: float) -> StoreErasure:
    from features.ingest.connection import connection_for
    from features.ingest.erasure_requests import request_erasure

    store = "stream state"
    if not env.is_cloud:
        from features.ingest.local_broker import running_broker

        if running_broker(env) is None:
            return _drop_local_state(env)
    connection = connection_for(env)
    offsets = request_erasure(connection, env.streaming, pseudonym)
    where = f"at offsets {dict(sorted(offsets.items()))} of {env.streaming.topic!r} (group {env.streaming.consumer_group!r})"
    if not env.is_cloud:
        from features.ingest.ingestor import Ingestor

        with Ingestor(env, connection=connection) as ingestor:
            summary = ingestor.run(until_offsets=offsets, max_seconds=max(wait_s, 60.0))
        if summary.caught_up:
            return StoreErasure(store, summary.erased_histories, f"erasure requests {where} read by the ingestor run "
                                "here; the histories deleted, the changelog holds the deletions")
    elif _committed_past(env, connection, offsets, wait_s):
        return StoreErasure(store, 0, f"erasure requests {where} read by the running ingestor (it counts the "
                            "histories it deleted in sahab_ingest_events_total{outcome=\"erasure_request\"})")
    return StoreErasure(store, 0, f"erasure requests wait {where}: no ingestor read them within {wait_s:g} s; they "
                        "apply when one does", pending=True)


def _committed_past(env: Environment, connection: Any, offsets: dict[int, int], wait_s: float) -> bool:
    """Wait until the running ingestor's group has committed past ``offsets`` (or ``wait_s`` passed)."""
    import time

    from features.ingest.ingestor import committed_offsets

    deadline = time.monotonic() + wait_s
    while True:
        committed = committed_offsets(connection, env.streaming.consumer_group, env.streaming.topic, env.streaming.partitions)
        if all(committed.get(p, 0) >= offset for p, offset in offsets.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(1.0)


def _drop_local_state(env: Environment) -> StoreErasure:
    """The local broker is not running: its in-memory topics, changelogs included, are gone, so the state folders
    are caches of nothing; they are removed whole (a new ingestor starts from the offline store's seed)."""
    import shutil

    folders = [p for p in env.paths.streaming.glob("*/*") if p.is_dir()] if env.paths.streaming.is_dir() else []
    for folder in folders:
        shutil.rmtree(folder)
    return StoreErasure("stream state", len(folders), f"the local broker is not running: {len(folders)} replica state "
                        "folder(s) removed (caches of changelogs the stopped broker no longer holds)")


def _erase_online(env: Environment, pseudonym: str, cloud: Any) -> StoreErasure:
    from features.online_erasure import erase_online
    from features.store import feature_store_for

    removed = erase_online(feature_store_for(env, cloud), pseudonym)
    return StoreErasure("online store", removed, "rows (SQLite: one per feature) or hashes (Redis) deleted")


def _erase_offline(env: Environment, pseudonym: str, cloud: Any) -> StoreErasure:
    from features.offline_rows import remove_rows, rows_of_customer

    rewritten = remove_rows(env, rows_of_customer(pseudonym), cloud)
    return StoreErasure("offline tables", sum(f.removed for f in rewritten),
                        f"{len(rewritten)} parquet file(s) rewritten: " + ", ".join(Path(f.path).name for f in rewritten))


def _erase_predictions(env: Environment, pseudonym: str) -> StoreErasure:
    from bento_services.prediction_log import predictions_dir, rewrite_predictions

    if env.serving.prediction_sink != "jsonl":
        return StoreErasure("prediction log", 0, f"topic {env.serving.prediction_topic!r} cannot be rewritten: its records "
                            f"expire after {env.privacy.prediction_log_days} days (privacy.prediction_log_days)", pending=True)
    rewritten = rewrite_predictions(predictions_dir(env), lambda record: record.get("customer_id") == pseudonym)
    return StoreErasure("prediction log", sum(f.removed for f in rewritten), f"{len(rewritten)} log file(s) rewritten")


def _models_trained_before(env: Environment) -> list[str]:
    """Every registered version: each was trained before this erasure, on data that may hold the customer."""
    from training.registry import list_versions

    try:
        return [version.version_id for version in list_versions(env)]
    except (CommandFailed, OSError) as exc:
        return [f"(the registry could not be listed: {exc})"]

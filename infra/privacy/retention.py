"""``sahab data prune``: each store's personal data older than the environment's ``privacy`` retention, removed.

The cloud stacks enforce the same limits without this command (S3 lifecycle rules on the data bucket's
``offline/`` and ``predictions/`` prefixes, ``retention.ms`` on the topics); the ingestor's state expires by
itself (an event-time TTL). On this machine nothing runs on a clock, so this command applies the limits to
the offline tables and the prediction log, and records what it removed like an erasure. Run it from cron.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from environments import Environment
from infra.privacy.erasure import StoreErasure


def prune(env: Environment, *, requested_by: str, now: datetime | None = None, cloud: Any = None) -> tuple[list[StoreErasure], Path]:
    """Remove what is past its retention; what each store lost, and the audit record's file."""
    from bento_services.prediction_log import predictions_dir, rewrite_predictions
    from features.offline_rows import remove_rows, rows_before
    from infra.privacy.audit import append_record

    now = now or datetime.now(UTC)
    privacy = env.privacy
    offline_cutoff = now - timedelta(days=privacy.offline_days)
    log_cutoff = now - timedelta(days=privacy.prediction_log_days)
    offline = remove_rows(env, rows_before(offline_cutoff), cloud)
    stores = [StoreErasure("offline tables", sum(f.removed for f in offline),
                           f"rows before {offline_cutoff:%Y-%m-%d} ({privacy.offline_days} days); {len(offline)} file(s) rewritten")]
    if env.serving.prediction_sink == "jsonl":
        logs = rewrite_predictions(predictions_dir(env), lambda record: datetime.fromisoformat(record["ts"]) < log_cutoff)
        stores.append(StoreErasure("prediction log", sum(f.removed for f in logs),
                                   f"records before {log_cutoff:%Y-%m-%d} ({privacy.prediction_log_days} days); "
                                   f"{len(logs)} file(s) rewritten or removed"))
    stores.append(StoreErasure("stream state", 0, f"expires by itself {privacy.ingestor_state_days} days after a "
                               "customer's latest event (the ingestor's state TTL)"))
    record = {"record_id": str(uuid.uuid4()), "kind": "prune", "environment": env.name, "requested_by": requested_by,
              "at": now.isoformat(), "stores": [asdict(store) for store in stores]}
    return stores, append_record(env, record)

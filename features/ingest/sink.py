"""Where a checkpoint's outcomes go, in an order that is the delivery guarantee.

Quix Streams hands ``OutcomeSink.write`` one batch per input partition at every checkpoint, *before* it
produces the state changelog and commits the offsets; if ``write`` raises, the checkpoint is aborted:
no offset is committed and no state change is kept, so the batch is read again from the committed
offset (by this replica after a restart, or by the partition's next owner). Per batch:

1. dead letters are produced to the DLQ and confirmed by the broker (a copy, or a reference when too large);
2. the online store gets one row per customer, as of their latest event (retried briefly);
3. the offline store gets the batch's rows as one file of this partition (``offline``).

An erasure request in the batch (``erasure_requests``) drops the customer's rows that came before it and
removes their online row, unless a later event of the batch wrote a new one.

A re-read batch writes the same values again (the state it is computed from was not committed either),
so at least once delivery never doubles a count. A failure in any step raises ``CommandFailed`` with a
one-line reason, which ends the command with exit 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from quixstreams.sinks import BatchingSink, SinkBatch
from quixstreams.sinks.base.item import SinkItem

from environments.errors import CommandFailed
from features.ingest.dlq import SourceMessage, dead_letter
from features.ingest.history import ENTITY_COLUMN, Outcome, latest_rows
from features.ingest.metrics import IngestMetrics
from features.ingest.offline import PartitionFileSink
from features.ingest.producer import EventProducer
from features.online_erasure import erase_online
from features.names import CUSTOMER_TRANSACTIONS_PUSH_SOURCE as PUSH_SOURCE
from features.names import TIMESTAMP_FIELD

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 3


class OutcomeSink(BatchingSink):
    """Dead letters, online rows and offline rows of one checkpoint, per input partition."""

    def __init__(
        self,
        *,
        store: Any,
        offline: PartitionFileSink,
        dlq: EventProducer,
        group_id: str,
        dlq_max_message_bytes: int,
        metrics: IngestMetrics,
        on_written: Callable[[Sequence[Outcome], datetime], None],
        dlq_timeout_s: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.store = store
        self.offline = offline
        self.dlq = dlq
        self.group_id = group_id
        self.dlq_max_message_bytes = dlq_max_message_bytes
        self.metrics = metrics
        self.on_written = on_written
        self.dlq_timeout_s = dlq_timeout_s
        self.clock = clock

    def write(self, batch: SinkBatch) -> None:
        items: list[SinkItem] = list(batch)
        outcomes: list[Outcome] = [item.value for item in items]
        self._dead_letter(batch, [item for item in items if item.value.kind == "dead"])
        applied, erased = after_erasures(outcomes)
        if applied:
            self._push_online(latest_rows(applied))
        for customer in erased:
            erase_online(self.store, customer)
        written = self.offline.write(
            batch.topic, batch.partition, batch.start_offset, [outcome.offline_row for outcome in applied]
        )
        self.metrics.offline_rows.inc(written)
        self.on_written(outcomes, self.clock())

    def _dead_letter(self, batch: SinkBatch, dead: Sequence[SinkItem]) -> None:
        """Produce every dead letter of the batch and wait until the broker confirms all of them."""
        if not dead:
            return
        for item in dead:
            outcome: Outcome = item.value
            assert outcome.problem is not None
            source = SourceMessage(
                topic=batch.topic,
                partition=batch.partition,
                offset=item.offset,
                timestamp_ms=item.timestamp,
                key=item.key,
                value=outcome.value,
                headers=list(item.headers or []),
            )
            value, headers = dead_letter(source, outcome.problem, self.group_id, max_message_bytes=self.dlq_max_message_bytes)
            self.dlq.send(item.key, value, headers)
            self.metrics.dead_letters.labels(reason=outcome.problem.reason).inc()
        try:
            self.dlq.flush(self.dlq_timeout_s)
        except CommandFailed as exc:
            raise CommandFailed(
                f"dead letters of partition {batch.partition} were not confirmed: {exc}; no offset was committed"
            ) from None

    def _push_online(self, rows: Sequence[dict]) -> None:
        """Write the rows to the online store, retrying briefly (a SQLite store may be locked by a reader)."""
        from feast.data_source import PushMode

        frame = pd.DataFrame(list(rows))
        frame[TIMESTAMP_FIELD] = pd.to_datetime(frame[TIMESTAMP_FIELD], utc=True)
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            try:
                self.store.push(PUSH_SOURCE, frame, to=PushMode.ONLINE)
                return
            except Exception as exc:  # noqa: BLE001 - any store error is retried, then reported
                if attempt == PUSH_ATTEMPTS:
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise CommandFailed(
                        f"writing {len(frame)} feature rows to the online store failed {PUSH_ATTEMPTS} times "
                        f"({reason}); no offset was committed, so the events will be read again"
                    ) from None
                log.warning("online write failed (attempt %d): %s", attempt, exc)
                time.sleep(0.2 * attempt)


def after_erasures(outcomes: Sequence[Outcome]) -> tuple[list[Outcome], list[str]]:
    """The applied outcomes not followed by an erasure of their customer in the same batch, and the customers
    whose last outcome in the batch is an erasure (their online row must go)."""
    last_erasure = {o.erased: i for i, o in enumerate(outcomes) if o.kind == "erased" and o.erased is not None}
    applied = [o for i, o in enumerate(outcomes)
               if o.kind == "applied" and i > last_erasure.get(o.online_row[ENTITY_COLUMN] if o.online_row else "", -1)]
    rewritten = {o.online_row[ENTITY_COLUMN] for o in applied if o.online_row}
    return applied, [customer for customer in last_erasure if customer not in rewritten]

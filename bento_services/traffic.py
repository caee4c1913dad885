"""Send transactions to a running scoring service, as a card switch would, and tally the answers.

Used by ``sahab up local`` (sample traffic, then drifted traffic) and by the end-to-end tests: a
few client threads post requests of ``batch_size`` transactions over keep-alive connections and
count which variant and version answered each transaction. A 503 (the adaptive batcher shedding
load) is retried a few times with back-off, as a well-behaved client does; the retries are counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from environments import Environment
from features.names import REQUEST_FIELDS

#: Retries of a request the server shed with 503 (50, 100, 200 ms apart).
RETRIES_ON_503 = 3

#: What a request item carries: ids, the transaction's time (the service derives ``hour`` from it) and the rest.
PAYLOAD_FIELDS: tuple[str, ...] = (
    "transaction_id", "customer_id", "merchant_id", "event_timestamp", *(name for name in REQUEST_FIELDS if name != "hour"),
)


@dataclass
class TrafficSummary:
    """Answers per variant and version, HTTP failures by status, and the wall time."""

    sent: int = 0
    by_variant: Counter = field(default_factory=Counter)
    by_version: Counter = field(default_factory=Counter)
    failed_status: Counter = field(default_factory=Counter)
    retried_503: int = 0
    unknown_entities: int = 0
    seconds: float = 0.0

    def share(self, variant: str) -> float:
        answered = sum(self.by_variant.values())
        return self.by_variant[variant] / answered if answered else 0.0


def payloads_from_frame(frame: pd.DataFrame, env: Environment) -> list[dict[str, Any]]:
    """Request items from transaction rows (the generator's columns): JSON-ready plain values.

    A card switch sends the raw id. Rows of the offline tables hold pseudonyms, so each is mapped back through the
    generated customers (``training.data.offline.raw_customer_ids``; the service pseudonymises it again); rows
    straight from the generator hold raw ids already."""
    from features.pseudonyms import is_pseudonym
    from training.data.offline import raw_customer_ids

    raw = raw_customer_ids(env)
    items = frame[list(PAYLOAD_FIELDS)].to_dict(orient="records")
    for item in items:
        if is_pseudonym(item["customer_id"]):
            item["customer_id"] = raw[item["customer_id"]]
        item["amount_aed"] = float(item["amount_aed"])
        item["event_timestamp"] = pd.Timestamp(item["event_timestamp"]).isoformat()
        item["is_cross_border"] = bool(item["is_cross_border"])
        item["transaction_id"] = str(item["transaction_id"])
    return items


def replayable(frame: pd.DataFrame, store: Any) -> pd.DataFrame:
    """The transactions of ``frame`` that, scored at their own time, read exactly the features training read.

    Features are computed at a transaction's ``event_timestamp`` from the customer's stored recent events, which
    reach ``RECENT_WINDOW`` (two weeks) back from their latest event ``L``; features read one week back. So a
    transaction at ``T`` replays exactly when ``L - LONGEST_WINDOW <= T``: every customer's last week. Customers
    the store does not know are kept (unknown either way); a customer the live stream moved on since the
    recorded history keeps only what is still inside that week.
    """
    from features.aggregations import LONGEST_WINDOW, RECENT_EVENTS, to_micros, unpack_events
    from features.names import CUSTOMER_TRANSACTIONS_VIEW

    customers = frame["customer_id"].drop_duplicates().tolist()
    stored = store.get_online_features(
        features=[f"{CUSTOMER_TRANSACTIONS_VIEW}:{RECENT_EVENTS}"], entity_rows=[{"customer_id": c} for c in customers],
    ).to_dict()[RECENT_EVENTS]
    week_us = LONGEST_WINDOW // pd.Timedelta(microseconds=1)
    earliest = {customer: int(unpack_events(events)["time_us"][-1]) - week_us
                for customer, events in zip(customers, stored, strict=True) if events}
    moments = frame["event_timestamp"].map(lambda moment: to_micros(moment.to_pydatetime()))
    bound = frame["customer_id"].map(earliest).fillna(-1).astype("int64")
    return frame[moments >= bound]


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def send_transactions(
    url: str,
    items: Sequence[dict[str, Any]],
    *,
    batch_size: int = 20,
    concurrency: int = 4,
    timeout_s: float = 30.0,
) -> TrafficSummary:
    """Post ``items`` to ``<url>/score`` in requests of ``batch_size`` from ``concurrency`` threads."""
    import httpx

    summary = TrafficSummary()
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=timeout_s) as client:

        def post(chunk: Sequence[dict[str, Any]]) -> tuple[int, int, list[dict[str, Any]]]:
            # 503 is the adaptive batcher shedding load: back off and retry, as a card switch would.
            for attempt in range(RETRIES_ON_503 + 1):
                response = client.post("/score", json={"transactions": list(chunk)})
                if response.status_code != 503 or attempt == RETRIES_ON_503:
                    break
                time.sleep(0.05 * 2**attempt)
            return response.status_code, attempt, (response.json() if response.status_code == 200 else [])

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for status, retries, answers in pool.map(post, _chunks(items, batch_size)):
                summary.retried_503 += retries
                if status != 200:
                    summary.failed_status[status] += 1
                for answer in answers:
                    summary.by_variant[answer["variant"]] += 1
                    summary.by_version[answer["model_version"]] += 1
                    summary.unknown_entities += bool(answer["unknown_entities"])
    summary.sent = len(items)
    summary.seconds = time.perf_counter() - started
    return summary

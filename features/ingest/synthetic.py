"""Live synthetic transactions (and deliberately broken ones) for the producer, the benchmark and tests.

The batch generator of the ML plane writes history with labels; this one makes the *live* stream:
events stamped at the moment they are generated, for the same customers (``c000000``...) and
merchants (``m0000``...) as ``env.data``, so that streamed features land on entities the model knows.
``drift=True`` shifts the mix (bigger amounts, more e-commerce, cross-border and night-time spending)
so the drift monitor has something to catch.

Ids are ``<prefix>-<index>``: the same prefix and seed replay the same events (and the ingestor
treats them as duplicates); a fresh prefix makes new ones.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

from features.ingest.events import DUBAI, Channel, TransactionEventV1
from environments import DataConfig

#: Category -> (share of transactions, median amount in AED).
CATEGORIES: dict[str, tuple[float, float]] = {
    "grocery": (0.28, 85.0),
    "restaurants": (0.18, 120.0),
    "fuel": (0.14, 150.0),
    "fashion": (0.10, 380.0),
    "online_services": (0.12, 60.0),
    "electronics": (0.08, 900.0),
    "travel": (0.06, 1800.0),
    "jewellery": (0.04, 2500.0),
}
CHANNELS = ("pos", "ecommerce", "mobile_wallet")
CHANNEL_SHARES = {False: (0.60, 0.25, 0.15), True: (0.30, 0.55, 0.15)}


def utc_now() -> datetime:
    return datetime.now(UTC)


def synthetic_events(
    data: DataConfig,
    count: int,
    *,
    seed: int,
    id_prefix: str,
    drift: bool = False,
    clock: Callable[[], datetime] = utc_now,
) -> Iterator[TransactionEventV1]:
    """Yield ``count`` valid events, each stamped by ``clock()`` when it is generated."""
    rng = random.Random(seed)
    names = list(CATEGORIES)
    shares = [CATEGORIES[name][0] for name in names]
    if drift:  # the big-ticket categories grow
        shares = [share * (2.5 if CATEGORIES[name][1] >= 900 else 1.0) for name, share in zip(names, shares)]
    for index in range(count):
        category = rng.choices(names, weights=shares)[0]
        median = CATEGORIES[category][1] * (2.5 if drift else 1.0)
        amount = round(max(1.0, median * rng.lognormvariate(0.0, 0.8)), 2)
        cross_border = rng.random() < (0.35 if drift else 0.08)
        timestamp = clock()
        if drift and rng.random() < 0.5:  # night-time spending: the same moment, shifted into 00:00-05:00 Dubai
            local = timestamp.astimezone(DUBAI)
            timestamp -= timedelta(hours=(local.hour - rng.randrange(0, 5)) % 24)
        transaction_id = f"{id_prefix}-{index:09d}"
        yield TransactionEventV1(
            event_id=transaction_id,
            transaction_id=transaction_id,
            customer_id=f"c{rng.randrange(data.customers):06d}",
            merchant_id=f"m{rng.randrange(data.merchants):04d}",
            event_timestamp=timestamp,
            amount_aed=amount,
            merchant_category=category,
            channel=cast(Channel, rng.choices(CHANNELS, weights=CHANNEL_SHARES[drift])[0]),
            hour=timestamp.astimezone(DUBAI).hour,
            is_cross_border=cross_border,
        )


#: The defects a real producer gets wrong, each caught by a different rule of the contract.
MALFORMATIONS: tuple[str, ...] = (
    "not_json",
    "not_an_object",
    "unsupported_schema_version",
    "negative_amount",
    "missing_customer_id",
    "naive_timestamp",
    "unknown_channel",
    "wrong_hour",
    "amount_as_string",
)


def malformed_payload(event: TransactionEventV1, kind: str) -> bytes:
    """``event`` broken in one named way (one of ``MALFORMATIONS``), as the bytes a buggy producer would send."""
    data = json.loads(event.to_json_bytes())
    if kind == "not_json":
        return event.to_json_bytes()[:-7]
    if kind == "not_an_object":
        return json.dumps([data]).encode()
    if kind == "unsupported_schema_version":
        data["schema_version"] = 2
    elif kind == "negative_amount":
        data["amount_aed"] = -abs(data["amount_aed"])
    elif kind == "missing_customer_id":
        del data["customer_id"]
    elif kind == "naive_timestamp":
        data["event_timestamp"] = event.event_timestamp.replace(tzinfo=None).isoformat()
    elif kind == "unknown_channel":
        data["channel"] = "fax"
    elif kind == "wrong_hour":
        data["hour"] = (data["hour"] + 5) % 24
    elif kind == "amount_as_string":
        data["amount_aed"] = str(data["amount_aed"])
    else:
        raise ValueError(f"unknown malformation {kind!r}; use one of {MALFORMATIONS}")
    return json.dumps(data).encode()

"""The one definition of every aggregate feature: pure Python, shared by batch, stream, training and serving.

Customer features are computed **as of the moment of scoring** ``T``, from the customer's transactions
strictly before ``T``: how long since the previous one, and counts, sums and extremes over the hour, the two
hours, the day and the week before ``T``. The second purchase of an account-takeover burst, five minutes after
the first, reads "1 purchase in the last hour, 5 minutes ago", not the state after the previous purchase.

What is stored (the Feast view ``customer_transactions``, online and offline) is therefore not the features
but what they are computed from: a customer row stamped ``E`` holds the customer's **recent events**, every
transaction in ``(E - RECENT_WINDOW, E]`` (times, amounts, channel and cross-border flags; at most
``MAX_RECENT_EVENTS``, the latest kept). One function, ``customer_features_at``, turns a row into features at
``T``, and it has two callers:

* training (``training.dataset``) reads the row as of just before each transaction (Feast's point-in-time
  join) and calls it with the transaction's own time;
* serving (``bento_services.fraud_scoring.online_features``) reads the latest row from the online store and
  calls it with the request's ``event_timestamp``.

Events at or after ``T`` are ignored, so a transaction already ingested when it is scored (a replay, a fast
stream) never counts itself. Why every window is computed at ``T`` and none stored as of the last event: on
the demo data (6,000 customers, 50,628 validation rows) a gradient-boosted model reached PR-AUC 0.215 with
the windows as of the previous transaction, 0.247 with the 1 h / 2 h windows at ``T`` and the 24 h / 7 d ones
as of the previous transaction, and 0.251 with all at ``T`` (``docs/ml.md``, "Features as of scoring").

Merchant risk needs labels (chargebacks arrive in batches), so it is batch only: one snapshot per day,
computed from the transactions strictly before the snapshot.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd


#: A transaction as the recent-events row reads it: a mapping (or an object) with ``event_timestamp``
#: (tz-aware), ``amount_aed``, ``channel`` and ``is_cross_border``. The stream passes events, the batch dicts.
TransactionRecord = Mapping[str, Any] | Any


#: The largest values a feature can honestly take (a scoring request may override a feature only within them).
MAX_AMOUNT_AED = 10_000_000  # the largest single amount the scoring API accepts

WINDOW_1H = timedelta(hours=1)
WINDOW_2H = timedelta(hours=2)
WINDOW_24H = timedelta(hours=24)
WINDOW_7D = timedelta(days=7)

#: The longest window a feature reads: history older than this before ``T`` never counts.
LONGEST_WINDOW = WINDOW_7D
#: How far back a stored row reaches: twice the longest window, so that a row as of ``E`` computes exact features
#: for any instant from ``E - LONGEST_WINDOW`` on, not only after ``E`` (a transaction re-scored or scored late,
#: the demo's sample traffic, a backfill).
RECENT_WINDOW = 2 * LONGEST_WINDOW
#: The most events a row keeps (the latest). A customer with more in two weeks reads this many: every count is
#: then a lower bound. 512 is ~30x the demo's busiest fortnight and keeps an online row under 12 kB.
MAX_RECENT_EVENTS = 512
#: A customer with no transaction in the ``LONGEST_WINDOW`` before ``T`` reads this many seconds since the previous.
NO_PREVIOUS_SECONDS = LONGEST_WINDOW.total_seconds()

#: Bits of an event's flags: what the windows count besides times and amounts.
FLAG_ECOMMERCE = 1
FLAG_CROSS_BORDER = 2

#: One stored event, packed little-endian (17 bytes): time in µs since the epoch, amount in AED, flags. A row
#: stores its events as the base64 text of the packed records. Text, not Feast list or bytes columns: Feast's
#: file offline store (Dask) fingerprints its inputs, which hashes a text column in one pass but pickles every
#: list or bytes cell twice; the demo's point-in-time join took 161 s with lists, 81 s with bytes (``docs/ml.md``).
EVENT_DTYPE = np.dtype([("time_us", "<i8"), ("amount_aed", "<f8"), ("flags", "u1")])
RECENT_EVENTS = "recent_events"


@dataclass(frozen=True)
class FeatureSpec:
    """One feature or stored column: its name, value type, what it means and its largest sane value."""

    name: str
    dtype: Literal["int64", "float64", "string"]
    description: str
    maximum: float
    """Upper bound (the lower is 0): a rate is at most 1, a count or an amount at most what a window can hold."""


#: The stored row of a customer (feature view ``customer_transactions``).
RECENT_EVENT_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(RECENT_EVENTS, "string",
                "The customer's transactions in the 14 days up to the row's time, oldest first: base64 of "
                "features.aggregations.EVENT_DTYPE records (time in µs, amount in AED, flags 1 = e-commerce, 2 = cross-border).",
                float("inf")),
)
RECENT_EVENT_COLUMNS: tuple[str, ...] = tuple(spec.name for spec in RECENT_EVENT_SPECS)

_WEEK_COUNT = MAX_RECENT_EVENTS
_WEEK_AMOUNT = MAX_RECENT_EVENTS * MAX_AMOUNT_AED

#: Per-customer features at the scoring instant ``T`` (model inputs), in model order.
CUSTOMER_FEATURE_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("seconds_since_previous_txn", "float64",
                "Seconds from the customer's previous transaction to this one (7 days when none in the 7 days before).",
                NO_PREVIOUS_SECONDS),
    FeatureSpec("txn_count_1h", "int64", "Transactions of the customer in the hour before this one.", _WEEK_COUNT),
    FeatureSpec("amount_sum_1h_aed", "float64", "Their total amount, AED.", _WEEK_AMOUNT),
    FeatureSpec("txn_count_2h", "int64", "Transactions in the 2 hours before this one.", _WEEK_COUNT),
    FeatureSpec("amount_sum_2h_aed", "float64", "Their total amount, AED.", _WEEK_AMOUNT),
    FeatureSpec("ecommerce_count_2h", "int64", "E-commerce transactions in the 2 hours before.", _WEEK_COUNT),
    FeatureSpec("cross_border_count_2h", "int64", "Cross-border transactions in the 2 hours before.", _WEEK_COUNT),
    FeatureSpec("amount_max_2h_aed", "float64", "Largest amount in the 2 hours before, AED (0 when none).", MAX_AMOUNT_AED),
    FeatureSpec("txn_count_24h", "int64", "Transactions in the 24 hours before this one.", _WEEK_COUNT),
    FeatureSpec("amount_sum_24h_aed", "float64", "Their total amount, AED.", _WEEK_AMOUNT),
    FeatureSpec("txn_count_7d", "int64", "Transactions in the 7 days before this one.", _WEEK_COUNT),
    FeatureSpec("amount_mean_7d_aed", "float64", "Mean amount over the 7 days before, AED (0 when none).", MAX_AMOUNT_AED),
    FeatureSpec("amount_max_7d_aed", "float64", "Largest amount in the 7 days before, AED (0 when none).", MAX_AMOUNT_AED),
)

#: Per-merchant daily risk snapshot (batch only: it needs fraud labels).
MERCHANT_FEATURE_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "merchant_fraud_rate_30d",
        "float64",
        "Smoothed share of fraudulent transactions at the merchant over the 30 days before the snapshot.",
        1.0,
    ),
    FeatureSpec("merchant_txn_count_7d", "int64", "Transactions at the merchant in the 7 days before the snapshot.",
                10_000_000),
)

#: Column names, in order.
CUSTOMER_FEATURES: tuple[str, ...] = tuple(spec.name for spec in CUSTOMER_FEATURE_SPECS)
MERCHANT_FEATURES: tuple[str, ...] = tuple(spec.name for spec in MERCHANT_FEATURE_SPECS)

MERCHANT_RATE_WINDOW = timedelta(days=30)
MERCHANT_COUNT_WINDOW = timedelta(days=7)
#: Beta prior of the merchant fraud rate: a merchant with few transactions reads close to the prior
#: instead of 0 or 1, so one chargeback does not make a small shop look like a fraud ring.
MERCHANT_RATE_PRIOR = 0.02
MERCHANT_RATE_PRIOR_WEIGHT = 20.0

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_RECENT_US = RECENT_WINDOW // _US
_WEEK_US = LONGEST_WINDOW // _US
_HOUR_US, _TWO_HOURS_US, _DAY_US = (width // _US for width in (WINDOW_1H, WINDOW_2H, WINDOW_24H))

#: One event before packing: ``(time in µs, amount, flags)``.
Event = tuple[int, float, int]


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding): the time key of recent events."""
    if moment.tzinfo is None:
        raise ValueError(f"'event_timestamp' must carry a time zone (value: {moment!r})")
    return (moment - _EPOCH) // _US


def from_micros(micros: int) -> datetime:
    """The instant ``micros`` microseconds after the epoch, in UTC (the inverse of ``to_micros``)."""
    return _EPOCH + timedelta(microseconds=micros)


def flags_of(channel: str, is_cross_border: bool) -> int:
    """The flags of one transaction."""
    return (FLAG_ECOMMERCE if channel == "ecommerce" else 0) | (FLAG_CROSS_BORDER if is_cross_border else 0)


def recent_event(record: TransactionRecord) -> Event:
    """``(time in µs, amount, flags)`` of one transaction record (a dict, a mapping or an object)."""
    if isinstance(record, Mapping):
        moment, amount = record["event_timestamp"], record["amount_aed"]
        channel, cross_border = record["channel"], record["is_cross_border"]
    else:
        moment, amount = record.event_timestamp, record.amount_aed
        channel, cross_border = record.channel, record.is_cross_border
    if moment.__class__ is str:
        moment = datetime.fromisoformat(moment)
    return to_micros(moment), float(amount), flags_of(channel, bool(cross_border))


def pack_events(events: Sequence[Event]) -> str:
    """Events as stored: base64 of ``EVENT_DTYPE`` records, in the given order."""
    return base64.b64encode(np.array(list(events), dtype=EVENT_DTYPE).tobytes()).decode("ascii")


def unpack_events(text: str) -> np.ndarray:
    """Stored events as a structured array with fields ``time_us``, ``amount_aed`` and ``flags``."""
    return np.frombuffer(base64.b64decode(text), dtype=EVENT_DTYPE)


def recent_events_as_of(events: Sequence[Event], as_of_us: int) -> dict[str, str]:
    """The stored row at ``as_of_us``: events in ``(as_of - RECENT_WINDOW, as_of]``, oldest first, the latest
    ``MAX_RECENT_EVENTS`` of them. ``events`` must be sorted by time (ties in arrival order)."""
    end = bisect.bisect_right(events, as_of_us, key=_time)
    start = max(bisect.bisect_right(events, as_of_us - _RECENT_US, 0, end, key=_time), end - MAX_RECENT_EVENTS)
    return {RECENT_EVENTS: pack_events(events[start:end])}


def customer_features_at(row: Mapping[str, Any] | None, at: datetime | int) -> dict[str, float | int]:
    """The customer's features at the scoring instant ``at`` from a stored row (``RECENT_EVENT_COLUMNS``).

    Only events strictly before ``at`` count, so the transaction being scored never counts itself. A row of
    ``None`` (a customer the store does not know) reads as an empty history: no transaction in the week before.
    It must: training has no row before a customer's first transaction, while serving may already hold that
    transaction when it scores it, and both must give the model the same numbers.
    """
    stored = None if row is None else row.get(RECENT_EVENTS)
    at_us = at if isinstance(at, int) else to_micros(at)
    events = unpack_events(stored if isinstance(stored, str) else "")
    times = events["time_us"]
    end = int(np.searchsorted(times, at_us, side="left"))
    week, day, two_hours, hour = (
        int(np.searchsorted(times, at_us - width, side="right")) for width in (_WEEK_US, _DAY_US, _TWO_HOURS_US, _HOUR_US)
    )
    amounts = events["amount_aed"].tolist()
    recent_flags = events["flags"][two_hours:end]
    week_amounts = amounts[week:end]
    return {
        "seconds_since_previous_txn": (at_us - int(times[end - 1])) / 1e6 if end > week else NO_PREVIOUS_SECONDS,
        "txn_count_1h": end - hour,
        "amount_sum_1h_aed": float(sum(amounts[hour:end])),
        "txn_count_2h": end - two_hours,
        "amount_sum_2h_aed": float(sum(amounts[two_hours:end])),
        "ecommerce_count_2h": int(np.count_nonzero(recent_flags & FLAG_ECOMMERCE)),
        "cross_border_count_2h": int(np.count_nonzero(recent_flags & FLAG_CROSS_BORDER)),
        "amount_max_2h_aed": float(max(amounts[two_hours:end], default=0.0)),
        "txn_count_24h": end - day,
        "amount_sum_24h_aed": float(sum(amounts[day:end])),
        "txn_count_7d": len(week_amounts),
        "amount_mean_7d_aed": float(sum(week_amounts) / len(week_amounts)) if week_amounts else 0.0,
        "amount_max_7d_aed": float(max(week_amounts, default=0.0)),
    }


def _time(event: tuple[int, float, int]) -> int:
    return event[0]


def merchant_risk_snapshots(
    transactions: pd.DataFrame, snapshot_times: Sequence[datetime] | pd.DatetimeIndex, merchant_ids: Sequence[str]
) -> pd.DataFrame:
    """One row per merchant and snapshot time with ``MERCHANT_FEATURES``, from transactions before it.

    ``transactions`` needs ``merchant_id``, ``event_timestamp`` (UTC) and ``is_fraud``. Only
    transactions strictly before a snapshot count toward it (labels of the future are never used).
    Every merchant gets a row at every snapshot, so a quiet merchant reads as quiet, not as unknown.
    """
    ordered = transactions.sort_values("event_timestamp")
    times = ordered["event_timestamp"].to_numpy(dtype="datetime64[ns]")
    frames: list[pd.DataFrame] = []
    merchants = pd.Index(list(merchant_ids), name="merchant_id")
    for snapshot in pd.DatetimeIndex(snapshot_times):
        at = np.datetime64(snapshot.tz_convert("UTC").tz_localize(None), "ns")
        hi = np.searchsorted(times, at, side="left")
        lo_rate = np.searchsorted(times, at - _as_numpy(MERCHANT_RATE_WINDOW), side="left")
        lo_count = np.searchsorted(times, at - _as_numpy(MERCHANT_COUNT_WINDOW), side="left")
        window = ordered.iloc[lo_rate:hi]
        seen = window.groupby("merchant_id")["is_fraud"].agg(["sum", "count"]).reindex(merchants, fill_value=0)
        recent = ordered.iloc[lo_count:hi].groupby("merchant_id").size().reindex(merchants, fill_value=0)
        rate = (seen["sum"] + MERCHANT_RATE_PRIOR * MERCHANT_RATE_PRIOR_WEIGHT) / (
            seen["count"] + MERCHANT_RATE_PRIOR_WEIGHT
        )
        frames.append(
            pd.DataFrame(
                {
                    "merchant_id": merchants,
                    "event_timestamp": snapshot,
                    "merchant_fraud_rate_30d": rate.to_numpy(dtype="float64"),
                    "merchant_txn_count_7d": recent.to_numpy(dtype="int64"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _as_numpy(width: timedelta) -> np.timedelta64:
    return np.timedelta64(int(width.total_seconds()), "s")

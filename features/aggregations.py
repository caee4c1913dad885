"""The one definition of every aggregate feature: pure Python, shared by batch and stream.

The batch generator (``training.data.offline``) and the stream ingestor (``features.ingest``) both call
``customer_features_as_of`` for each transaction, so the offline rows a model trains on and the
online rows it is served with cannot diverge. The Feast schemas (``features.definitions``) are built
from ``CUSTOMER_FEATURE_SPECS`` and ``MERCHANT_FEATURE_SPECS`` below, so a feature added here appears there.

Convention, shared by batch, stream and training (see ``docs/ml.md``):

* A customer row stamped ``T`` is the customer's state *after* the transaction at ``T``: every window
  is ``(T - width, T]``, the transaction at ``T`` included, later ones (late arrivals) excluded.
* A transaction is scored *before* it is folded into the store, so training looks features up as of
  just before each transaction (``training.dataset.FEATURE_LOOKUP_OFFSET``); the model never sees its
  own transaction in its features, exactly as in serving.

Merchant risk needs labels (chargebacks arrive in batches), so it is batch only: one snapshot per day,
computed from the transactions strictly before the snapshot.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd


#: A transaction as an aggregate reads it: a mapping (or an object) with ``event_timestamp`` (tz-aware)
#: and ``amount_aed``. The stream passes event dicts, the batch generator plain dicts.
TransactionRecord = Mapping[str, Any] | Any


#: The largest values a feature can honestly take (a scoring request may override a feature only within them).
MAX_TRANSACTIONS_7D = 100_000
MAX_AMOUNT_AED = 10_000_000  # the largest single amount the scoring API accepts


@dataclass(frozen=True)
class FeatureSpec:
    """One aggregate feature: its column name, Feast value type, what it means and its largest sane value."""

    name: str
    dtype: Literal["int64", "float64"]
    description: str
    maximum: float
    """Upper bound (the lower is 0): a rate is at most 1, a count or an amount at most what a window can hold."""


#: Per-customer rolling aggregates, in the order they are stored and documented.
CUSTOMER_FEATURE_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("txn_count_1h", "int64", "Transactions of the customer in the last hour, this one included.",
                MAX_TRANSACTIONS_7D),
    FeatureSpec("txn_count_24h", "int64", "Transactions in the last 24 hours.", MAX_TRANSACTIONS_7D),
    FeatureSpec("txn_count_7d", "int64", "Transactions in the last 7 days.", MAX_TRANSACTIONS_7D),
    FeatureSpec("amount_sum_1h_aed", "float64", "Total amount in the last hour, AED.", MAX_TRANSACTIONS_7D * MAX_AMOUNT_AED),
    FeatureSpec("amount_sum_24h_aed", "float64", "Total amount in the last 24 hours, AED.", MAX_TRANSACTIONS_7D * MAX_AMOUNT_AED),
    FeatureSpec("amount_mean_7d_aed", "float64", "Mean amount over the last 7 days, AED.", MAX_AMOUNT_AED),
    FeatureSpec("amount_max_7d_aed", "float64", "Largest amount in the last 7 days, AED.", MAX_AMOUNT_AED),
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
                100 * MAX_TRANSACTIONS_7D),
)

#: Column names, in order (what a feature row carries besides the entity key and timestamp).
CUSTOMER_FEATURES: tuple[str, ...] = tuple(spec.name for spec in CUSTOMER_FEATURE_SPECS)
MERCHANT_FEATURES: tuple[str, ...] = tuple(spec.name for spec in MERCHANT_FEATURE_SPECS)

WINDOW_1H = timedelta(hours=1)
WINDOW_24H = timedelta(hours=24)
WINDOW_7D = timedelta(days=7)

#: The longest customer window: history older than this before ``as_of`` never counts.
LONGEST_WINDOW = WINDOW_7D

MERCHANT_RATE_WINDOW = timedelta(days=30)
MERCHANT_COUNT_WINDOW = timedelta(days=7)
#: Beta prior of the merchant fraud rate: a merchant with few transactions reads close to the prior
#: instead of 0 or 1, so one chargeback does not make a small shop look like a fraud ring.
MERCHANT_RATE_PRIOR = 0.02
MERCHANT_RATE_PRIOR_WEIGHT = 20.0


def customer_features_as_of(history: Iterable[TransactionRecord], as_of: datetime) -> dict[str, float | int]:
    """The customer's aggregates as of ``as_of`` over ``history`` (any order; ``CUSTOMER_FEATURES`` keys).

    Windows are ``(as_of - width, as_of]``: events after ``as_of`` (late arrivals) are ignored, so a
    late event never leaks into an earlier row. With no event in a window, counts and sums are 0 and
    the 7-day mean and max are 0.0.
    """
    moments_amounts = sorted(map(_timestamp_and_amount, history))
    moments = [moment for moment, _ in moments_amounts]
    end = bisect.bisect_right(moments, as_of)
    start_7d = bisect.bisect_right(moments, as_of - WINDOW_7D, 0, end)
    start_24h = bisect.bisect_right(moments, as_of - WINDOW_24H, start_7d, end)
    start_1h = bisect.bisect_right(moments, as_of - WINDOW_1H, start_24h, end)
    amounts_7d = [amount for _, amount in moments_amounts[start_7d:end]]
    count_7d = len(amounts_7d)
    return {
        "txn_count_1h": end - start_1h,
        "txn_count_24h": end - start_24h,
        "txn_count_7d": count_7d,
        "amount_sum_1h_aed": float(sum(amounts_7d[start_1h - start_7d :])),
        "amount_sum_24h_aed": float(sum(amounts_7d[start_24h - start_7d :])),
        "amount_mean_7d_aed": float(sum(amounts_7d) / count_7d) if count_7d else 0.0,
        "amount_max_7d_aed": max(amounts_7d) if amounts_7d else 0.0,
    }


def _timestamp_and_amount(record: TransactionRecord) -> tuple[datetime, float]:
    if isinstance(record, dict):  # the common case first: a plain dict (isinstance on an ABC is slow)
        moment, amount = record["event_timestamp"], record["amount_aed"]
    elif isinstance(record, Mapping):
        moment, amount = record["event_timestamp"], record["amount_aed"]
    else:
        moment, amount = record.event_timestamp, record.amount_aed
    if moment.__class__ is str:
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError(f"'event_timestamp' must carry a time zone (value: {moment!r})")
    return moment, float(amount)


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

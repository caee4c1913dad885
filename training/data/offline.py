"""Writing the generated history into the environment's offline store: the three parquet tables Feast reads.

| file (``features.definitions``)    | one row per                      | used by                                  |
|------------------------------------|----------------------------------|------------------------------------------|
| ``transactions.parquet``           | labelled transaction             | training's entity dataframe (the labels) |
| ``customer_transactions.parquet/`` | customer and transaction time    | feature view ``customer_transactions`` (a folder: ``batch.parquet`` here, the stream's files beside it) |
| ``merchant_risk.parquet``          | merchant and daily snapshot      | feature view ``merchant_risk``           |

Customer rows come from ``features.aggregations.customer_features_as_of``, the function the stream
ingestor calls too, so the history and the live stream agree on every value. Files are written to a
temporary name and renamed, so a reader (or the ingestor appending) never sees half a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import aggregations
from features.names import (
    BATCH_PART_FILE,
    CUSTOMER_TRANSACTIONS_FILE,
    DRIFT_TRANSACTIONS_FILE,
    MERCHANT_RISK_FILE,
    TRANSACTIONS_FILE,
)
from environments import Environment
from training.data.generator import DEFAULT_START, generate_transactions, merchant_id

Progress = Callable[[str], None]


@dataclass(frozen=True)
class OfflineDataset:
    """What ``write_offline_store`` wrote: paths and sizes, for the CLI's table and for tests."""

    transactions_path: Path
    customer_features_path: Path
    merchant_features_path: Path
    transactions: int
    positives: int
    customer_rows: int
    merchant_rows: int
    start: datetime
    end: datetime

    @property
    def positive_rate(self) -> float:
        return self.positives / self.transactions if self.transactions else 0.0


def offline_dir(env: Environment) -> Path:
    """The local offline store: ``<data path>/offline``."""
    return env.paths.offline


def write_offline_store(env: Environment, *, progress: Progress | None = None) -> OfflineDataset:
    """Generate ``env.data`` and write the three offline tables (replacing earlier ones)."""
    say = progress or (lambda _message: None)
    folder = offline_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    say(f"generating {env.data.customers} customers x {env.data.days} days")
    transactions = generate_transactions(env.data)
    say(f"computing rolling customer features for {len(transactions)} transactions")
    customers = customer_feature_rows(transactions)
    say("computing daily merchant risk snapshots")
    start = DEFAULT_START
    end = start + timedelta(days=env.data.days)
    merchants = merchant_feature_rows(transactions, [str(m) for m in merchant_id(np.arange(env.data.merchants))], start, end)
    paths = (folder / TRANSACTIONS_FILE, folder / CUSTOMER_TRANSACTIONS_FILE, folder / MERCHANT_RISK_FILE)
    write_parquet_atomically(transactions, paths[0])
    replace_dataset(customers, paths[1])
    write_parquet_atomically(merchants, paths[2])
    return OfflineDataset(
        transactions_path=paths[0],
        customer_features_path=paths[1],
        merchant_features_path=paths[2],
        transactions=len(transactions),
        positives=int(transactions["is_fraud"].sum()),
        customer_rows=len(customers),
        merchant_rows=len(merchants),
        start=start,
        end=end,
    )


def write_drift_transactions(env: Environment) -> tuple[Path, int]:
    """Write a drifted set of transactions (same people and shops, shifted behaviour) for the monitor."""
    frame = generate_transactions(env.data, drift=True)
    path = offline_dir(env) / DRIFT_TRANSACTIONS_FILE
    write_parquet_atomically(frame, path)
    return path, len(frame)


def customer_feature_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and transaction time: the customer's aggregates after that transaction.

    Two transactions of one customer at the same instant give one row (both are in it).
    """
    ordered = transactions.sort_values(["customer_id", "event_timestamp"], kind="stable")
    moments = pd.DatetimeIndex(ordered["event_timestamp"]).to_pydatetime()  # plain datetimes: fast to compare
    amounts = ordered["amount_aed"].tolist()
    bounds = np.flatnonzero(ordered["customer_id"].to_numpy()[1:] != ordered["customer_id"].to_numpy()[:-1]) + 1
    rows: list[dict] = []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ordered)]):
        customer = ordered["customer_id"].iat[lo]
        history = [{"event_timestamp": moments[i], "amount_aed": amounts[i]} for i in range(lo, hi)]
        window_start = 0
        previous = None
        for index, record in enumerate(history):
            moment = record["event_timestamp"]
            if moment == previous:
                rows[-1].update(aggregations.customer_features_as_of(history[window_start : index + 1], moment))
                continue
            while history[window_start]["event_timestamp"] <= moment - aggregations.LONGEST_WINDOW:
                window_start += 1  # outside every window: keep the function's input short
            rows.append(
                {
                    "customer_id": customer,
                    "event_timestamp": moment,
                    **aggregations.customer_features_as_of(history[window_start : index + 1], moment),
                }
            )
            previous = moment
    frame = pd.DataFrame(rows, columns=["customer_id", "event_timestamp", *aggregations.CUSTOMER_FEATURES])
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True).dt.as_unit("us")
    return frame.sort_values(["event_timestamp", "customer_id"], ignore_index=True)


def merchant_feature_rows(
    transactions: pd.DataFrame, merchant_ids: list[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """Daily merchant snapshots at 00:00 UTC from ``start``'s day through ``end`` (one before any sale)."""
    snapshots = pd.date_range(pd.Timestamp(start).floor("D"), pd.Timestamp(end).ceil("D"), freq="D")
    frame = aggregations.merchant_risk_snapshots(transactions, snapshots, merchant_ids)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True).dt.as_unit("us")
    return frame


def replace_dataset(frame: pd.DataFrame, folder: Path) -> None:
    """Make ``folder`` a parquet dataset holding only ``frame`` (as ``BATCH_PART_FILE``): a new history
    replaces the old one, streamed rows included. A plain file of that name (an older layout) is replaced."""
    if folder.is_file():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet_atomically(frame, folder / BATCH_PART_FILE)
    for part in folder.glob("*.parquet"):
        if part.name != BATCH_PART_FILE:
            part.unlink()


def write_parquet_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` through a temporary file and a rename (readers see old or new, whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), temporary)
    os.replace(temporary, path)

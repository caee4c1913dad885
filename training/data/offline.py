"""Writing the generated history into the environment's offline store: the three parquet tables Feast reads.

| file (``features.definitions``)    | one row per                      | used by                                  |
|------------------------------------|----------------------------------|------------------------------------------|
| ``transactions.parquet``           | labelled transaction             | training's entity dataframe (the labels) |
| ``customer_transactions.parquet/`` | customer and transaction time    | feature view ``customer_transactions`` (a folder: ``batch.parquet`` here, the stream's files beside it) |
| ``merchant_risk.parquet``          | merchant and daily snapshot      | feature view ``merchant_risk``           |

Customer ids are pseudonymised (``features.pseudonyms``) before anything is written: the generator plays the
bank's systems, which know raw ids; the platform's tables never hold one. Customer rows come from ``features.aggregations.recent_events_as_of``, the function the stream ingestor
calls too, so the history and the live stream agree on every value. Files are written to a
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
from features.pseudonyms import pseudonymise_column, pseudonymiser_for
from features.ingest.offline import OFFLINE_SCHEMA
from features.names import (
    BATCH_PART_FILE,
    CUSTOMER_TRANSACTIONS_FILE,
    DRIFT_TRANSACTIONS_FILE,
    MERCHANT_RISK_FILE,
    TRANSACTIONS_FILE,
)
from environments import Environment
from training.data.generator import DEFAULT_START, customer_id, generate_transactions, merchant_id

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
    transactions = pseudonymise_column(generate_transactions(env.data), pseudonymiser_for(env))
    say(f"computing rolling customer features for {len(transactions)} transactions")
    customers = customer_feature_rows(transactions)
    say("computing daily merchant risk snapshots")
    start = DEFAULT_START
    end = start + timedelta(days=env.data.days)
    merchants = merchant_feature_rows(transactions, [str(m) for m in merchant_id(np.arange(env.data.merchants))], start, end)
    paths = (folder / TRANSACTIONS_FILE, folder / CUSTOMER_TRANSACTIONS_FILE, folder / MERCHANT_RISK_FILE)
    write_parquet_atomically(transactions, paths[0])
    replace_dataset(customers, paths[1], OFFLINE_SCHEMA)
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
    frame = pseudonymise_column(generate_transactions(env.data, drift=True), pseudonymiser_for(env))
    path = offline_dir(env) / DRIFT_TRANSACTIONS_FILE
    write_parquet_atomically(frame, path)
    return path, len(frame)


def raw_customer_ids(env: Environment) -> dict[str, str]:
    """Pseudonym → raw id of every generated customer: what the bank's own systems know, and what the demo's
    traffic (``bento_services.traffic``) needs to send requests as the bank would. Held in memory, never written."""
    raw = [str(c) for c in customer_id(np.arange(env.data.customers))]
    return dict(zip(pseudonymiser_for(env).many(raw), raw, strict=True))


def customer_feature_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and transaction time: the customer's recent events up to that transaction.

    Two transactions of one customer at the same instant give one row (both are in it). The rows are what
    the stream writes for the same events (``features.aggregations.recent_events_as_of``, one definition).
    """
    ordered = transactions.sort_values(["customer_id", "event_timestamp"], kind="stable")
    moments = ordered["event_timestamp"].dt.as_unit("us").astype("int64").tolist()  # µs since the epoch
    amounts = ordered["amount_aed"].astype("float64").tolist()
    flags = (np.where(ordered["channel"].to_numpy() == "ecommerce", aggregations.FLAG_ECOMMERCE, 0)
             | np.where(ordered["is_cross_border"].to_numpy(dtype=bool), aggregations.FLAG_CROSS_BORDER, 0)).tolist()
    customers = ordered["customer_id"].to_numpy()
    bounds = np.flatnonzero(customers[1:] != customers[:-1]) + 1
    rows: list[dict] = []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ordered)]):
        events = list(zip(moments[lo:hi], amounts[lo:hi], flags[lo:hi], strict=True))
        for index, (moment, _, _) in enumerate(events):
            if index + 1 < len(events) and events[index + 1][0] == moment:
                continue  # the row at a shared instant holds every event of that instant: write it once, last
            rows.append({"customer_id": customers[lo], "event_timestamp": moment,
                         **aggregations.recent_events_as_of(events[: index + 1], moment)})
    frame = pd.DataFrame(rows, columns=OFFLINE_SCHEMA.names)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], unit="us", utc=True)
    return frame.sort_values(["event_timestamp", "customer_id"], ignore_index=True)


def merchant_feature_rows(
    transactions: pd.DataFrame, merchant_ids: list[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """Daily merchant snapshots at 00:00 UTC from ``start``'s day through ``end`` (one before any sale)."""
    snapshots = pd.date_range(pd.Timestamp(start).floor("D"), pd.Timestamp(end).ceil("D"), freq="D")
    frame = aggregations.merchant_risk_snapshots(transactions, snapshots, merchant_ids)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True).dt.as_unit("us")
    return frame


def replace_dataset(frame: pd.DataFrame, folder: Path, schema: pa.Schema | None = None) -> None:
    """Make ``folder`` a parquet dataset holding only ``frame`` (as ``BATCH_PART_FILE``): a new history
    replaces the old one, streamed rows included. A plain file of that name (an older layout) is replaced."""
    if folder.is_file():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet_atomically(frame, folder / BATCH_PART_FILE, schema)
    for part in folder.glob("*.parquet"):
        if part.name != BATCH_PART_FILE:
            part.unlink()


def write_parquet_atomically(frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    """Write ``frame`` to ``path`` through a temporary file and a rename (readers see old or new, whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), temporary)
    os.replace(temporary, path)

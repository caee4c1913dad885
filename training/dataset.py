"""The training set: labelled transactions joined point-in-time with ``fraud_model_v1`` through Feast.

The entity dataframe is every labelled transaction (ids, request fields, label). Feast's
``get_historical_features`` attaches, per row, the latest stored row at or before the row's
``event_timestamp``. Stored rows are stamped with the state *after* a transaction
(``features.aggregations``), so each row looks them up as of ``FEATURE_LOOKUP_OFFSET`` before its
transaction, and the customer features are then computed at the transaction's own time by
``features.aggregations.customer_features_at``, the function serving calls with the request's
``event_timestamp``: the row's own transaction (and anything later) is never in its features.

The split is by time: the last ``training.validation_days`` days are validation, everything before is
the training window; its last ``training.early_stopping_days`` days are the early-stopping slice (scored
after every epoch, never trained on), the rest are the rows the model learns from. The preprocessor is
fitted on those rows only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.aggregations import CUSTOMER_FEATURES, RECENT_EVENT_COLUMNS, customer_features_at
from features.names import (
    CUSTOMER_TRANSACTIONS_FILE,
    CUSTOMER_TRANSACTIONS_VIEW,
    FRAUD_MODEL_FEATURE_SERVICE,
    REQUEST_FIELDS,
    STORED_FEATURES,
    TRANSACTIONS_FILE,
)
from environments import Environment
from environments.errors import CommandFailed, ConfigError
from training.data.generator import TRUE_PROBABILITY
from training.preprocessing import Preprocessor

#: How far before its transaction a row looks its features up (one microsecond: "just before").
FEATURE_LOOKUP_OFFSET = timedelta(microseconds=1)
LABEL = "is_fraud"

TRANSACTION_TIME = "transaction_timestamp"
ROW = "entity_row"


@dataclass(frozen=True)
class TrainingSet:
    """The joined rows, split by time, with the preprocessor fitted on the training window."""

    train: pd.DataFrame
    validation: pd.DataFrame
    validation_start: pd.Timestamp
    stopping: pd.DataFrame
    preprocessor: Preprocessor
    snapshot_sha256: str

    def arrays(self) -> dict[str, np.ndarray]:
        """Model inputs and labels of every part (what the training processes read)."""
        out: dict[str, np.ndarray] = {}
        for split, frame in (("train", self.train), ("stop", self.stopping), ("validation", self.validation)):
            inputs = self.preprocessor.transform(frame)
            out[f"{split}_categorical"] = inputs["categorical"]
            out[f"{split}_numeric"] = inputs["numeric"]
            out[f"{split}_label"] = frame[LABEL].to_numpy(dtype=np.float32)
        return out


def entity_dataframe(transactions: pd.DataFrame) -> pd.DataFrame:
    """Feast's entity dataframe: one row per labelled transaction, looked up just before it happened.

    Lookup times are made unique (the k-th transaction sharing an instant looks up k microseconds
    earlier still): Feast's file offline store collapses entity rows that share a join key and a
    timestamp (feast-dev/feast#6787), which would silently lose labelled rows.
    """
    hidden = [TRUE_PROBABILITY] if TRUE_PROBABILITY in transactions.columns else []  # evaluation only, never a feature
    entity = transactions[["transaction_id", "customer_id", "merchant_id", *REQUEST_FIELDS, LABEL, *hidden]].copy()
    entity[TRANSACTION_TIME] = transactions["event_timestamp"]
    same_instant_rank = transactions.groupby("event_timestamp").cumcount().to_numpy()
    entity["event_timestamp"] = transactions["event_timestamp"] - pd.to_timedelta(1 + same_instant_rank, unit="us")
    return entity


def historical_rows(
    store, transactions: pd.DataFrame, *, view_rows: Mapping[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """The point-in-time join of ``transactions`` with ``fraud_model_v1``, exactly one row per transaction.

    One ``get_historical_features`` call per feature view of the service, each given only a row
    number, the view's join keys and the lookup time (Dask hashes every column it is handed, and
    string columns dominate its run time). Per view because Feast 0.67's file offline store drops
    an entity row whose every candidate feature row is later than the row's time (its ttl filter
    keeps only null or earlier matches) instead of returning nulls. Such a row has, by definition,
    no value at or before its time in that view, so it gets nulls for that view alone.

    ``view_rows`` gives a view's offline rows already read (by view name): that view is then joined here with
    ``pandas.merge_asof``, by the same rule as Feast's (the latest row at or before the lookup time, no expiry).
    Training passes the customer view this way: its rows carry packed event text, which Feast's Dask engine
    fingerprints cell by cell on every step (157 s on the demo data, against 3 s here); a test keeps both
    joins identical.
    """
    entity = entity_dataframe(transactions).reset_index(drop=True)
    entity[ROW] = np.arange(len(entity), dtype=np.int64)
    service = store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE)
    joined = entity
    for projection in service.feature_view_projections:
        keys = store.get_feature_view(projection.name).join_keys
        names = [feature.name for feature in projection.features]
        request = entity[[ROW, *keys, "event_timestamp"]]
        if view_rows and projection.name in view_rows:
            view = as_of_join(request, view_rows[projection.name], keys, names)
        else:
            refs = [f"{projection.name_to_use()}:{name}" for name in names]
            view = store.get_historical_features(entity_df=request, features=refs).to_df()
        if view[ROW].duplicated().any():
            raise CommandFailed(f"feature view {projection.name!r} returned an entity row twice")
        joined = joined.merge(view[[ROW, *names]], on=ROW, how="left", validate="one_to_one")
    missing = [name for name in STORED_FEATURES if name not in joined.columns]
    if missing:
        raise CommandFailed(f"feature service {FRAUD_MODEL_FEATURE_SERVICE!r} did not return {missing}; re-run 'sahab features apply'")
    joined[TRANSACTION_TIME] = pd.to_datetime(joined[TRANSACTION_TIME], utc=True)
    joined = with_customer_features(joined)
    return joined.drop(columns=[ROW]).sort_values([TRANSACTION_TIME, "transaction_id"], ignore_index=True)


def as_of_join(request: pd.DataFrame, rows: pd.DataFrame, keys: list[str], names: list[str]) -> pd.DataFrame:
    """Per request row, ``names`` of the latest of ``rows`` with the same ``keys`` at or before its ``event_timestamp``."""
    left = request.sort_values("event_timestamp", kind="stable")
    right = rows[[*keys, "event_timestamp", *names]].sort_values("event_timestamp", kind="stable")
    right = right.assign(event_timestamp=right["event_timestamp"].astype(left["event_timestamp"].dtype))
    return pd.merge_asof(left, right, on="event_timestamp", by=keys, direction="backward", allow_exact_matches=True)


def with_customer_features(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the customer features at each transaction's own time in place of the stored recent events.

    The same function serving calls per request; a transaction without an earlier stored row (Feast gives NaN)
    reads as an empty history, as serving reads a customer it does not know.
    """
    at_us = rows[TRANSACTION_TIME].dt.as_unit("us").astype("int64").tolist()
    stored = rows[list(RECENT_EVENT_COLUMNS)].to_dict("records")
    computed = pd.DataFrame(
        [customer_features_at(row, at) for row, at in zip(stored, at_us, strict=True)],
        columns=list(CUSTOMER_FEATURES), index=rows.index,
    )
    return pd.concat([rows.drop(columns=list(RECENT_EVENT_COLUMNS)), computed], axis=1)


def build_training_set(env: Environment, store=None) -> TrainingSet:
    """Read the labelled transactions, join their features through Feast and split them by time."""
    from features.store import feature_store_for, read_offline_table

    labelled = read_offline_table(env, TRANSACTIONS_FILE)  # local folder or S3; a missing table says how to fill it
    if store is None:
        store = feature_store_for(env)
    customer_rows = read_offline_table(env, CUSTOMER_TRANSACTIONS_FILE)
    rows = historical_rows(store, labelled, view_rows={CUSTOMER_TRANSACTIONS_VIEW: customer_rows})
    validation_start = rows[TRANSACTION_TIME].max() - pd.Timedelta(days=env.training.validation_days)
    is_validation = rows[TRANSACTION_TIME] > validation_start
    window, validation = rows[~is_validation], rows[is_validation].reset_index(drop=True)
    is_stopping = window[TRANSACTION_TIME] > validation_start - pd.Timedelta(days=env.training.early_stopping_days)
    train, stopping = window[~is_stopping].reset_index(drop=True), window[is_stopping].reset_index(drop=True)
    problems = []
    if train[LABEL].sum() == 0 or validation[LABEL].sum() == 0:
        problems.append(
            f"both windows need fraud examples (train: {int(train[LABEL].sum())}, validation: "
            f"{int(validation[LABEL].sum())}); raise 'data.days' or 'data.customers', or lower 'training.validation_days'"
        )
    if len(train) < len(validation):
        problems.append(
            f"'training.validation_days' ({env.training.validation_days}) and 'training.early_stopping_days' "
            f"({env.training.early_stopping_days}) leave fewer training rows ({len(train)}) than validation rows "
            f"({len(validation)}); together they must be well below 'data.days' ({env.data.days})"
        )
    if stopping.empty:
        problems.append(f"the early-stopping slice (the last {env.training.early_stopping_days} day(s) before the "
                        "validation window) holds no transaction; raise 'training.early_stopping_days'")
    if problems:
        raise ConfigError(problems)
    return TrainingSet(
        train=train,
        validation=validation,
        validation_start=validation_start,
        stopping=stopping,
        preprocessor=Preprocessor.fit(train),
        snapshot_sha256=snapshot_digest(rows),
    )


def snapshot_digest(rows: pd.DataFrame) -> str:
    """sha256 of the joined rows (values and column names): the manifest's data snapshot id."""
    ordered = rows[sorted(rows.columns)]
    digest = hashlib.sha256(",".join(ordered.columns).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def save_arrays(training_set: TrainingSet, path: Path) -> None:
    """Write the model inputs for the training processes (``numpy.savez``, no pickle)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **training_set.arrays())  # type: ignore[arg-type]  # numpy stubs mistype **arrays

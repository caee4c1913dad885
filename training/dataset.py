"""The training set: labelled transactions joined point-in-time with ``fraud_model_v1`` through Feast.

The entity dataframe is every labelled transaction (ids, request fields, label). Feast's
``get_historical_features`` attaches, per row, the latest stored row at or before the row's
``event_timestamp``. Stored rows are stamped with the state *after* a transaction
(``features.aggregations``), so each row looks them up as of ``FEATURE_LOOKUP_OFFSET`` before its
transaction, and the customer features are then computed at the transaction's own time by
``features.aggregations.customer_features_at``, the function serving calls with the request's
``event_timestamp``: the row's own transaction (and anything later) is never in its features.

The split is by time: the last ``training.validation_days`` days are validation, everything before
is training; the preprocessor is fitted on the training window only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.aggregations import CUSTOMER_FEATURES, RECENT_EVENT_COLUMNS, customer_features_at
from features.names import FRAUD_MODEL_FEATURE_SERVICE, REQUEST_FIELDS, STORED_FEATURES, TRANSACTIONS_FILE
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
    preprocessor: Preprocessor
    snapshot_sha256: str

    def arrays(self) -> dict[str, np.ndarray]:
        """Model inputs and labels of both windows (what the training processes read)."""
        out: dict[str, np.ndarray] = {}
        for split, frame in (("train", self.train), ("validation", self.validation)):
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


def historical_rows(store, transactions: pd.DataFrame) -> pd.DataFrame:
    """The point-in-time join of ``transactions`` with ``fraud_model_v1``, exactly one row per transaction.

    One ``get_historical_features`` call per feature view of the service, each given only a row
    number, the view's join keys and the lookup time (Dask hashes every column it is handed, and
    string columns dominate its run time). Per view because Feast 0.67's file offline store drops
    an entity row whose every candidate feature row is later than the row's time (its ttl filter
    keeps only null or earlier matches) instead of returning nulls. Such a row has, by definition,
    no value at or before its time in that view, so it gets nulls for that view alone (the
    preprocessor flags them as missing history) and keeps its values from the other views.
    """
    entity = entity_dataframe(transactions).reset_index(drop=True)
    entity[ROW] = np.arange(len(entity), dtype=np.int64)
    service = store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE)
    joined = entity
    for projection in service.feature_view_projections:
        keys = store.get_feature_view(projection.name).join_keys
        names = [feature.name for feature in projection.features]
        refs = [f"{projection.name_to_use()}:{name}" for name in names]
        request = entity[[ROW, *keys, "event_timestamp"]]
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


def with_customer_features(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the customer features at each transaction's own time in place of the stored recent events.

    The same function serving calls per request; a row without a stored customer row gets ``None`` features.
    """
    at_us = rows[TRANSACTION_TIME].dt.as_unit("us").astype("int64").tolist()
    stored = rows[list(RECENT_EVENT_COLUMNS)].to_dict("records")
    computed = pd.DataFrame(
        [customer_features_at(row if _present(row) else None, at) for row, at in zip(stored, at_us, strict=True)],
        columns=list(CUSTOMER_FEATURES), index=rows.index,
    )
    return pd.concat([rows.drop(columns=list(RECENT_EVENT_COLUMNS)), computed], axis=1)


def _present(row: dict) -> bool:
    """A joined row has a stored customer row (Feast gives NaN or None for a customer with none before)."""
    return all(isinstance(row[name], bytes) for name in RECENT_EVENT_COLUMNS)


def build_training_set(env: Environment, store=None) -> TrainingSet:
    """Read the labelled transactions, join their features through Feast and split them by time."""
    from features.store import feature_store_for, read_offline_table

    labelled = read_offline_table(env, TRANSACTIONS_FILE)  # local folder or S3; a missing table says how to fill it
    if store is None:
        store = feature_store_for(env)
    rows = historical_rows(store, labelled)
    validation_start = rows[TRANSACTION_TIME].max() - pd.Timedelta(days=env.training.validation_days)
    is_validation = rows[TRANSACTION_TIME] > validation_start
    train, validation = rows[~is_validation].reset_index(drop=True), rows[is_validation].reset_index(drop=True)
    problems = []
    if train[LABEL].sum() == 0 or validation[LABEL].sum() == 0:
        problems.append(
            f"both windows need fraud examples (train: {int(train[LABEL].sum())}, validation: "
            f"{int(validation[LABEL].sum())}); raise 'data.days' or 'data.customers', or lower 'training.validation_days'"
        )
    if len(train) < len(validation):
        problems.append(
            f"'training.validation_days' ({env.training.validation_days}) leaves fewer training rows ({len(train)}) "
            f"than validation rows ({len(validation)}); it must be well below 'data.days' ({env.data.days})"
        )
    if problems:
        raise ConfigError(problems)
    return TrainingSet(
        train=train,
        validation=validation,
        validation_start=validation_start,
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

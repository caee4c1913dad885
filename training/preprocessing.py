"""The model's input preprocessing, fitted on the training window and shipped beside the model.

Serving must compute exactly the inputs training computed, so the preprocessing is data, not code
in two places: ``Preprocessor.to_json()`` is written to ``preprocessing.json`` in every model version,
and ``Preprocessor.from_json(...).transform(records)`` turns request records into the two ONNX inputs:

| ONNX input    | dtype   | shape              | what                                                     |
|---------------|---------|--------------------|----------------------------------------------------------|
| ``categorical`` | int64   | ``[batch, 3]``       | vocabulary index of merchant_category, channel, hour; 0 = unknown |
| ``numeric``     | float32 | ``[batch, n]``       | standardised numeric inputs, in ``numeric_names`` order   |

A record holds the request fields (``features.names.REQUEST_FIELDS``: ``amount_aed``,
``merchant_category``, ``channel``, ``hour``, ``is_cross_border``) and the features of
``fraud_model_v1`` (``features.names.FRAUD_MODEL_FEATURES``). Request fields are required; a feature
may be absent or ``None`` (Feast returns ``None`` for an entity it does not know, e.g. a customer's
first transaction): it is then imputed and a ``*_history_missing`` flag tells the model so.
Unknown category values (a new merchant category, say) map to index 0 rather than failing, so a
drifted input is scored and shows up in the drift monitor instead of in the error log.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from features.aggregations import CUSTOMER_FEATURES, MERCHANT_RATE_PRIOR, NO_PREVIOUS_SECONDS
from features.names import FRAUD_MODEL_FEATURE_SERVICE, FRAUD_MODEL_FEATURES, REQUEST_FIELDS
from environments.errors import ConfigError, SahabError

#: v2: customer features computed at the scoring instant (v1 models read them as of the previous transaction).
FORMAT = "sahab.preprocessing/v2"
CATEGORICAL_INPUTS: tuple[str, ...] = ("merchant_category", "channel", "hour")
KNOWN_CHANNELS: tuple[str, ...] = ("pos", "ecommerce", "mobile_wallet")
UNKNOWN_INDEX = 0
MIN_STD = 1e-6
#: At most this many bad rows are listed per problem (the count is always given).
MAX_ROWS_LISTED = 5

#: What a customer feature reads for a customer without history (0 unless named): no previous transaction in
#: the week reads as a week since it, as ``features.aggregations.customer_features_at`` says for a known customer.
CUSTOMER_DEFAULTS: dict[str, float] = {"seconds_since_previous_txn": NO_PREVIOUS_SECONDS}

#: Numeric inputs in model order, computed by ``_numeric_columns``.
NUMERIC_NAMES: tuple[str, ...] = (
    "amount_log",
    "is_cross_border",
    *(f"{name}_log" for name in CUSTOMER_FEATURES),
    "amount_vs_mean_7d_log",
    "customer_history_missing",
    "merchant_fraud_rate_30d",
    "merchant_txn_count_7d_log",
    "merchant_history_missing",
)


class InvalidRecords(SahabError, ValueError):
    """Records that cannot be scored. ``problems`` names each field, the rule and the bad rows."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid input: " + "; ".join(problems))


Records: TypeAlias = pd.DataFrame | Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Preprocessor:
    """Vocabularies and scaling fitted on training data; immutable, serialisable, cheap to apply."""

    vocabularies: dict[str, list[str]]
    numeric_names: list[str]
    numeric_mean: list[float]
    numeric_std: list[float]
    feature_service: str = FRAUD_MODEL_FEATURE_SERVICE
    feature_columns: tuple[str, ...] = FRAUD_MODEL_FEATURES
    request_fields: tuple[str, ...] = REQUEST_FIELDS

    # ---- fitting and serialisation ----------------------------------------------------------------
    @classmethod
    def fit(cls, frame: pd.DataFrame) -> Preprocessor:
        """Learn vocabularies and mean/std of the numeric inputs from a training frame."""
        columns = _columns(frame)
        _validate(columns, len(frame))
        categories = sorted({str(value) for value in columns["merchant_category"]})
        channels = list(KNOWN_CHANNELS) + sorted({str(v) for v in columns["channel"]} - set(KNOWN_CHANNELS))
        numeric = _numeric_columns(columns, len(frame))
        std = numeric.std(axis=0)
        return cls(
            vocabularies={
                "merchant_category": categories,
                "channel": channels,
                "hour": [str(hour) for hour in range(24)],
            },
            numeric_names=list(NUMERIC_NAMES),
            numeric_mean=[float(v) for v in numeric.mean(axis=0)],
            # A constant column (e.g. no cross-border rows in a tiny set) is centred, never blown up.
            numeric_std=[float(v) if v > MIN_STD else 1.0 for v in std],
        )

    def to_json(self) -> str:
        """The ``preprocessing.json`` text (sorted keys, so equal preprocessors give equal bytes)."""
        return json.dumps(
            {
                "format": FORMAT,
                "feature_service": self.feature_service,
                "feature_columns": list(self.feature_columns),
                "request_fields": list(self.request_fields),
                "categorical_inputs": list(CATEGORICAL_INPUTS),
                "vocabularies": self.vocabularies,
                "numeric_names": self.numeric_names,
                "numeric_mean": self.numeric_mean,
                "numeric_std": self.numeric_std,
                "onnx_inputs": {"categorical": "int64[batch, 3]", "numeric": f"float32[batch, {len(self.numeric_names)}]"},
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Preprocessor:
        """Read ``preprocessing.json``; a file of another format or a model built differently is refused."""
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ConfigError(
                f"'format' of preprocessing.json must be {FORMAT!r} (value: {data.get('format')!r}): the model was "
                "trained for other features; retrain it with 'sahab train' and serve the new version"
            )
        if data["numeric_names"] != list(NUMERIC_NAMES):
            raise ConfigError(
                f"'numeric_names' of preprocessing.json {data['numeric_names']} do not match this code's "
                f"{list(NUMERIC_NAMES)}; serve the model with the sahab version that trained it"
            )
        return cls(
            vocabularies={name: list(values) for name, values in data["vocabularies"].items()},
            numeric_names=list(data["numeric_names"]),
            numeric_mean=[float(v) for v in data["numeric_mean"]],
            numeric_std=[float(v) for v in data["numeric_std"]],
            feature_service=data["feature_service"],
            feature_columns=tuple(data["feature_columns"]),
            request_fields=tuple(data["request_fields"]),
        )

    # ---- applying ----------------------------------------------------------------------------------
    @property
    def vocabulary_sizes(self) -> list[int]:
        """Embedding table sizes per categorical input (vocabulary plus the unknown slot)."""
        return [len(self.vocabularies[name]) + 1 for name in CATEGORICAL_INPUTS]

    def transform(self, records: Records) -> dict[str, np.ndarray]:
        """ONNX Runtime inputs ``{"categorical": int64[n, 3], "numeric": float32[n, k]}`` for ``records``.

        Raises ``InvalidRecords`` naming every bad field (and up to five bad rows each) at once.
        """
        count = len(records)
        columns = _columns(records)
        _validate(columns, count)
        categorical = np.empty((count, len(CATEGORICAL_INPUTS)), dtype=np.int64)
        for position, name in enumerate(CATEGORICAL_INPUTS):
            lookup = {value: index + 1 for index, value in enumerate(self.vocabularies[name])}
            values = columns[name] if name != "hour" else [int(v) for v in columns[name]]
            categorical[:, position] = [lookup.get(str(value), UNKNOWN_INDEX) for value in values]
        numeric = (_numeric_columns(columns, count) - np.asarray(self.numeric_mean)) / np.asarray(self.numeric_std)
        return {"categorical": categorical, "numeric": numeric.astype(np.float32)}


def _columns(records: Records) -> dict[str, list[Any]]:
    """Column lists of the fields the model reads; an absent feature column reads as all-missing."""
    wanted = (*REQUEST_FIELDS, *FRAUD_MODEL_FEATURES)
    if isinstance(records, pd.DataFrame):
        return {name: (records[name].tolist() if name in records.columns else [None] * len(records)) for name in wanted}
    if isinstance(records, Mapping):
        raise InvalidRecords(["records must be a list of objects (or a DataFrame), not a single object"])
    return {name: [record.get(name) for record in records] for name in wanted}


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _validate(columns: dict[str, list[Any]], count: int) -> None:
    problems: list[str] = []

    def check(name: str, rule: str, bad: list[tuple[int, Any]]) -> None:
        if bad:
            listed = ", ".join(f"row {row}: {value!r}" for row, value in bad[:MAX_ROWS_LISTED])
            more = f" and {len(bad) - MAX_ROWS_LISTED} more" if len(bad) > MAX_ROWS_LISTED else ""
            problems.append(f"'{name}' {rule} ({listed}{more})")

    if count == 0:
        raise InvalidRecords(["at least one record is required"])
    for name in REQUEST_FIELDS:
        missing = [(row, None) for row, value in enumerate(columns[name]) if _is_missing(value)]
        check(name, "is required", missing)
    check("amount_aed", "must be a finite number > 0", [
        (row, v) for row, v in enumerate(columns["amount_aed"])
        if not _is_missing(v) and not (_is_number(v) and math.isfinite(float(v)) and float(v) > 0)
    ])
    check("hour", "must be an integer from 0 to 23 (the Asia/Dubai hour)", [
        (row, v) for row, v in enumerate(columns["hour"])
        if not _is_missing(v) and not (_is_number(v) and float(v).is_integer() and 0 <= int(v) <= 23)
    ])
    check("is_cross_border", "must be true/false (or 1/0)", [
        (row, v) for row, v in enumerate(columns["is_cross_border"])
        if not _is_missing(v) and not (isinstance(v, (bool, np.bool_)) or (_is_number(v) and v in (0, 1)))
    ])
    for name in ("merchant_category", "channel"):
        check(name, "must be a string", [
            (row, v) for row, v in enumerate(columns[name]) if not _is_missing(v) and not isinstance(v, str)
        ])
    for name in FRAUD_MODEL_FEATURES:
        check(name, "must be a finite number >= 0 or null", [
            (row, v) for row, v in enumerate(columns[name])
            if not _is_missing(v) and not (_is_number(v) and math.isfinite(float(v)) and float(v) >= 0)
        ])
    if problems:
        raise InvalidRecords(problems)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _floats(values: list[Any]) -> np.ndarray:
    """Values as float64 with ``None`` as NaN."""
    return np.array([np.nan if _is_missing(v) else float(v) for v in values], dtype=np.float64)


def _numeric_columns(columns: dict[str, list[Any]], count: int) -> np.ndarray:
    """The unscaled numeric inputs (``NUMERIC_NAMES`` order); missing features imputed and flagged."""
    amount_log = np.log1p(_floats(columns["amount_aed"]))
    customer = {name: _floats(columns[name]) for name in CUSTOMER_FEATURES}
    customer_missing = np.logical_or.reduce([np.isnan(values) for values in customer.values()])
    rate = _floats(columns["merchant_fraud_rate_30d"])
    merchant_count = _floats(columns["merchant_txn_count_7d"])
    merchant_missing = np.isnan(rate) | np.isnan(merchant_count)
    logged = {name: np.log1p(np.nan_to_num(values, nan=CUSTOMER_DEFAULTS.get(name, 0.0))) for name, values in customer.items()}
    mean_log = logged["amount_mean_7d_aed"]
    amount_vs_mean = np.where(customer_missing | (mean_log == 0.0), 0.0, amount_log - mean_log)
    cross_border = np.array([float(bool(v)) for v in columns["is_cross_border"]], dtype=np.float64)
    stacked = [
        amount_log,
        cross_border,
        *(logged[name] for name in CUSTOMER_FEATURES),
        amount_vs_mean,
        customer_missing.astype(np.float64),
        np.where(np.isnan(rate), MERCHANT_RATE_PRIOR, rate),
        np.log1p(np.nan_to_num(merchant_count, nan=0.0)),
        merchant_missing.astype(np.float64),
    ]
    return np.stack(stacked, axis=1).reshape(count, len(NUMERIC_NAMES))

"""The drift monitor's reference is the training window the signed manifest records, not whatever data exists.

The recorded transactions after the validation start are shifted on purpose (amounts x1000): a reference that
took the validation window or later would hold them, and drift would be measured against the wrong baseline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from serving_stack import TinyStack, copy_stack

from bento_services.drift import reference_inputs
from features.names import TRANSACTIONS_FILE
from training.registry import load_version

SHIFT = 1000.0


def test_the_reference_holds_only_rows_of_the_training_window(tiny_stack: TinyStack, tmp_path: Path) -> None:
    env = copy_stack(tiny_stack, tmp_path / "data")
    manifest = load_version(env, tiny_stack.v2).manifest
    validation_start = pd.Timestamp(manifest.metrics["validation_start"])
    path = env.data_path() / "offline" / TRANSACTIONS_FILE
    transactions = pd.read_parquet(path)
    later = transactions["event_timestamp"] > validation_start
    assert later.sum() > 100 and (~later).sum() > 100
    ceiling = transactions.loc[~later, "amount_aed"].max()
    transactions.loc[later, "amount_aed"] *= SHIFT
    transactions.to_parquet(path, index=False)

    reference = reference_inputs(env, tiny_stack.v2)

    assert len(reference) == min(env.drift.reference_rows, int((~later).sum()))
    assert reference["amount_aed"].max() <= ceiling  # not one shifted row

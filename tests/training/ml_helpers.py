"""Helpers of the ML tests (importable by name, unlike conftest modules)."""

from __future__ import annotations

import shutil
from pathlib import Path

from environments import Environment, parse_environment

#: Sizes chosen so the held-out window still has a few dozen fraud cases (a metric that means
#: something) while the Feast join, training and export stay within seconds.
TINY_DATA = {"customers": 500, "merchants": 50, "days": 18, "seed": 42}
TINY_TRAINING = {"epochs": 4, "batch_size": 256, "learning_rate": 0.003, "seed": 7, "validation_days": 5}


def tiny_environment(data_dir: Path, name: str = "mltest", **training: object) -> Environment:
    """A local environment writing under ``data_dir`` with tiny data and training sizes."""
    return parse_environment(
        {
            "name": name,
            "target": "local",
            "region": "me-central-1",
            "data_dir": str(data_dir / "{name}"),
            "tags": {"owner": "ml", "cost-centre": "cc-0", "data-classification": "internal", "environment": name},
            "data": TINY_DATA,
            "training": {**TINY_TRAINING, **training},
        }
    )


def copy_run(prepared: Path, destination: Path) -> Path:
    """A fresh copy of a prepared run folder (so each test trains from the same start)."""
    shutil.copytree(prepared, destination)
    return destination

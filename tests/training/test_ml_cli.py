"""``sahab data generate``, ``sahab features ...`` and ``sahab train``: wiring, exit codes, and the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from ml_helpers import TINY_DATA, TINY_TRAINING
from typer.testing import CliRunner

from infra.cli import ml_cmd
from environments import Environment

SAHAB = Path(sys.executable).parent / "sahab"
WIDE = {**os.environ, "COLUMNS": "200"}


def env_file(folder: Path, env: Environment | None = None, name: str = "mltest") -> Path:
    """A YAML environment (named after its file, as the loader requires) writing under ``folder``."""
    document = {
        "name": name, "target": "local", "region": "me-central-1",
        "data_dir": env.data_dir if env else str(folder / "{name}"),
        "tags": {"owner": "ml", "cost-centre": "cc-0", "data-classification": "internal", "environment": name},
        "data": TINY_DATA, "training": TINY_TRAINING,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def invoke(*args: str):
    app = typer.Typer()
    ml_cmd.register(app)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_data_generate_writes_the_three_offline_tables_and_reports_the_fraud_rate(tmp_path: Path) -> None:
    result = invoke("data", "generate", "--env", str(env_file(tmp_path)))
    assert result.exit_code == 0, result.output
    offline = tmp_path / "mltest" / "offline"
    for table in ("transactions", "customer_transactions", "merchant_risk"):
        assert len(pd.read_parquet(offline / f"{table}.parquet")) > 0  # a file, or a folder of parts
        assert table in result.output
    rate = pd.read_parquet(offline / "transactions.parquet")["is_fraud"].mean()
    assert f"fraud rate: {rate:.2%}" in result.output


def test_data_generate_with_drift_writes_a_separate_file(tmp_path: Path) -> None:
    result = invoke("data", "generate", "--env", str(env_file(tmp_path)), "--drift")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mltest" / "offline" / "transactions_drift.parquet").is_file()
    assert not (tmp_path / "mltest" / "offline" / "transactions.parquet").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "generate", "--env", "smb"], "cloud environment"),
        (["train", "--env", "local", "--device", "tpu"], "'--device' must be cpu or cuda"),
        (["train", "--env", "local", "--device", "cuda"], "needs 1 visible CUDA GPU"),
        (["features", "apply", "--env", "local", "--outputs", "x.json"], "'--outputs' is for cloud environments"),
    ],
)
def test_bad_usage_exits_2_with_a_message_naming_the_flag(args: list[str], message: str) -> None:
    result = subprocess.run([str(SAHAB), *args], capture_output=True, text=True, env=WIDE, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())


def test_sahab_train_trains_prints_the_metrics_and_registers_a_signed_version(
    ml_env: Environment, ml_store, tmp_path: Path
) -> None:
    from training.registry import list_versions

    result = subprocess.run([str(SAHAB), "train", "--env", str(env_file(tmp_path, ml_env))],
                            capture_output=True, text=True, env=WIDE, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for label in ("PR-AUC", "ROC-AUC", "ECE", "Brier score", "ONNX parity", "int8 PR-AUC", "registered version"):
        assert label in result.stdout
    versions = list_versions(ml_env)
    assert len(versions) == 1
    manifest = versions[0].manifest
    assert manifest.feature_service == "fraud_model_v1"
    assert manifest.metrics["pr_auc"] > 3 * manifest.metrics["positive_rate"]
    assert set(manifest.artifacts) >= {"model.onnx", "model.int8.onnx", "preprocessing.json"}

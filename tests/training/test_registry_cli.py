"""``sahab models list|show``: the wiring through typer, and the real command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from registry_fixtures import FEATURES, METRICS, SNAPSHOT_SHA256, write_tiny_export
from typer.testing import CliRunner

from infra.cli import models_cmd
from environments import Environment, load_environment, project_root
from training.registry import ModelVersion, register_version

SAHAB = Path(sys.executable).parent / "sahab"
WIDE = {**os.environ, "COLUMNS": "200"}


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """environments/local.yaml with its working folder moved under tmp (the file must keep the name local)."""
    folder = tmp_path_factory.mktemp("cli")
    document = yaml.safe_load((project_root() / "environments" / "local.yaml").read_text())
    document["data_dir"] = str(folder / "data")
    path = folder / "local.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def versions(env_file: Path, tmp_path_factory: pytest.TempPathFactory) -> list[ModelVersion]:
    env: Environment = load_environment(env_file)
    export = write_tiny_export(tmp_path_factory.mktemp("export") / "export")
    return [
        register_version(env, export, metrics={**METRICS, "pr_auc": pr_auc}, feature_service="fraud_model_v1",
                         features=FEATURES, data_snapshot_sha256=SNAPSHOT_SHA256)
        for pr_auc in (0.41, 0.45)
    ]


def _invoke(*args: str) -> typer.testing.Result:
    app = typer.Typer()
    models_cmd.register(app)
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_list_names_every_version_and_marks_latest_and_previous(env_file: Path, versions: list[ModelVersion]) -> None:
    result = _invoke("models", "list", "--env", str(env_file))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for version, marker in zip(versions, ("previous", "latest"), strict=True):
        row = next(i for i, line in enumerate(lines) if version.version_id in line)
        assert marker in lines[row + 1]
    assert "pr_auc=0.45" in result.output


def test_list_of_an_empty_store_says_how_to_fill_it(tmp_path: Path) -> None:
    document = yaml.safe_load((project_root() / "environments" / "local.yaml").read_text())
    document["data_dir"] = str(tmp_path / "data")
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(document))
    result = _invoke("models", "list", "--env", str(tmp_path / "local.yaml"))
    assert result.exit_code == 0 and "sahab train" in result.output


def test_show_json_prints_the_verified_manifest_of_previous(env_file: Path, versions: list[ModelVersion]) -> None:
    result = _invoke("models", "show", "previous", "--json", "--env", str(env_file))
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["verified"] is True
    assert document["manifest"]["version_id"] == versions[0].version_id
    assert document["manifest"]["metrics"]["pr_auc"] == 0.41


def test_sahab_models_show_verifies_and_a_tampered_model_exits_1_naming_the_check(
    env_file: Path, versions: list[ModelVersion]
) -> None:
    shown = subprocess.run([str(SAHAB), "models", "show", "--env", str(env_file)], capture_output=True, text=True,
                           timeout=120, env=WIDE)
    assert shown.returncode == 0, shown.stderr
    assert f"Model version {versions[1].version_id} (signature and 3 digests verified)" in shown.stdout
    model = versions[1].path / "model.onnx"
    original = model.read_bytes()
    model.write_bytes(original + b"\0")
    try:
        refused = subprocess.run([str(SAHAB), "models", "show", "latest", "--env", str(env_file)], capture_output=True,
                                 text=True, timeout=120, env=WIDE)
    finally:
        model.write_bytes(original)
    assert refused.returncode == 1
    assert "'artifact-digest' check" in refused.stderr and "model.onnx" in refused.stderr


def test_show_of_an_unknown_version_exits_2(env_file: Path, versions: list[ModelVersion]) -> None:
    refused = subprocess.run([str(SAHAB), "models", "show", "v1", "--env", str(env_file)], capture_output=True,
                             text=True, timeout=120, env=WIDE)
    assert refused.returncode == 2 and "no model version 'v1'" in refused.stderr

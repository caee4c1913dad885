"""Rendering ``feature_store.yaml`` from the environment: SQLite + files locally, Redis (TLS, AUTH) + S3 in the cloud."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from features.store import (
    REDIS_AUTH_TOKEN_VARIABLE,
    CloudStoreSettings,
    feature_store_config,
    offline_store_uri,
    render_feature_repo,
)
from environments import Environment, load_environment, parse_environment
from environments.errors import ConfigError

CLOUD = CloudStoreSettings(data_bucket="sahab-smb-data-123456789012", online_store_endpoint="master.sahab-smb-online.cache.amazonaws.com")


def local_env(tmp_path: Path) -> Environment:
    return load_environment("local").model_copy(update={"data_dir": str(tmp_path / "{name}")})


def test_local_renders_a_sqlite_online_store_and_a_file_registry_inside_the_data_folder(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    folder = render_feature_repo(env)
    config = yaml.safe_load((folder / "feature_store.yaml").read_text())
    assert folder == tmp_path / "local" / "feature_repo"
    assert config["project"] == "sahab_local"
    assert config["online_store"] == {"type": "sqlite", "path": "online_store.db"}
    assert config["offline_store"] == {"type": "file"}
    assert config["registry"]["path"] == "registry.db"
    assert offline_store_uri(env) == str(tmp_path / "local" / "offline")


def test_cloud_renders_redis_with_tls_and_the_auth_token_as_a_variable_reference() -> None:
    config = feature_store_config(load_environment("smb"), CLOUD)
    connection = config["online_store"]["connection_string"]
    assert config["online_store"]["type"] == "redis"
    assert connection == (f"{CLOUD.online_store_endpoint}:6379,ssl=true,password=${{{REDIS_AUTH_TOKEN_VARIABLE}}},"
                          "socket_timeout=2,socket_connect_timeout=2")
    assert config["registry"]["path"] == f"s3://{CLOUD.data_bucket}/feast/registry.db"
    assert offline_store_uri(load_environment("smb"), CLOUD) == f"s3://{CLOUD.data_bucket}/offline"


def test_the_redis_token_itself_is_never_written_to_the_rendered_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(REDIS_AUTH_TOKEN_VARIABLE, "s3cr3t-token-value")
    env = load_environment("smb").model_copy(update={"data_dir": str(tmp_path / "{name}")})
    text = (render_feature_repo(env, CLOUD) / "feature_store.yaml").read_text()
    assert "s3cr3t-token-value" not in text and f"${{{REDIS_AUTH_TOKEN_VARIABLE}}}" in text


def test_a_cloud_environment_without_stack_outputs_names_the_missing_variables(monkeypatch) -> None:
    for variable in CloudStoreSettings.OUTPUTS.values():
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigError, match="SAHAB_DATA_BUCKET.*SAHAB_ONLINE_STORE_ENDPOINT"):
        feature_store_config(load_environment("smb"))


def test_settings_are_read_from_terraform_output_json() -> None:
    outputs = {"data_bucket": {"value": "b"}, "online_store_endpoint": {"value": "redis.example:6380"}, "other": {"value": 1}}
    settings = CloudStoreSettings.from_outputs(outputs)
    assert (settings.data_bucket, settings.online_store_endpoint) == ("b", "redis.example:6380")
    assert feature_store_config(load_environment("smb"), settings)["online_store"]["connection_string"].startswith(
        "redis.example:6380,ssl=true"
    )


def test_outputs_without_the_bucket_are_refused_with_the_output_name() -> None:
    with pytest.raises(ConfigError, match="data_bucket"):
        CloudStoreSettings.from_outputs({"online_store_endpoint": {"value": "x"}})


def test_project_names_replace_hyphens_feast_does_not_allow(tmp_path: Path) -> None:
    env = parse_environment(
        {"name": "team-a", "target": "local", "region": "me-central-1", "data_dir": str(tmp_path / "{name}"),
         "tags": {"owner": "o", "cost-centre": "c", "data-classification": "internal", "environment": "team-a"}}
    )
    assert feature_store_config(env)["project"] == "sahab_team_a"


def test_rendering_twice_leaves_the_file_untouched(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    path = render_feature_repo(env) / "feature_store.yaml"
    before = path.stat().st_mtime_ns
    render_feature_repo(env)
    assert path.stat().st_mtime_ns == before

"""Connection settings: the environment file decides plaintext-local or TLS + IAM on MSK, nothing else."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from features.ingest.connection import KafkaConnection, MskIamToken, connection_for
from environments import Environment, StreamingConfig, load_environment
from environments.errors import ConfigError

MSK_BOOTSTRAP = "b-1.sahab.abc123.c2.kafka.me-central-1.amazonaws.com:9098,b-2.sahab.abc123.c2.kafka.me-central-1.amazonaws.com:9098"


def with_streaming(env: Environment, **changes: object) -> Environment:
    return env.model_copy(update={"streaming": env.streaming.model_copy(update=changes)})


@pytest.fixture
def cloud_env() -> Environment:
    return with_streaming(load_environment("smb"), bootstrap_servers=MSK_BOOTSTRAP)


def test_a_cloud_environment_connects_with_sasl_ssl_oauthbearer_for_msk_iam(cloud_env: Environment) -> None:
    config = connection_for(cloud_env).client_config()
    assert config["bootstrap.servers"] == MSK_BOOTSTRAP
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert isinstance(config["oauth_cb"], MskIamToken) and config["oauth_cb"].region == "me-central-1"


def test_the_iam_callback_returns_a_token_signed_for_kafka_cluster_connect_in_the_region(
    cloud_env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

    token, expires_at_s = connection_for(cloud_env).client_config()["oauth_cb"]("")

    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.hostname == "kafka.me-central-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert "/me-central-1/kafka-cluster/aws4_request" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Credential"][0].startswith("AKIAEXAMPLEEXAMPLE12/")
    assert 0 < expires_at_s - datetime.now(UTC).timestamp() <= 900


def test_a_cloud_environment_without_bootstrap_servers_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="'streaming.bootstrap_servers' is required when 'target' is 'aws'"):
        connection_for(load_environment("smb"))


def test_a_cloud_environment_may_not_turn_iam_off(cloud_env: Environment) -> None:
    with pytest.raises(ConfigError, match="'streaming.auth' must be 'iam' when 'target' is 'aws'"):
        connection_for(with_streaming(cloud_env, auth="none"))


def test_iam_without_tls_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="'tls' must be true when 'auth' is 'iam'"):
        StreamingConfig(auth="iam", tls=False)


def test_iam_settings_need_a_region() -> None:
    with pytest.raises(ValueError, match="'aws_region' is required"):
        KafkaConnection(bootstrap_servers="b:9098", security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER")


def test_a_local_environment_with_explicit_servers_and_tls_uses_ssl_without_sasl(tmp_path) -> None:
    env = with_streaming(load_environment("local"), bootstrap_servers="127.0.0.1:9093", tls=True)
    config = connection_for(env).client_config()
    assert config["security.protocol"] == "SSL" and "sasl.mechanism" not in config


def test_a_local_environment_without_a_running_broker_says_how_to_start_one(tmp_path) -> None:
    env = load_environment("local").model_copy(update={"data_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="no local broker is running.*sahab up local"):
        connection_for(env)

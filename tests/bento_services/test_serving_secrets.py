"""The routing key and the API tokens: per environment, secret, stored hashed, rotated without a restart."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bento_services.serving_secrets import (
    TOKENS_FILE,
    api_tokens,
    create_cloud_token,
    create_local_token,
    digest,
    revoke_cloud_token,
    revoke_local_token,
    routing_key,
    routing_secret_name,
    tokens_secret_name,
)
from environments import load_environment
from environments.errors import ConfigError


@pytest.fixture
def env(tmp_path: Path):
    return load_environment("local").model_copy(update={"data_dir": str(tmp_path / "data")})


def test_the_local_routing_key_is_created_once_secret_and_shared_by_workers_starting_together(env) -> None:
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(routing_key(env))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    path = env.paths.keys / "routing.key"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert routing_key(env) == keys[0]  # a restart reads the same key


def test_a_created_token_is_accepted_stored_only_as_its_digest_and_revocable_without_restart(env) -> None:
    tokens = api_tokens(env)
    assert tokens.accepts("anything") is None  # no file: nothing is accepted
    first = create_local_token(env, "ci")
    assert tokens.accepts(first) == "ci" and tokens.accepts(first + "x") is None
    stored = (env.paths.keys / TOKENS_FILE).read_text()
    assert first not in stored and digest(first) in stored
    assert os.stat(env.paths.keys / TOKENS_FILE).st_mode & 0o777 == 0o600

    second = create_local_token(env, "ci-2026-12")  # rotation: add the new one, move clients, revoke the old
    revoke_local_token(env, "ci")
    assert tokens.accepts(first) is None and tokens.accepts(second) == "ci-2026-12"  # the same object, no restart
    with pytest.raises(ConfigError, match="a token named 'ci-2026-12' exists"):
        create_local_token(env, "ci-2026-12")


def test_a_token_file_with_a_plain_token_is_refused_naming_the_file(env) -> None:
    env.paths.keys.mkdir(parents=True)
    (env.paths.keys / TOKENS_FILE).write_text(json.dumps({"tokens": [{"name": "ci", "sha256": "hunter2"}]}))
    with pytest.raises(ConfigError, match=r"api-tokens.json: tokens \['ci'\] have no SHA-256 hex digest"):
        api_tokens(env).accepts("hunter2")


def test_a_cloud_service_reads_both_from_secrets_manager_in_its_region() -> None:
    prod = load_environment("prod")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=prod.region)
        with pytest.raises(ConfigError, match=f"the secret '{routing_secret_name(prod)}' does not exist in {prod.region}"):
            routing_key(prod, secrets_client=client)
        client.create_secret(Name=routing_secret_name(prod), SecretString="drawn-once-by-terraform")
        client.create_secret(Name=tokens_secret_name(prod),
                             SecretString=json.dumps({"tokens": [{"name": "gateway", "sha256": digest("s3cret")}]}))
        assert routing_key(prod, secrets_client=client) == hashlib.sha256(b"drawn-once-by-terraform").digest()
        assert api_tokens(prod, secrets_client=client).accepts("s3cret") == "gateway"


def test_a_cloud_token_is_added_to_the_secret_as_its_digest_refused_twice_and_revocable() -> None:
    prod = load_environment("prod")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=prod.region)
        client.create_secret(Name=tokens_secret_name(prod),
                             SecretString=json.dumps({"tokens": [{"name": "gateway", "sha256": digest("s3cret")}]}))
        token = create_cloud_token(prod, "checkout", secrets_client=client)
        stored = client.get_secret_value(SecretId=tokens_secret_name(prod))["SecretString"]
        assert token not in stored and digest(token) in stored
        assert api_tokens(prod, secrets_client=client).accepts(token) == "checkout"
        with pytest.raises(ConfigError, match="a token named 'checkout' exists in the secret 'sahab-prod-api-tokens'"):
            create_cloud_token(prod, "checkout", secrets_client=client)
        revoke_cloud_token(prod, "checkout", secrets_client=client)
        assert api_tokens(prod, secrets_client=client).accepts(token) is None
        assert api_tokens(prod, secrets_client=client).accepts("s3cret") == "gateway"
        with pytest.raises(ConfigError, match=r"no token named 'checkout' in the secret .* \(known: \['gateway'\]\)"):
            revoke_cloud_token(prod, "checkout", secrets_client=client)

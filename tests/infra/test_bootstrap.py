"""``sahab bootstrap ENV`` against moto's server on 127.0.0.1 (the real ``sahab`` process, real boto3 calls):
what it creates, that a second run is a no-op, that it restores a weakened setting, and what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from environments import load_environment
from environments.errors import ConfigError
from infra.bootstrap import bootstrap
from moto_server import MotoServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGION = "me-central-1"
ENV = load_environment("smb")
NAMES = ENV.state_backend_names


@pytest.fixture
def moto() -> Iterator[dict[str, str]]:
    """A fresh moto server (empty account) and the environment variables that point boto3 at it."""
    server = MotoServer()
    server.start()
    try:
        yield {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
               "AWS_ENDPOINT_URL": server.url, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    finally:
        server.stop()


def client(moto: dict[str, str], service: str, region: str = REGION, **credentials: str):
    return boto3.client(service, region_name=region, endpoint_url=moto["AWS_ENDPOINT_URL"],
                        aws_access_key_id=credentials.get("key", "testing"),
                        aws_secret_access_key=credentials.get("secret", "testing"),
                        aws_session_token=credentials.get("token"))


@pytest.fixture
def session(moto: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    """A boto3 session of this process pointed at moto (``AWS_ENDPOINT_URL``), as the CLI's would be."""
    for name, value in moto.items():
        monkeypatch.setenv(name, value)
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def sahab_bootstrap(moto: dict[str, str], name: str = "smb") -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | moto | {"COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "infra.cli.main", "bootstrap", name], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=environment, timeout=120)


def test_bootstrap_creates_the_key_bucket_and_lock_table_in_the_uae_with_every_setting(moto) -> None:
    completed = sahab_bootstrap(moto)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "created or completed" in completed.stdout

    kms = client(moto, "kms")
    key = kms.describe_key(KeyId=NAMES.kms_alias)["KeyMetadata"]
    assert key["Arn"].startswith(f"arn:aws:kms:{REGION}:") and key["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]

    s3 = client(moto, "s3")
    assert s3.get_bucket_location(Bucket=NAMES.bucket)["LocationConstraint"] == REGION
    assert s3.get_bucket_versioning(Bucket=NAMES.bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=NAMES.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
    assert rule["BucketKeyEnabled"]
    assert all(s3.get_public_access_block(Bucket=NAMES.bucket)["PublicAccessBlockConfiguration"].values())
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=NAMES.bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    dynamodb = client(moto, "dynamodb")
    table = dynamodb.describe_table(TableName=NAMES.lock_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["SSEDescription"]["SSEType"] == "KMS" and table["SSEDescription"]["KMSMasterKeyArn"] == key["Arn"]
    backups = dynamodb.describe_continuous_backups(TableName=NAMES.lock_table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_a_second_run_changes_nothing_and_says_so(moto) -> None:
    assert sahab_bootstrap(moto).returncode == 0
    again = sahab_bootstrap(moto)
    assert again.returncode == 0 and "nothing changed: the state backend is in place" in again.stdout
    assert "created" not in again.stdout and "updated" not in again.stdout
    assert len(client(moto, "kms").list_keys()["Keys"]) == 1  # no second key


def test_a_weakened_setting_is_restored_and_nothing_else_is_touched(moto, session) -> None:
    bootstrap(ENV, session=session)
    s3 = client(moto, "s3")
    s3.put_bucket_versioning(Bucket=NAMES.bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=NAMES.bucket)
    steps = {step.what: step.action for step in bootstrap(ENV, session=session).steps}
    assert steps["versioning"] == "updated" and steps["public access blocked"] == "updated"
    assert {a for w, a in steps.items() if w not in ("versioning", "public access blocked")} == {"unchanged"}
    assert s3.get_bucket_versioning(Bucket=NAMES.bucket)["Status"] == "Enabled"


def test_a_bucket_of_that_name_in_another_account_is_refused_naming_it(moto) -> None:
    assumed = client(moto, "sts").assume_role(RoleArn="arn:aws:iam::222222222222:role/other",
                                             RoleSessionName="other")["Credentials"]
    other = client(moto, "s3", key=assumed["AccessKeyId"], secret=assumed["SecretAccessKey"], token=assumed["SessionToken"])
    other.create_bucket(Bucket=NAMES.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    completed = sahab_bootstrap(moto)
    assert completed.returncode == 2
    assert f"the state bucket name {NAMES.bucket} is taken by another AWS account" in completed.stderr
    assert "'state_backend.bucket'" in completed.stderr


def test_a_state_bucket_of_ours_outside_the_uae_is_refused_naming_its_region(moto) -> None:
    client(moto, "s3", region="eu-west-1").create_bucket(
        Bucket=NAMES.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    completed = sahab_bootstrap(moto)
    assert completed.returncode == 2
    assert f"the state bucket {NAMES.bucket} is yours but lies in eu-west-1, not {REGION}" in completed.stderr
    assert client(moto, "dynamodb").list_tables()["TableNames"] == []  # refused before the lock table


def test_an_environment_in_a_foreign_region_is_refused_before_any_call(moto, session) -> None:
    foreign = ENV.model_copy(update={"region": "eu-west-1"})  # what the schema refuses; bootstrap refuses it again
    with pytest.raises(ConfigError, match="'region' eu-west-1 is not a UAE region"):
        bootstrap(foreign, session=session)
    assert client(moto, "kms", region="eu-west-1").list_keys()["Keys"] == []


def test_a_local_environment_has_nothing_to_bootstrap(moto) -> None:
    completed = sahab_bootstrap(moto, "local")
    assert completed.returncode == 2 and "no cloud state backend to bootstrap" in completed.stderr

"""Model versions in a cloud environment, against moto's server on 127.0.0.1: KMS signs the manifest,
S3 holds the version with SSE-KMS, and a fresh machine resolves and verifies it from S3.

moto stores SSE-KMS metadata and signs with real keys but enforces no bucket or key policy; these
tests prove our calls and checks, not an IAM or key policy.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from registry_fixtures import (  # noqa: F401  (aws and moto_url are fixtures)
    FEATURES,
    METRICS,
    SNAPSHOT_SHA256,
    aws,
    environment_in,
    kms_data_key,
    kms_signing_key,
    moto_url,
    s3_bucket,
    write_tiny_export,
)

from environments import Environment
from environments.errors import CommandFailed, ConfigError
from training.manifest import MANIFEST_FILE, SIGNATURE_FILE
from training.registry import ModelVersion, list_versions, load_verified, load_version, register_version, resolve_version
from training.signing import KmsVerifier, ManifestSignature, verifier_for
from training.verification import IntegrityCheckFailed


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_export(tmp_path_factory.mktemp("export") / "export")


@pytest.fixture
def cloud(aws: str, tmp_path: Path) -> dict[str, str]:
    """A signing key, a models data key and a bucket of this test's own."""
    data_alias, data_arn = kms_data_key()
    return {"signing_key": kms_signing_key(), "artifact_kms_key": data_alias, "data_key_arn": data_arn,
            "artifact_bucket": s3_bucket()}


def _env(tmp_path: Path, cloud: dict[str, str], data: str = "trainer") -> Environment:
    return environment_in(
        "dev", tmp_path / data,
        signing_key=cloud["signing_key"], artifact_kms_key=cloud["artifact_kms_key"], artifact_bucket=cloud["artifact_bucket"],
    )


def _register(env: Environment, export_dir: Path) -> ModelVersion:
    return register_version(
        env, export_dir, metrics=METRICS, feature_service="fraud_model_v1", features=FEATURES,
        data_snapshot_sha256=SNAPSHOT_SHA256,
    )


def test_cloud_registration_signs_the_manifest_with_the_kms_key(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    signature = ManifestSignature.from_bytes((version.path / SIGNATURE_FILE).read_bytes())
    assert signature.algorithm == "ECDSA_SHA_256" and signature.key_id.startswith("arn:aws:kms:me-central-1:")
    KmsVerifier(cloud["signing_key"], region_name="me-central-1").verify((version.path / MANIFEST_FILE).read_bytes(), signature)


def test_every_uploaded_object_is_encrypted_with_sse_kms_under_the_models_key(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    s3 = boto3.client("s3", region_name="me-central-1")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=cloud["artifact_bucket"])["Contents"])
    assert keys == sorted(f"models/{version.version_id}/{p.name}" for p in version.path.iterdir())
    for key in keys:
        head = s3.head_object(Bucket=cloud["artifact_bucket"], Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] in (cloud["artifact_kms_key"], cloud["data_key_arn"])
    assert version.location == f"s3://{cloud['artifact_bucket']}/models/{version.version_id}/"


def test_a_fresh_machine_resolves_the_latest_version_from_s3_and_verifies_it(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    server = _env(tmp_path, cloud, data="server")
    verified = load_version(server, "latest")
    assert verified.version_id == version.version_id
    assert verified.path == tmp_path / "server" / "models" / version.version_id


def test_listing_reads_manifests_from_s3_without_downloading_models(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    server = _env(tmp_path, cloud, data="server")
    listed = list_versions(server)
    assert [(v.version_id, v.manifest.feature_service if v.manifest else None) for v in listed] == [
        (version.version_id, "fraud_model_v1")
    ]
    assert not (tmp_path / "server" / "models").exists()


def test_a_model_replaced_in_s3_is_refused_after_download(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    boto3.client("s3", region_name="me-central-1").put_object(
        Bucket=cloud["artifact_bucket"], Key=f"models/{version.version_id}/model.onnx", Body=b"a different model",
        ServerSideEncryption="aws:kms", SSEKMSKeyId=cloud["artifact_kms_key"],
    )
    server = _env(tmp_path, cloud, data="server")
    with pytest.raises(IntegrityCheckFailed) as caught:
        load_verified(resolve_version(server, "latest").path, verifier_for(server))
    assert caught.value.check == "artifact-digest" and "model.onnx" in str(caught.value)


def test_a_version_signed_by_another_kms_key_is_refused(export_dir: Path, tmp_path: Path, cloud: dict[str, str]) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    other = environment_in("dev", tmp_path / "other", signing_key=kms_signing_key())
    with pytest.raises(IntegrityCheckFailed) as caught:
        load_verified(version.path, verifier_for(other))
    assert caught.value.check == "signature"


def test_an_upload_to_a_missing_bucket_names_the_bucket_and_the_fix(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    env = environment_in("dev", tmp_path / "d", signing_key=cloud["signing_key"], artifact_bucket="no-such-bucket")
    with pytest.raises(CommandFailed, match=r"s3://no-such-bucket/models/.*s3:PutObject"):
        _register(env, export_dir)


def test_default_names_are_the_stacks_signing_alias_models_key_and_account_bucket(
    export_dir: Path, tmp_path: Path, aws: str
) -> None:
    account = boto3.client("sts", region_name="me-central-1").get_caller_identity()["Account"]
    kms_signing_key(alias="alias/sahab-staging-models-signing")
    kms_data_key(alias="alias/sahab-staging-models")
    s3_bucket(f"sahab-staging-models-{account}")
    version = _register(environment_in("staging", tmp_path / "data"), export_dir)
    assert version.location == f"s3://sahab-staging-models-{account}/models/{version.version_id}/"
    head = boto3.client("s3", region_name="me-central-1").head_object(
        Bucket=f"sahab-staging-models-{account}", Key=f"models/{version.version_id}/{SIGNATURE_FILE}"
    )
    assert head["ServerSideEncryption"] == "aws:kms"


def _plant(bucket: str, key: str, body: bytes = b"planted") -> None:
    boto3.client("s3", region_name="me-central-1").put_object(Bucket=bucket, Key=key, Body=body)


@pytest.mark.parametrize("suffix", ["../../escaped.txt", "{absolute}", "nested/../../../escaped.txt", "unlisted.bin"])
def test_an_object_planted_beside_a_version_is_never_written_by_a_fetch(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str], suffix: str
) -> None:
    """Anyone who can write to the models bucket must not be able to write files on the serving host.

    ``{absolute}`` is a key with a double slash (``models/<id>//<absolute path>``): pathlib would replace the base.
    """
    version = _register(_env(tmp_path, cloud), export_dir)
    body = f"planted-{uuid.uuid4().hex}".encode()
    suffix = suffix.format(absolute=str(tmp_path / "absolute" / "planted.txt"))
    _plant(cloud["artifact_bucket"], f"models/{version.version_id}/{suffix}", body)
    reader = _env(tmp_path, cloud, data="server")
    fetched = resolve_version(reader, version.version_id)
    planted = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == body]
    assert planted == []  # not inside the version folder, not beside it, not at an absolute path
    assert sorted(p.name for p in fetched.path.iterdir()) == sorted([*version.manifest.artifacts, MANIFEST_FILE, SIGNATURE_FILE])
    assert load_version(reader, version.version_id).manifest.version_id == version.version_id


def test_a_tampered_manifest_is_refused_before_any_artifact_is_downloaded(
    export_dir: Path, tmp_path: Path, cloud: dict[str, str]
) -> None:
    version = _register(_env(tmp_path, cloud), export_dir)
    key = f"models/{version.version_id}/{MANIFEST_FILE}"
    s3 = boto3.client("s3", region_name="me-central-1")
    tampered = s3.get_object(Bucket=cloud["artifact_bucket"], Key=key)["Body"].read().replace(b'"dev"', b'"prod"')
    s3.put_object(Bucket=cloud["artifact_bucket"], Key=key, Body=tampered)
    reader = _env(tmp_path, cloud, data="server")
    with pytest.raises(IntegrityCheckFailed) as refused:
        resolve_version(reader, version.version_id)
    assert refused.value.check == "signature"
    assert not list((tmp_path / "server").rglob("*.onnx"))  # nothing of the version reached the host


def test_a_ref_that_is_not_a_version_id_is_refused_before_any_request(tmp_path: Path, cloud: dict[str, str]) -> None:
    from training.artifact_store import artifact_store_for

    store = artifact_store_for(_env(tmp_path, cloud))
    with pytest.raises(ConfigError, match=r"'\.\./\.\./etc' is not a model version id"):
        store.fetch("../../etc", tmp_path / "models")

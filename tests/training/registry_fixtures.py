"""Helpers and fixtures for the registry and signing tests: a small real ONNX export, environments
that write under tmp_path, and moto's server on 127.0.0.1 started as a subprocess, stopped by pid.

Import the fixtures by name into a test module (``from registry_fixtures import moto_url``).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from environments import Environment, ModelRegistryConfig, load_environment
from moto_server import MotoServer, free_port  # noqa: F401  (free_port: imported by name by test modules)

FEATURES = ["customer_transactions:txn_count_24h", "merchant_risk:merchant_fraud_rate_30d"]
SNAPSHOT_SHA256 = hashlib.sha256(b"transactions.parquet of the test").hexdigest()
METRICS = {"pr_auc": 0.41, "roc_auc": 0.93, "positive_rate": 0.021}


def write_tiny_export(folder: Path, *, seed: int = 0) -> Path:
    """A real export: a 4→1 linear + sigmoid model (opset 17, dynamic batch), its int8 variant, preprocessing."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weight = numpy_helper.from_array(rng.normal(size=(4, 1)).astype(np.float32), "weight")
    bias = numpy_helper.from_array(np.array([0.1], dtype=np.float32), "bias")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["features", "weight", "bias"], ["logit"]), helper.make_node("Sigmoid", ["logit"], ["score"])],
        "tiny_fraud",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        initializer=[weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    quantize_dynamic(folder / "model.onnx", folder / "model.int8.onnx", weight_type=QuantType.QInt8)
    (folder / "preprocessing.json").write_text(json.dumps({"feature_order": ["a", "b", "c", "d"], "scale": [1, 1, 1, 1]}))
    return folder


def environment_in(base: str, data_dir: Path, **models: object) -> Environment:
    """An environment from environments/<base>.yaml whose working folder is ``data_dir``."""
    env = load_environment(base)
    return env.model_copy(update={"data_dir": str(data_dir), "models": ModelRegistryConfig(**models)})


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = MotoServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> str:
    """Point boto3 at moto (``AWS_ENDPOINT_URL``) with dummy credentials; no real account is reachable."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "me-central-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return moto_url


def kms_signing_key(key_spec: str = "ECC_NIST_P256", alias: str | None = None) -> str:
    """Create a SIGN_VERIFY key in moto (uses ``AWS_ENDPOINT_URL``); return its alias."""
    import boto3

    kms = boto3.client("kms", region_name="me-central-1")
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=key_spec)["KeyMetadata"]["KeyId"]
    alias = alias or f"alias/test-signing-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return alias


def kms_data_key(alias: str | None = None) -> tuple[str, str]:
    """Create a symmetric key for SSE-KMS; return (alias, key ARN)."""
    import boto3

    kms = boto3.client("kms", region_name="me-central-1")
    meta = kms.create_key()["KeyMetadata"]
    alias = alias or f"alias/test-models-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return alias, meta["Arn"]


def s3_bucket(name: str | None = None) -> str:
    import boto3

    name = name or f"test-models-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name="me-central-1").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "me-central-1"}
    )
    return name

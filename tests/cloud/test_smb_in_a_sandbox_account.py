"""``smb``'s security and network layers applied to a real sandbox account by pytest-terraform, checked with boto3,
then destroyed: every resource in me-central-1, every key rotating, every log group and bucket on our keys."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from pytest_terraform import terraform

from sandbox_modules import ENVIRONMENT, module_from_stack

REGION = "me-central-1"

smb_security = terraform("smb_security", scope="session", replay=False)
smb_network = terraform("smb_network", scope="session", replay=False)


@pytest.fixture(scope="session")
def network_module(synthesized: Path, smb_security) -> Path:
    """The network layer, reading the security layer's outputs from the state pytest-terraform just wrote."""
    state = Path(smb_security.terraform.state_path).resolve()
    return module_from_stack(synthesized / f"{ENVIRONMENT}-network" / "cdk.tf.json", "smb_network",
                             {f"cross-stack-reference-input-{ENVIRONMENT}-security": state})


def attributes(applied, resource_type: str = "") -> list[dict]:
    """The attributes of every applied resource of ``resource_type`` (pytest-terraform: type → name → attributes)."""
    return [a for type_, named in applied.resources.items() if resource_type in ("", type_) for a in named.values()]


def arns(applied) -> list[str]:
    return [a["arn"] for a in attributes(applied) if isinstance(a.get("arn"), str)]


def test_every_security_resource_is_in_the_uae_and_every_key_rotates(security_module, smb_security) -> None:
    """Every symmetric key rotates; KMS rotates neither the signing key (asymmetric) nor the pseudonym key (HMAC)."""
    regional = [arn for arn in arns(smb_security) if not arn.startswith(("arn:aws:iam::", "arn:aws:s3:::"))]
    assert regional and all(f":{REGION}:" in arn for arn in regional), regional
    kms = boto3.client("kms", region_name=REGION)
    keys = [a["id"] for a in attributes(smb_security, "aws_kms_key")
            if a.get("customer_master_key_spec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"]
    assert keys and all(kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] for key in keys)


def test_the_audit_bucket_and_every_log_group_use_our_keys(security_module, smb_security) -> None:
    ours = {a["arn"] for a in attributes(smb_security, "aws_kms_key")}
    logs = boto3.client("logs", region_name=REGION)
    groups = [a["name"] for a in attributes(smb_security, "aws_cloudwatch_log_group")]
    for group in groups:
        (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert found["kmsKeyId"] in ours
    s3 = boto3.client("s3", region_name=REGION)
    buckets = [a["bucket"] for a in attributes(smb_security, "aws_s3_bucket")]
    for bucket in buckets:
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] in ours


def test_every_network_resource_is_in_the_uae(network_module, smb_network) -> None:
    regional = [arn for arn in arns(smb_network) if not arn.startswith("arn:aws:iam::")]
    assert regional and all(f":{REGION}:" in arn for arn in regional), regional
    ec2 = boto3.client("ec2", region_name=REGION)
    vpcs = [a["id"] for a in attributes(smb_network, "aws_vpc")]
    assert ec2.describe_vpcs(VpcIds=vpcs)["Vpcs"]

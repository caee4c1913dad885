"""``sahab bootstrap ENV``: the Terraform state backend an environment's stacks expect, made with boto3.

Terraform needs its state bucket and lock table before its first ``init``, so they cannot be Terraform
resources of the stacks they serve. This makes them, in the environment's UAE region, with the names the
stacks' ``S3Backend`` uses (``Environment.state_backend_names``):

- a customer-managed KMS key for the state (rotation on), under the alias ``alias/sahab-<env>-tfstate``:
  state holds every attribute of every resource, secrets included;
- the bucket: versioned (a broken apply can be rolled back to the previous state), SSE-KMS with that key and a
  bucket key, public access blocked, owner-enforced object ownership, a policy denying anything but TLS;
- the DynamoDB lock table (``LockID``), encrypted with the same key, point-in-time recovery on.

Each setting is read before it is written: a second run changes nothing and says so. It refuses, naming the
bucket, a bucket of that name that belongs to another account or lies outside the region, and a lock table
with another key schema; it never deletes or weakens anything it finds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from environments import UAE_RESIDENT_REGIONS, Environment
from environments.errors import CommandFailed, ConfigError
from environments.names import StateBackendNames

Action = Literal["created", "updated", "unchanged"]
LOCK_KEY = "LockID"


@dataclass(frozen=True)
class Step:
    """One resource or setting: what it is and what this run did to it."""

    what: str
    name: str
    action: Action


@dataclass(frozen=True)
class BootstrapResult:
    env: str
    region: str
    bucket: str
    lock_table: str
    key_alias: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return any(s.action != "unchanged" for s in self.steps)


def bootstrap(env: Environment, *, session: Any | None = None, say: Callable[[str], None] = lambda _: None) -> BootstrapResult:
    """Create or complete ``env``'s state backend; idempotent. ``session``: a ``boto3.Session`` (default: the chain's)."""
    names = _names(env)
    import boto3

    session = session or boto3.Session()
    region = env.region
    steps: list[Step] = []
    account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    kms, s3, dynamodb = (session.client(s, region_name=region) for s in ("kms", "s3", "dynamodb"))
    tags = dict(env.tags) | {"sahab:purpose": "terraform-state"}

    key_arn = _key(kms, env, names.kms_alias, tags, steps)
    say(f"state key {names.kms_alias}")
    _bucket(s3, names.bucket, region, account, key_arn, tags, steps)
    say(f"state bucket {names.bucket}")
    _lock_table(dynamodb, names.lock_table, key_arn, tags, steps)
    say(f"lock table {names.lock_table}")
    return BootstrapResult(env.name, region, names.bucket, names.lock_table, names.kms_alias, tuple(steps))


def _names(env: Environment) -> StateBackendNames:
    if not env.is_cloud:
        raise ConfigError(f"{env.name!r} runs on this machine: it has no cloud state backend to bootstrap")
    uae = UAE_RESIDENT_REGIONS["aws"]
    if env.region not in uae or env.region not in env.allowed_regions:
        raise ConfigError(f"'region' {env.region} is not a UAE region ({', '.join(uae)}): the state backend, which holds "
                          "every attribute of every resource, stays in the UAE")
    if env.state_backend.kind != "s3":
        raise ConfigError(f"{env.name!r} keeps Terraform state in a local file ('state_backend.kind: local'): "
                          "nothing to bootstrap")
    return env.state_backend_names


def _key(kms: Any, env: Environment, alias: str, tags: dict[str, str], steps: list[Step]) -> str:
    try:
        metadata = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        metadata = kms.create_key(
            Description=f"{env.resource_name('tfstate')}: Terraform state of {env.name}",
            KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())],
        )["KeyMetadata"]
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
        kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        steps.append(Step("KMS key (rotation on)", alias, "created"))
        return metadata["Arn"]
    if metadata.get("KeyState") not in ("Enabled", None):
        raise CommandFailed(f"the state key {alias} exists but is {metadata['KeyState']}: re-enable it "
                            f"(aws kms enable-key --key-id {metadata['KeyId']}) or cancel its deletion")
    if kms.get_key_rotation_status(KeyId=metadata["KeyId"])["KeyRotationEnabled"]:
        steps.append(Step("KMS key (rotation on)", alias, "unchanged"))
    else:
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
        steps.append(Step("KMS key (rotation on)", alias, "updated"))
    return metadata["Arn"]


def _bucket(s3: Any, bucket: str, region: str, account: str, key_arn: str, tags: dict[str, str], steps: list[Step]) -> None:
    owned = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket in owned:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        if location != region:
            raise ConfigError(f"the state bucket {bucket} is yours but lies in {location}, not {region}: Terraform state "
                              "must stay in the UAE; move it, or name another bucket in 'state_backend.bucket'")
        steps.append(Step("S3 bucket", bucket, "unchanged"))
    else:
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region},
                             ObjectOwnership="BucketOwnerEnforced")
        except s3.exceptions.BucketAlreadyExists:
            raise ConfigError(f"the state bucket name {bucket} is taken by another AWS account: name one of yours in "
                              "'state_backend.bucket' of the environment file") from None
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        steps.append(Step("S3 bucket", bucket, "created"))
    _setting(steps, "versioning", bucket,
             lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled",
             lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}))
    _setting(steps, "SSE-KMS with the state key", bucket,
             lambda: _encrypted_with(s3, bucket, key_arn),
             lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
                 "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                 "BucketKeyEnabled": True}]}))
    block = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    _setting(steps, "public access blocked", bucket,
             lambda: _public_access_block(s3, bucket) == block,
             lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block))
    policy = tls_only_policy(bucket)
    _setting(steps, "TLS-only bucket policy", bucket,
             lambda: _has_statement(s3, bucket, policy["Statement"][0]),
             lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_merged_policy(s3, bucket, policy))))


def tls_only_policy(bucket: str) -> dict[str, Any]:
    """A policy denying every S3 action on ``bucket`` over plain HTTP."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}


def _lock_table(dynamodb: Any, table: str, key_arn: str, tags: dict[str, str], steps: list[Step]) -> None:
    try:
        found = dynamodb.describe_table(TableName=table)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        )
        dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
        steps.append(Step("DynamoDB lock table (KMS)", table, "created"))
    else:
        if found["KeySchema"] != [{"AttributeName": LOCK_KEY, "KeyType": "HASH"}]:
            raise ConfigError(f"the table {table} exists with key {found['KeySchema']}, not a '{LOCK_KEY}' hash key: "
                              "Terraform cannot lock with it; name another in 'state_backend.lock_table'")
        sse = found.get("SSEDescription", {})
        if sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyArn") == key_arn:
            steps.append(Step("DynamoDB lock table (KMS)", table, "unchanged"))
        else:
            dynamodb.update_table(TableName=table, SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                     "KMSMasterKeyId": key_arn})
            steps.append(Step("DynamoDB lock table (KMS)", table, "updated"))
    _setting(steps, "point-in-time recovery", table,
             lambda: dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
             .get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED",
             lambda: dynamodb.update_continuous_backups(
                 TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}))


def _setting(steps: list[Step], what: str, name: str, holds: Callable[[], bool], apply: Callable[[], Any]) -> None:
    if holds():
        steps.append(Step(what, name, "unchanged"))
        return
    apply()
    steps.append(Step(what, name, "updated"))


def _encrypted_with(s3: Any, bucket: str, key_arn: str) -> bool:
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except s3.exceptions.ClientError:
        return False
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    return default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID") == key_arn


def _public_access_block(s3: Any, bucket: str) -> dict[str, bool]:
    try:
        return s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        return {}


def _current_policy(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        return None


def _has_statement(s3: Any, bucket: str, statement: dict[str, Any]) -> bool:
    policy = _current_policy(s3, bucket)
    return policy is not None and any(s.get("Sid") == statement["Sid"] and s.get("Effect") == "Deny"
                                      for s in policy.get("Statement", []))


def _merged_policy(s3: Any, bucket: str, policy: dict[str, Any]) -> dict[str, Any]:
    """The bucket's policy with the TLS-only statement added (statements the owner wrote are kept)."""
    current = _current_policy(s3, bucket)
    if current is None:
        return policy
    kept = [s for s in current.get("Statement", []) if s.get("Sid") != policy["Statement"][0]["Sid"]]
    return {**current, "Statement": kept + policy["Statement"]}

import json

import pytest

from environments.errors import ConfigError


def build(sut, **overrides):
    from modules.encrypted_bucket import EncryptedBucket, EncryptedBucketProps

    props = dict(bucket_name="sahab-test-data", key=sut.keys.data)
    props.update(overrides)
    return EncryptedBucket(sut.stack, "Data", props=EncryptedBucketProps(**props))


def test_objects_are_encrypted_with_the_given_cmk_and_bucket_keys(sut):
    build(sut)
    (rule,) = sut.only("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": sut.key_ref("data")}
    assert rule["bucket_key_enabled"] is True


def test_every_public_access_block_flag_is_on(sut):
    build(sut)
    block = sut.only("aws_s3_bucket_public_access_block")
    assert all(block[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))


def test_the_bucket_policy_denies_requests_without_tls(sut):
    build(sut)
    policy = json.loads(sut.only("aws_s3_bucket_policy")["policy"])
    deny = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bucket_policy_denies_uploads_that_name_another_kms_key(sut):
    build(sut)
    policy = json.loads(sut.only("aws_s3_bucket_policy")["policy"])
    deny = next(s for s in policy["Statement"] if s["Sid"] == "DenyOtherKmsKeys")
    condition = deny["Condition"]["StringNotEqualsIfExists"]["s3:x-amz-server-side-encryption-aws-kms-key-id"]
    assert condition == sut.key_ref("data")


def test_versioning_ownership_lifecycle_and_events_are_always_on(sut):
    build(sut, noncurrent_version_expiration_days=30)
    assert sut.only("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    assert sut.only("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"
    (rule,) = sut.only("aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    assert sut.only("aws_s3_bucket_notification")["eventbridge"] is True


def test_object_lock_is_absent_unless_asked_for(sut):
    build(sut)
    assert sut.resources("aws_s3_bucket_object_lock_configuration") == {}


def test_object_lock_uses_compliance_mode_with_the_given_retention(sut):
    build(sut, object_lock_retention_days=400)
    assert sut.only("aws_s3_bucket")["object_lock_enabled"] is True
    retention = sut.only("aws_s3_bucket_object_lock_configuration")["rule"]["default_retention"]
    assert retention == {"mode": "COMPLIANCE", "days": 400}


def test_grant_read_gives_the_role_s3_read_and_kms_decrypt_on_the_bucket_key(sut):
    from modules.cdk import iam_role
    from modules.iam import assume_role_policy

    bucket = build(sut)
    role = iam_role.IamRole(sut.stack, "Reader", name="reader", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
    bucket.grant_read(role)
    (statements,) = sut.role_policies().values()
    assert statements[0]["Action"] == ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]
    assert statements[1] == {"Sid": "BucketKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [sut.key_ref("data")]}


def test_a_non_positive_lock_retention_is_refused(sut):
    with pytest.raises(ConfigError, match="'object_lock_retention_days' must be >= 1"):
        build(sut, object_lock_retention_days=0)


def expirations(*pairs):
    from modules.encrypted_bucket import PrefixExpiration

    return tuple(PrefixExpiration(prefix=prefix, days=days) for prefix, days in pairs)


def test_a_bucket_without_expirations_keeps_current_objects_and_is_not_tagged_personal(sut):
    build(sut)
    (rule,) = sut.only("aws_s3_bucket_lifecycle_configuration")["rule"]
    assert "expiration" not in rule
    assert "personal-data" not in (sut.only("aws_s3_bucket").get("tags") or {})


def test_each_personal_data_prefix_expires_its_objects_and_their_noncurrent_versions(sut):
    build(sut, expirations=expirations(("predictions/", 90), ("offline/", 1825)))
    rules = {r["id"]: r for r in sut.only("aws_s3_bucket_lifecycle_configuration")["rule"]}
    assert rules["expire-noncurrent-versions"]["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]  # kept
    assert rules["expire-personal-data-predictions"] == {
        "id": "expire-personal-data-predictions", "status": "Enabled", "filter": [{"prefix": "predictions/"}],
        "expiration": [{"days": 90}], "noncurrent_version_expiration": [{"noncurrent_days": 1}],
    }
    assert rules["expire-personal-data-offline"]["expiration"] == [{"days": 1825}]
    assert sut.only("aws_s3_bucket")["tags"] == {"personal-data": "predictions/ offline/"}


def test_expirations_that_cannot_be_enforced_are_refused_all_at_once(sut):
    from modules.encrypted_bucket import PrefixExpiration

    bad = (PrefixExpiration(prefix="predictions", days=0), PrefixExpiration(prefix="offline/", days=5, noncurrent_days=0),
           PrefixExpiration(prefix="offline/2025/", days=5))
    with pytest.raises(ConfigError, match="4 problems") as refused:
        build(sut, expirations=bad)
    problems = refused.value.problems
    assert "'expirations[0]' 'prefix' must be a folder such as 'predictions/' (value: 'predictions')" in problems
    assert "'expirations[0]' 'days' must be >= 1 (value: 0)" in problems
    assert "'expirations[1]' 'noncurrent_days' must be >= 1 (value: 0)" in problems
    assert "'expirations[2]' 'prefix' 'offline/2025/' lies inside ['offline/']: two retentions for one object" in problems


def test_personal_data_in_an_object_locked_bucket_is_refused(sut):
    with pytest.raises(ConfigError, match="'expirations' cannot be combined with 'object_lock_retention_days'"):
        build(sut, expirations=expirations(("predictions/", 90)), object_lock_retention_days=30)

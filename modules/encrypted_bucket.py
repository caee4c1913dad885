"""``EncryptedBucket``: an S3 bucket that cannot be created insecure.

Always on (no prop turns them off): versioning, SSE-KMS with our CMK and S3 bucket keys, ownership
enforced (no ACLs), every public access block flag, a bucket policy that denies non-TLS requests and
uploads naming another KMS key, a lifecycle that expires old versions and aborts stale uploads, and
object events to EventBridge (a new model version or data drop can trigger a pipeline).
Object lock (compliance mode) is opt-in for audit data.

Personal data (UAE PDPL storage limitation) is kept only for its retention: each prefix in ``expirations`` gets
a lifecycle rule that deletes its objects ``days`` after creation and, because the bucket is versioned, also
deletes the versions an expiry, an overwrite or an erasure leaves behind (``noncurrent_days`` later); without
the second half a deleted object would live on as a noncurrent version. Such a bucket is tagged
``personal-data`` with its prefixes, which ``CKV_SAHAB_46`` reads.

Not built, on purpose (reported as Checkov skips with reasons in ``policies/skips.yaml``):
cross-region replication (residency allows no second region outside the UAE today) and server access
logs (S3 cannot deliver them to an SSE-KMS bucket; object-level access is recorded by ``AuditTrail``'s
CloudTrail data events instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from environments.errors import ConfigError
from modules.cdk import (
    Construct,
    iam_role,
    iam_role_policy,
    kms_key,
    s3_bucket,
    s3_bucket_lifecycle_configuration as lifecycle,
    s3_bucket_notification,
    s3_bucket_object_lock_configuration as object_lock,
    s3_bucket_ownership_controls as ownership,
    s3_bucket_policy,
    s3_bucket_public_access_block,
    s3_bucket_server_side_encryption_configuration as sse,
    s3_bucket_versioning,
)
from modules.grants import grant
from modules.iam import Statement, policy_document

#: Tag of a bucket holding personal data; its value lists the prefixes that hold it (``predictions/ offline/``).
PERSONAL_DATA_TAG = "personal-data"


@dataclass(frozen=True, kw_only=True)
class PrefixExpiration:
    """How long objects under one prefix are kept: their retention as personal data."""

    prefix: str
    """Key prefix, ending in ``/`` (``predictions/``)."""
    days: int
    """Days after creation when an object is deleted (a delete marker replaces it)."""
    noncurrent_days: int = 1
    """Days a replaced or deleted version is kept after that: the window to undo a mistake, and how long rows an
    erasure rewrote out of a file still exist. Default: 1 (the shortest S3 allows)."""



@dataclass(frozen=True, kw_only=True)
class EncryptedBucketProps:
    """Props of ``EncryptedBucket``."""

    bucket_name: str
    """Globally unique bucket name, e.g. ``sahab-prod-models-<account>``."""
    key: kms_key.KmsKey
    """The CMK of the bucket's data class."""
    noncurrent_version_expiration_days: int = 90
    """Days before a replaced object version is deleted. Default: 90."""
    abort_incomplete_upload_days: int = 7
    """Days before an unfinished multipart upload is removed. Default: 7."""
    object_lock_retention_days: int | None = None
    """Compliance-mode default retention; objects cannot be deleted before it ends. Default: none (no lock)."""
    extra_policy_statements: tuple[Statement, ...] = field(default_factory=tuple)
    """More statements for the bucket policy (e.g. CloudTrail delivery). Default: none."""
    expirations: tuple[PrefixExpiration, ...] = ()
    """Prefixes that hold personal data, each deleted after its retention (current and noncurrent versions); the
    bucket is then tagged ``personal-data``. Default: none (objects are kept until someone deletes them)."""


class EncryptedBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, props: EncryptedBucketProps) -> None:
        super().__init__(scope, id)
        problems = _expiration_problems(props.expirations)
        if props.object_lock_retention_days is not None and props.object_lock_retention_days < 1:
            problems.append(f"'object_lock_retention_days' must be >= 1 (value: {props.object_lock_retention_days})")
        if props.object_lock_retention_days is not None and props.expirations:
            problems.append("'expirations' cannot be combined with 'object_lock_retention_days': compliance mode "
                            "refuses to delete an object before its lock ends, so personal data would outlive its retention")
        if problems:
            raise ConfigError(problems, source=f"EncryptedBucket {props.bucket_name!r}")
        self.props = props
        self.key = props.key
        locked = props.object_lock_retention_days is not None
        personal = {PERSONAL_DATA_TAG: " ".join(e.prefix for e in props.expirations)} if props.expirations else None
        self.bucket = s3_bucket.S3Bucket(self, "Bucket", bucket=props.bucket_name, object_lock_enabled=locked or None,
                                         tags=personal)
        bucket_id = self.bucket.id
        ownership.S3BucketOwnershipControls(
            self, "Ownership", bucket=bucket_id,
            rule=ownership.S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        s3_bucket_versioning.S3BucketVersioningA(
            self, "Versioning", bucket=bucket_id,
            versioning_configuration=s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        sse.S3BucketServerSideEncryptionConfigurationA(
            self, "Encryption", bucket=bucket_id,
            rule=[
                sse.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=props.key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self, "PublicAccessBlock", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        )
        self.policy = s3_bucket_policy.S3BucketPolicy(self, "Policy", bucket=bucket_id, policy=self._policy())
        s3_bucket_notification.S3BucketNotification(self, "Events", bucket=bucket_id, eventbridge=True)
        lifecycle.S3BucketLifecycleConfiguration(
            self, "Lifecycle", bucket=bucket_id,
            rule=[
                lifecycle.S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=props.noncurrent_version_expiration_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        lifecycle.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=props.abort_incomplete_upload_days
                        )
                    ],
                ),
                *(self._expiration_rule(e) for e in props.expirations),
            ],
        )
        if locked:
            object_lock.S3BucketObjectLockConfigurationA(
                self, "ObjectLock", bucket=bucket_id,
                rule=object_lock.S3BucketObjectLockConfigurationRuleA(
                    default_retention=object_lock.S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                        mode="COMPLIANCE", days=props.object_lock_retention_days
                    )
                ),
            )

    @staticmethod
    def _expiration_rule(expiration: PrefixExpiration) -> lifecycle.S3BucketLifecycleConfigurationRule:
        """Where rules overlap (the bucket-wide noncurrent rule), S3 applies the shorter expiry: this one."""
        return lifecycle.S3BucketLifecycleConfigurationRule(
            id=f"expire-personal-data-{expiration.prefix.strip('/').replace('/', '-')}",
            status="Enabled",
            filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter(prefix=expiration.prefix)],
            expiration=[lifecycle.S3BucketLifecycleConfigurationRuleExpiration(days=expiration.days)],
            noncurrent_version_expiration=[
                lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=expiration.noncurrent_days
                )
            ],
        )

    @property
    def arn(self) -> str:
        return self.bucket.arn

    @property
    def name(self) -> str:
        return self.bucket.bucket

    def _policy(self) -> str:
        arn = self.bucket.arn
        return policy_document(
            [
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    principals={"AWS": ("*",)},
                    actions=("s3:*",),
                    resources=(arn, f"{arn}/*"),
                    conditions={"Bool": {"aws:SecureTransport": "false"}},
                ),
                Statement(
                    sid="DenyOtherKmsKeys",
                    effect="Deny",
                    principals={"AWS": ("*",)},
                    actions=("s3:PutObject",),
                    resources=(f"{arn}/*",),
                    conditions={
                        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": self.props.key.arn}
                    },
                ),
                *self.props.extra_policy_statements,
            ]
        )

    # ---- grants: S3 and the KMS permissions it needs, in one call -------------------------------
    def grant_read(self, role: iam_role.IamRole, id: str = "GrantRead") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` list and read objects, and decrypt them with the bucket's key."""
        return self._grant(role, id, ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"), ("kms:Decrypt",))

    def grant_read_write(self, role: iam_role.IamRole, id: str = "GrantReadWrite") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` read and write objects, and encrypt/decrypt them with the bucket's key."""
        return self._grant(
            role, id,
            ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"),
            ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
        )

    def _grant(
        self, role: iam_role.IamRole, id: str, s3_actions: tuple[str, ...], kms_actions: tuple[str, ...]
    ) -> iam_role_policy.IamRolePolicy:
        return grant(role, id, self, [
            Statement(sid="Objects", actions=s3_actions, resources=(self.arn, f"{self.arn}/*")),
            Statement(sid="BucketKey", actions=kms_actions, resources=(self.key.arn,)),
        ])


def _expiration_problems(expirations: tuple[PrefixExpiration, ...]) -> list[str]:
    """Every problem of ``expirations`` at once: bad prefixes, days out of range, prefixes that overlap."""
    problems = []
    prefixes = [e.prefix for e in expirations]
    for index, expiration in enumerate(expirations):
        where = f"'expirations[{index}]'"
        if not expiration.prefix or not expiration.prefix.endswith("/") or expiration.prefix.startswith("/"):
            problems.append(f"{where} 'prefix' must be a folder such as 'predictions/' (value: {expiration.prefix!r})")
        if expiration.days < 1:
            problems.append(f"{where} 'days' must be >= 1 (value: {expiration.days})")
        if expiration.noncurrent_days < 1:
            problems.append(f"{where} 'noncurrent_days' must be >= 1 (value: {expiration.noncurrent_days})")
        others = [p for i, p in enumerate(prefixes) if i != index and p and expiration.prefix.startswith(p)]
        if others:
            problems.append(f"{where} 'prefix' {expiration.prefix!r} lies inside {others}: two retentions for one object")
    return problems

"""``EncryptedBucket``: an S3 bucket that cannot be created insecure.

Always on (no prop turns them off): versioning, SSE-KMS with our CMK and S3 bucket keys, ownership
enforced (no ACLs), every public access block flag, a bucket policy that denies non-TLS requests and
uploads naming another KMS key, a lifecycle that expires old versions and aborts stale uploads, and
object events to EventBridge (a new model version or data drop can trigger a pipeline).
Object lock (compliance mode) is opt-in for audit data.

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


class EncryptedBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, props: EncryptedBucketProps) -> None:
        super().__init__(scope, id)
        if props.object_lock_retention_days is not None and props.object_lock_retention_days < 1:
            raise ConfigError(
                f"'object_lock_retention_days' must be >= 1 (value: {props.object_lock_retention_days})",
                source=f"EncryptedBucket {props.bucket_name!r}",
            )
        self.props = props
        self.key = props.key
        locked = props.object_lock_retention_days is not None
        self.bucket = s3_bucket.S3Bucket(self, "Bucket", bucket=props.bucket_name, object_lock_enabled=locked or None)
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
                )
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

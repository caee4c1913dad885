"""``AuditTrail``: CloudTrail with log file validation into an object-locked, CMK-encrypted bucket.

The trail records management events in every region (a call made outside the UAE is still an event
we must see) and S3 object-level data events, which stand in for S3 server access logs (those cannot
be delivered to an SSE-KMS bucket). Files land in the audit bucket, which is object-locked in
compliance mode, and are also streamed to a CMK-encrypted log group for alerting.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, cloudtrail, iam_role, kms_key
from modules.context import PARTITION, account_id
from modules.encrypted_bucket import EncryptedBucket, EncryptedBucketProps
from modules.grants import role_policy
from modules.iam import Statement, assume_role_policy
from modules.log_group import EncryptedLogGroup, EncryptedLogGroupProps


@dataclass(frozen=True, kw_only=True)
class AuditTrailProps:
    """Props of ``AuditTrail``."""

    trail_name: str
    """Name of the trail, e.g. ``sahab-prod-audit``."""
    bucket_name: str
    """Name of the audit bucket the trail writes to."""
    region: str
    """Home region of the trail (and its bucket)."""
    key: kms_key.KmsKey
    """The logs CMK: encrypts trail files, the audit bucket and the trail's log group."""
    object_lock_retention_days: int = 365
    """Compliance-mode retention of audit objects. Default: 365."""
    log_retention_days: int = 365
    """Retention of the trail's CloudWatch log group. Default: 365."""


class AuditTrail(Construct):
    def __init__(self, scope: Construct, id: str, *, props: AuditTrailProps) -> None:
        super().__init__(scope, id)
        account = account_id(self)
        trail_arn = f"arn:{PARTITION}:cloudtrail:{props.region}:{account}:trail/{props.trail_name}"
        bucket_arn = f"arn:{PARTITION}:s3:::{props.bucket_name}"
        delivery_conditions = {"StringEquals": {"aws:SourceArn": trail_arn}}
        self.bucket = EncryptedBucket(
            self,
            "Bucket",
            props=EncryptedBucketProps(
                bucket_name=props.bucket_name,
                key=props.key,
                object_lock_retention_days=props.object_lock_retention_days,
                noncurrent_version_expiration_days=max(props.object_lock_retention_days, 1),
                extra_policy_statements=(
                    Statement(
                        sid="CloudTrailAclCheck", principals={"Service": ("cloudtrail.amazonaws.com",)},
                        actions=("s3:GetBucketAcl",), resources=(bucket_arn,), conditions=delivery_conditions,
                    ),
                    Statement(
                        sid="CloudTrailWrite", principals={"Service": ("cloudtrail.amazonaws.com",)},
                        actions=("s3:PutObject",), resources=(f"{bucket_arn}/AWSLogs/{account}/*",),
                        conditions=delivery_conditions,
                    ),
                ),
            ),
        )
        self.log_group = EncryptedLogGroup(
            self, "LogGroup",
            props=EncryptedLogGroupProps(
                name=f"/sahab/{props.trail_name}", key=props.key, retention_days=props.log_retention_days
            ),
        )
        role = iam_role.IamRole(
            self, "LogsRole", name=f"{props.trail_name}-logs", assume_role_policy=assume_role_policy("cloudtrail.amazonaws.com")
        )
        role_policy(self, "LogsDelivery", role, [
            Statement(sid="DeliverTrailEvents", actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                      resources=(f"{self.log_group.arn}:*",)),
        ])
        self.trail = cloudtrail.Cloudtrail(
            self,
            "Trail",
            name=props.trail_name,
            s3_bucket_name=self.bucket.name,
            kms_key_id=props.key.arn,
            enable_log_file_validation=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            cloud_watch_logs_group_arn=f"{self.log_group.arn}:*",
            cloud_watch_logs_role_arn=role.arn,
            event_selector=[
                cloudtrail.CloudtrailEventSelector(
                    read_write_type="All",
                    include_management_events=True,
                    data_resource=[
                        cloudtrail.CloudtrailEventSelectorDataResource(type="AWS::S3::Object", values=[f"arn:{PARTITION}:s3"])
                    ],
                )
            ],
            depends_on=[self.bucket.policy],  # CloudTrail checks the bucket policy on creation
        )

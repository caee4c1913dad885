"""``EncryptedLogGroup``: a CloudWatch log group encrypted with our logs CMK, with a retention.

Every service log (VPC flow logs, EKS control plane, MSK brokers) goes through this one construct so
no log group can be created without a customer-managed key or with infinite retention.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, cloudwatch_log_group, kms_key


@dataclass(frozen=True, kw_only=True)
class EncryptedLogGroupProps:
    """Props of ``EncryptedLogGroup``."""

    name: str
    """Log group name, e.g. ``/aws/eks/sahab-prod-eks/cluster`` (services expect their own paths)."""
    key: kms_key.KmsKey
    """The logs CMK. Its key policy must let CloudWatch Logs use it (``Keys`` does)."""
    retention_days: int = 365
    """Days to keep events. Default: 365."""


class EncryptedLogGroup(Construct):
    def __init__(self, scope: Construct, id: str, *, props: EncryptedLogGroupProps) -> None:
        super().__init__(scope, id)
        self.resource = cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "Resource",
            name=props.name,
            kms_key_id=props.key.arn,
            retention_in_days=props.retention_days,
        )

    @property
    def arn(self) -> str:
        return self.resource.arn

    @property
    def name(self) -> str:
        return self.resource.name

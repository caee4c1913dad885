"""``BackupVault`` and ``BackupPlan``: AWS Backup recovery points that stay in the UAE and cannot be erased early.

A vault is encrypted with our ``backup`` CMK (never the AWS-managed key) and locked in compliance mode: once the
cooling-off days pass, nobody (not the account root, not AWS support) can delete a recovery point before its
retention ends or shorten that retention, so ransomware or a stolen deploy role cannot take the backups with the
data. A plan backs its resources up on a schedule into its vault and, where the environment has a backup account,
copies every recovery point into that account's vault **in the same region**; the gate's ``CKV_SAHAB_6`` refuses
a copy destination outside the allowed regions.

S3 is a resource AWS Backup manages fully: recovery points (and their copies) are encrypted with the key of the
vault that holds them, so the source buckets' keys are never shared with the backup account.

Shape taken from terraform-aws-modules' backup examples and the AWS Backup Developer Guide ("Vault Lock",
"Creating backup copies across AWS accounts").
"""

from __future__ import annotations

from dataclasses import dataclass

from environments.errors import ConfigError
from modules.cdk import (
    Construct,
    backup_plan,
    backup_selection,
    backup_vault,
    backup_vault_lock_configuration,
    backup_vault_policy,
    iam_role,
    iam_role_policy_attachment,
    kms_key,
)
from modules.context import PARTITION
from modules.iam import Statement, assume_role_policy, policy_document

#: AWS-managed policies of the role AWS Backup assumes: generic backup and restore, and S3's own (AWS Backup
#: Developer Guide, "Amazon S3 backups": the S3 policies are not part of the generic ones).
BACKUP_SERVICE_POLICIES: tuple[str, ...] = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)
#: AWS's minimum for the cooling-off of a compliance-mode lock (``changeable_for_days``).
MIN_COOLING_OFF_DAYS = 3


@dataclass(frozen=True, kw_only=True)
class BackupVaultProps:
    """Props of ``BackupVault``."""

    vault_name: str
    key: kms_key.KmsKey
    """The CMK of the ``backup`` data class."""
    min_retention_days: int
    """The lock refuses recovery points (and copies) kept for less."""
    cooling_off_days: int = MIN_COOLING_OFF_DAYS
    """Days the compliance lock can still be removed after it is set. Default: 3 (AWS's minimum)."""
    copy_from_accounts: tuple[str, ...] = ()
    """Accounts whose plans may copy recovery points into this vault (a backup account's vault). Default: none."""


class BackupVault(Construct):
    """A CMK-encrypted vault with a compliance-mode lock; optionally open to copies from named accounts."""

    def __init__(self, scope: Construct, id: str, *, props: BackupVaultProps) -> None:
        super().__init__(scope, id)
        problems = []
        if props.min_retention_days < 1:
            problems.append(f"'min_retention_days' must be >= 1 (value: {props.min_retention_days})")
        if props.cooling_off_days < MIN_COOLING_OFF_DAYS:
            problems.append(f"'cooling_off_days' must be >= {MIN_COOLING_OFF_DAYS}, AWS's minimum for a compliance "
                            f"lock (value: {props.cooling_off_days})")
        if problems:
            raise ConfigError(problems, source=f"BackupVault {props.vault_name!r}")
        self.props = props
        self.vault = backup_vault.BackupVault(self, "Vault", name=props.vault_name, kms_key_arn=props.key.arn)
        # changeable_for_days set = compliance mode (without it the lock is governance mode, removable by IAM)
        backup_vault_lock_configuration.BackupVaultLockConfiguration(
            self, "Lock", backup_vault_name=self.vault.name, min_retention_days=props.min_retention_days,
            changeable_for_days=props.cooling_off_days,
        )
        if props.copy_from_accounts:
            backup_vault_policy.BackupVaultPolicy(
                self, "Policy", backup_vault_name=self.vault.name,
                policy=policy_document([Statement(
                    sid="CopyFromSourceAccounts", actions=("backup:CopyIntoBackupVault",), resources=("*",),
                    principals={"AWS": tuple(f"arn:{PARTITION}:iam::{a}:root" for a in props.copy_from_accounts)},
                )]),
            )

    @property
    def name(self) -> str:
        return self.vault.name

    @property
    def arn(self) -> str:
        return self.vault.arn


@dataclass(frozen=True, kw_only=True)
class BackupPlanProps:
    """Props of ``BackupPlan``."""

    plan_name: str
    vault: BackupVault
    resource_arns: tuple[str, ...]
    """What the plan backs up (bucket ARNs)."""
    schedule: str
    """AWS cron expression in UTC, e.g. ``cron(0 22 * * ? *)``."""
    retention_days: int
    copy_to_vault_arn: str | None = None
    """The backup account's vault (same region) that receives a copy of every recovery point. Default: none."""


class BackupPlan(Construct):
    """A daily rule into ``vault`` (and a copy to ``copy_to_vault_arn``) over ``resource_arns``, run by its own role."""

    def __init__(self, scope: Construct, id: str, *, props: BackupPlanProps) -> None:
        super().__init__(scope, id)
        if not props.resource_arns:
            raise ConfigError("'resource_arns' must name at least one resource to back up",
                              source=f"BackupPlan {props.plan_name!r}")
        if props.retention_days < props.vault.props.min_retention_days:
            raise ConfigError(f"'retention_days' ({props.retention_days}) must be >= the vault lock's minimum "
                              f"({props.vault.props.min_retention_days}): AWS would refuse every recovery point",
                              source=f"BackupPlan {props.plan_name!r}")
        self.role = iam_role.IamRole(self, "Role", name=props.plan_name,
                                     assume_role_policy=assume_role_policy("backup.amazonaws.com"))
        for policy in BACKUP_SERVICE_POLICIES:
            iam_role_policy_attachment.IamRolePolicyAttachment(
                self, policy.rsplit("/", 1)[-1], role=self.role.name,
                policy_arn=f"arn:{PARTITION}:iam::aws:policy/{policy}",
            )
        keep = backup_plan.BackupPlanRuleLifecycle(delete_after=props.retention_days)
        copies = [backup_plan.BackupPlanRuleCopyAction(
            destination_vault_arn=props.copy_to_vault_arn,
            lifecycle=backup_plan.BackupPlanRuleCopyActionLifecycle(delete_after=props.retention_days),
        )] if props.copy_to_vault_arn else None
        self.plan = backup_plan.BackupPlan(self, "Plan", name=props.plan_name, rule=[backup_plan.BackupPlanRule(
            rule_name="daily", target_vault_name=props.vault.name, schedule=props.schedule,
            schedule_expression_timezone="Etc/UTC", start_window=60, completion_window=720,
            lifecycle=keep, copy_action=copies,
        )])
        backup_selection.BackupSelection(
            self, "Selection", name=props.plan_name, plan_id=self.plan.id, iam_role_arn=self.role.arn,
            resources=list(props.resource_arns),
        )

"""``<env>-recovery``: the vault in the environment's backup account that receives a copy of every recovery point.

Made only where the environment names ``backup.copy_account_id``. A copy in a second account survives the loss (or
the compromise) of the first; it stays in the environment's region because AWS has one UAE region, so in-country
disaster recovery means separate accounts and zones, never another country. The stack's provider assumes
``backup.copy_account_role`` in that account, so it is applied with the environment's own credentials and keeps
its state in the environment's state bucket: ``sahab deploy ENV --layer recovery``. Like ``guardrails`` it is
not one of the layers ``sahab up`` applies: it belongs to another account, whose owner applies it once.
"""

from __future__ import annotations

from environments import Environment, names
from modules.backup import BackupVault, BackupVaultProps
from modules.cdk import Construct
from modules.keys import Keys, KeysProps
from stacks.base import LayerStack


class RecoveryStack(LayerStack):
    layer = "recovery"

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env)
        keys = Keys(self, "Keys", props=KeysProps(
            name_prefix=self.name_prefix, region=env.region,
            administrator_roles=tuple(env.security.key_administrator_roles),
            data_classes=("backup",), signing=False, pseudonym=False,
        ))
        self.vault = BackupVault(self, "CopyVault", props=BackupVaultProps(
            vault_name=env.resource_name(names.BACKUP_COPY_VAULT), key=keys.backup,
            min_retention_days=env.backup.retention_days, cooling_off_days=env.backup.lock_cooling_off_days,
            copy_from_accounts=(str(env.account_id),),
        ))
        self.output("backup_copy_vault_arn", self.vault.arn, "The backup account's vault receiving the copies")

    def assumed_role_arn(self) -> str | None:
        backup = self.env.backup
        return names.iam_role_arn(str(backup.copy_account_id), backup.copy_account_role)

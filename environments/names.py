"""Physical names of cloud resources: one naming rule for the stacks, the constructs and the ML plane.

Every resource an environment owns is named ``sahab-<env>-<concern>``; globally unique names (S3 buckets)
add the account id. The ML plane finds what the stacks built by these same names (the models bucket, the
signing key's alias), so a name is derived here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "sahab"

#: Key concern of the asymmetric key that signs model manifests (``alias/sahab-<env>-models-signing``).
SIGNING_KEY = "models-signing"
#: Key concern of the HMAC key that turns customer ids into pseudonyms (``alias/sahab-<env>-customer-pseudonym``).
PSEUDONYM_KEY = "customer-pseudonym"
#: Concerns of the Terraform state bucket, its CMK and the DynamoDB lock table.
STATE_BUCKET = "tfstate"
STATE_LOCK_TABLE = "tflock"
#: Data class of signed model versions: the purpose of their bucket and the concern of their CMK.
MODELS = "models"
#: Concerns of the environment's backup vault and of its copy in the backup account.
BACKUP_VAULT = "backup"
BACKUP_COPY_VAULT = "backup-copy"
#: Concern of the Feast online store (the ElastiCache replication group).
ONLINE_STORE = "online"
#: Prefixes of the data bucket that hold personal data (pseudonymous, per customer): the offline feature tables
#: and training data (``features.store``), and the prediction log. Each has a retention (``privacy``).
OFFLINE_PREFIX = "offline/"
PREDICTIONS_PREFIX = "predictions/"


@dataclass(frozen=True)
class StateBackendNames:
    """Where an environment's Terraform state lives: what the stacks' backend names and ``sahab bootstrap`` makes."""

    bucket: str
    lock_table: str
    kms_alias: str


def name_prefix(env_name: str) -> str:
    """``sahab-<env>``: the start of every physical name of the environment."""
    return f"{PROJECT}-{env_name}"


def resource_name(env_name: str, concern: str) -> str:
    """``sahab-<env>-<concern>``: the physical name of one resource."""
    return f"{name_prefix(env_name)}-{concern}"


def account_scoped(name: str, account_id: str) -> str:
    """``<name>-<account id>``: for names that must be unique across all accounts (S3 buckets)."""
    return f"{name}-{account_id}"


def kms_alias(prefix: str, concern: str) -> str:
    """``alias/<prefix>-<concern>``: the alias of a CMK (``prefix`` is ``name_prefix(env)``)."""
    return f"alias/{prefix}-{concern}"


def ecr_registry(account_id: str, region: str) -> str:
    """The environment's own ECR registry host: ``<account>.dkr.ecr.<region>.amazonaws.com``."""
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


def ecr_repository(env_name: str, repository: str) -> str:
    """``sahab-<env>/<repository>``: an image repository inside the environment's ECR."""
    return f"{name_prefix(env_name)}/{repository}"


def workload_role_name(env_name: str, service_account: str) -> str:
    """``sahab-<env>-wl-<service account>``: the IRSA role one workload's service account assumes."""
    return resource_name(env_name, f"wl-{service_account}")


def iam_role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def backup_vault_arn(region: str, account_id: str, vault_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:backup:{region}:{account_id}:backup-vault:{vault_name}"


def auth_token_secret(store_name: str) -> str:
    """``<store name>/auth-token``: the Secrets Manager secret that holds a Redis store's AUTH token."""
    return f"{store_name}/auth-token"


def routing_key_secret(env_name: str) -> str:
    """``sahab-<env>-routing-key``: the Secrets Manager secret of the scoring service's routing key."""
    return resource_name(env_name, "routing-key")


def api_tokens_secret(env_name: str) -> str:
    """``sahab-<env>-api-tokens``: the Secrets Manager secret listing the digests of the scoring API's tokens."""
    return resource_name(env_name, "api-tokens")

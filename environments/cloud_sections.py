"""The cloud sections of an environment file: network, cluster, node pools, Kafka, online store, buckets, state.

``stacks/`` reads these to wire ``modules/``; rules a construct shares are in ``environments.rules``.
"""

from __future__ import annotations

import ipaddress
import re
from enum import Enum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from environments.rules import failover_problems, kafka_mode_problems, node_pool_problems, public_endpoint_problems
from environments.settings_model import SettingsModel

#: An IAM role name (not an ARN): what the key policies name, in the environment's own account.
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def role_names(value: list[str]) -> list[str]:
    """``value`` if every item is an IAM role name (not an ARN, no path), else the error naming the others."""
    bad = [name for name in value if not ROLE_NAME.match(name)]
    if bad:
        raise ValueError(f"must be IAM role names (letters, digits, +=,.@_-; up to 64; no ARN, no path): not {bad}")
    return value


class NatStrategy(str, Enum):
    """How private subnets reach the internet (ECR pulls, OS updates).

    | strategy | NAT gateways | trade-off                                  |
    |----------|--------------|--------------------------------------------|
    | none     | 0            | cheapest; only VPC endpoints reachable     |
    | single   | 1            | SMB default; one AZ failure cuts egress    |
    | per_az   | az_count     | production; egress survives an AZ failure  |
    """

    none = "none"
    single = "single"
    per_az = "per_az"


class NodePoolKind(str, Enum):
    cpu = "cpu"
    gpu = "gpu"


class TaintEffect(str, Enum):
    NoSchedule = "NoSchedule"
    PreferNoSchedule = "PreferNoSchedule"
    NoExecute = "NoExecute"


class Taint(SettingsModel):
    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NoSchedule


class NodePoolConfig(SettingsModel):
    """One EKS managed node group. GPU pools get the NVIDIA AMI and ``nvidia.com/gpu`` taint by default."""

    kind: NodePoolKind = Field(description="cpu or gpu. Default: cpu.", default=NodePoolKind.cpu)
    instance_types: list[str] = Field(min_length=1, description="EC2 instance types, first is preferred.")
    min_size: int = Field(ge=0, description="Smallest node count. GPU pools may be 0 (scale to zero).")
    desired_size: int = Field(ge=0, description="Node count at creation. Default: min_size.", default=-1)
    max_size: int = Field(ge=1, description="Largest node count.")
    spot: bool = Field(default=False, description="Use spot capacity. Default: false (on-demand).")
    disk_size_gib: int = Field(default=50, ge=20, le=16384, description="Root EBS volume, CMK-encrypted. Default: 50.")
    taints: list[Taint] = Field(default_factory=list, description="Extra taints. Default: none (GPU taint is added).")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra Kubernetes labels. Default: none.")

    @model_validator(mode="after")
    def _sizes_kind_and_architecture(self) -> NodePoolConfig:
        if self.desired_size == -1:
            object.__setattr__(self, "desired_size", self.min_size)
        problems = node_pool_problems(
            kind=self.kind.value, instance_types=self.instance_types, min_size=self.min_size,
            desired_size=self.desired_size, max_size=self.max_size,
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class NetworkConfig(SettingsModel):
    vpc_cidr: str = Field(description="IPv4 CIDR of the VPC, /16 to /24, private (RFC 1918).")
    az_count: int = Field(ge=2, le=3, description="Availability zones used: 2 (smb) or 3 (prod).")
    nat_strategy: NatStrategy = Field(default=NatStrategy.single, description="Default: single.")
    extra_cidrs_in_use: list[str] = Field(
        default_factory=list,
        description="CIDRs already used by peered networks; the VPC must not overlap them. Default: none.",
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _valid_private_cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"must be an IPv4 network such as 10.20.0.0/16 ({exc})") from None
        if not 16 <= net.prefixlen <= 24:
            raise ValueError(f"prefix must be between /16 and /24 (got /{net.prefixlen})")
        if not net.is_private:
            raise ValueError("must be a private (RFC 1918) range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkConfig:
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        for other in self.extra_cidrs_in_use:
            try:
                other_net = ipaddress.IPv4Network(other, strict=True)
            except ValueError as exc:
                raise ValueError(f"'extra_cidrs_in_use' entry {other!r} is not a valid CIDR ({exc})") from None
            if vpc.overlaps(other_net):
                raise ValueError(f"'vpc_cidr' {self.vpc_cidr} overlaps {other} listed in 'extra_cidrs_in_use'")
        return self


class EksConfig(SettingsModel):
    version: str = Field(default="1.33", pattern=r"^1\.\d+$", description="Kubernetes version. Default: 1.33.")
    endpoint_public_access: bool = Field(
        default=False, description="Expose the API endpoint publicly. Default: false (private only)."
    )
    public_access_cidrs: list[str] = Field(
        default_factory=list, description="Required when endpoint_public_access is true. Default: none."
    )

    @model_validator(mode="after")
    def _public_needs_cidrs(self) -> EksConfig:
        problems = public_endpoint_problems(
            enabled=self.endpoint_public_access, enabled_field="endpoint_public_access", cidrs=self.public_access_cidrs
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class KafkaMode(str, Enum):
    provisioned = "provisioned"
    serverless = "serverless"
    none = "none"


class KafkaConfig(SettingsModel):
    """MSK. Provisioned clusters use TLS + IAM auth + CMK at rest; serverless uses IAM auth (TLS built in)
    but encrypts at rest only with an AWS-owned key, so it needs an explicit opt-in and still fails the gate."""

    mode: KafkaMode = Field(default=KafkaMode.provisioned, description="Default: provisioned.")
    broker_instance_type: str = Field(default="kafka.m7g.large", description="Default: kafka.m7g.large.")
    broker_count: int = Field(default=2, ge=1, description="Multiple of az_count. Default: 2.")
    storage_gib: int = Field(default=100, ge=1, le=16384, description="EBS per broker. Default: 100.")
    kafka_version: str = Field(default="3.8.x", description="Default: 3.8.x.")
    accept_aws_owned_key_at_rest: bool = Field(
        default=False,
        description="Required for mode serverless, which cannot use a customer-managed key. Default: false.",
    )

    @model_validator(mode="after")
    def _serverless_opt_in(self) -> KafkaConfig:
        problems = kafka_mode_problems(mode=self.mode.value, accept_aws_owned_key_at_rest=self.accept_aws_owned_key_at_rest)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class OnlineStoreConfig(SettingsModel):
    """ElastiCache Redis replication group behind the Feast online store."""

    node_type: str = Field(default="cache.t4g.small", pattern=r"^cache\.", description="Default: cache.t4g.small.")
    replicas: int = Field(default=0, ge=0, le=5, description="Read replicas beside the primary. Default: 0.")
    multi_az: bool = Field(default=False, description="Automatic failover across AZs; needs replicas >= 1. Default: false.")
    engine_version: str = Field(default="7.1", description="Default: 7.1.")

    @model_validator(mode="after")
    def _multi_az_needs_replica(self) -> OnlineStoreConfig:
        problems = failover_problems(multi_az=self.multi_az, replicas=self.replicas)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class BucketConfig(SettingsModel):
    """One EncryptedBucket. ``key`` picks which CMK (data class) encrypts it."""

    key: Literal["data", "models", "logs"] = Field(default="data", description="Data class CMK. Default: data.")
    noncurrent_version_expiration_days: int = Field(default=90, ge=1, description="Default: 90.")
    object_lock_retention_days: int | None = Field(
        default=None, ge=1, description="Object lock (compliance mode) retention. Default: none (no lock)."
    )


class SecurityConfig(SettingsModel):
    """Who administers the environment's keys (and so who could ever unlock its data)."""

    key_administrator_roles: list[str] = Field(
        default_factory=lambda: ["sahab-deploy", "sahab-break-glass"], min_length=1,
        description="IAM role names in 'account_id' that administer the CMKs: the role deployments run as, and a "
        "break-glass role. Nobody else, not even the account root, may change a key or its policy. "
        "Default: sahab-deploy, sahab-break-glass.",
    )

    @field_validator("key_administrator_roles")
    @classmethod
    def _role_names(cls, value: list[str]) -> list[str]:
        return role_names(value)


class GuardrailsConfig(SettingsModel):
    """The account-level region guard: an Organizations SCP from the UAE allow-list (``environments.region_guard``),
    in its own stack ``<env>-guardrails`` that the organisation's management account applies."""

    region_guard: bool = Field(default=False, description="Synthesise the guard stack. Default: false.")
    target_ids: list[str] = Field(
        default_factory=list,
        description="Accounts (12 digits) or organisational units (ou-...) the SCP is attached to. "
        "Default: the environment's account_id.",
    )

    @field_validator("target_ids")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(r"\d{12}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32}", t)]
        if bad:
            raise ValueError(f"must be account ids (12 digits), OU ids (ou-...) or the root (r-...): not {bad}")
        return value


class BackupConfig(SettingsModel):
    """AWS Backup of the environment's data: a vault under our ``backup`` CMK with a compliance-mode lock, a daily
    plan over the data-class buckets, and (where a second account exists) a copy of every recovery point into a
    vault of that account **in the same region**: the UAE has one AWS region, so in-country disaster recovery means
    separate accounts and zones, never another country. The online store keeps its own CMK-encrypted snapshots."""

    schedule: str = Field(
        default="cron(0 22 * * ? *)", pattern=r"^cron\(.+\)$",
        description="When the daily backup starts, in UTC (AWS cron). Default: 22:00 UTC (02:00 in the UAE).",
    )
    retention_days: int = Field(
        default=35, ge=7, le=36500,
        description="Days every recovery point (and its copy) is kept; the vault lock refuses shorter ones. "
        "Default: 35.",
    )
    lock_cooling_off_days: int = Field(
        default=3, ge=3, le=365,
        description="Days after the first apply during which the compliance lock can still be removed; after them "
        "nobody, not even the account root, can delete a recovery point before its retention ends. Default: 3.",
    )
    copy_account_id: str | None = Field(
        default=None, pattern=r"^\d{12}$",
        description="A separate AWS account that receives a copy of every recovery point, in the same region. Its "
        "vault is the stack <env>-recovery. Default: none (recovery points stay in this account).",
    )
    copy_account_role: str = Field(
        default="sahab-deploy", pattern=ROLE_NAME.pattern,
        description="The role in copy_account_id that the <env>-recovery stack's provider assumes. "
        "Default: sahab-deploy.",
    )


class StateBackendConfig(SettingsModel):
    """Where Terraform keeps state: S3 + DynamoDB lock in the UAE region, or a local file when configured."""

    kind: Literal["s3", "local"] = Field(default="s3", description="Default: s3.")
    bucket: str | None = Field(default=None, description="State bucket (kind s3). Default: sahab-<env>-tfstate.")
    lock_table: str | None = Field(default=None, description="DynamoDB lock table. Default: sahab-<env>-tflock.")
    key_prefix: str = Field(default="sahab", description="Default: sahab.")


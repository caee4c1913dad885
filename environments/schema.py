"""Typed environment model: one ``environments/<env>.yaml`` becomes one validated ``Environment``.

Residency is the first of three guards (schema, constructs, Checkov): a region outside the UAE
allow-list is refused here, before any construct is built. Validation is offline and deterministic:
no cloud calls, so a pull request can be checked anywhere. The sections live beside it
(``cloud_sections``, ``ml_sections``); unknown keys are refused everywhere.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator

from environments.cloud_sections import (
    BackupConfig,
    BucketConfig,
    EksConfig,
    GuardrailsConfig,
    KafkaConfig,
    KafkaMode,
    NetworkConfig,
    NodePoolConfig,
    OnlineStoreConfig,
    SecurityConfig,
    StateBackendConfig,
)
from environments.data_paths import DataPaths, project_root
from environments.ml_sections import (
    DataConfig,
    DriftConfig,
    ModelRegistryConfig,
    ServingConfig,
    StreamingConfig,
    TrainingConfig,
)
from environments import names
from environments.names import StateBackendNames, resource_name
from environments.privacy_section import PrivacyConfig
from environments.rules import is_loopback_host
from environments.settings_model import SettingsModel
from environments.workload_sections import WorkloadsConfig

#: UAE-resident cloud (Azure UAE North/Central, say) needs its entry here plus a ``target`` and its validators.
UAE_RESIDENT_REGIONS: dict[str, tuple[str, ...]] = {"aws": ("me-central-1",)}

#: Tag keys every taggable resource must carry (ISO 27001 asset ownership; cost allocation).
MANDATORY_TAG_KEYS: tuple[str, ...] = ("owner", "cost-centre", "data-classification", "environment")

#: Retention values CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS_ALLOWED: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,20}$")


class Target(str, Enum):
    """Where an environment runs: on this machine, or in an AWS UAE region."""

    local = "local"
    aws = "aws"


class Environment(SettingsModel):
    """One deployment environment, as read from ``environments/<name>.yaml``."""

    name: str = Field(description="Environment name; must equal the file name's stem.")
    target: Target = Field(description="local (this machine) or aws (an AWS UAE region).")
    allowed_regions: list[str] = Field(
        default_factory=lambda: list(UAE_RESIDENT_REGIONS["aws"]),
        description="Residency allow-list; UAE regions only. Default: [me-central-1].",
    )
    region: str = Field(description="Cloud region; must be in allowed_regions.")
    account_id: str | None = Field(
        default=None, pattern=r"^\d{12}$",
        description="The AWS account the environment deploys into: its ECR registry serves the workloads' images and "
        "their roles live there. Required when 'target' is 'aws'. Default: none (local).",
    )
    tags: dict[str, str] = Field(description=f"Must contain {', '.join(MANDATORY_TAG_KEYS)}.")
    log_retention_days: int = Field(default=365, description="CloudWatch Logs retention. Default: 365.")
    network: NetworkConfig | None = None
    eks: EksConfig = Field(default_factory=EksConfig)
    node_pools: dict[str, NodePoolConfig] = Field(default_factory=dict)
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    online_store: OnlineStoreConfig = Field(default_factory=OnlineStoreConfig)
    buckets: dict[str, BucketConfig] = Field(default_factory=dict)
    state_backend: StateBackendConfig = Field(default_factory=StateBackendConfig)
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    data_dir: str = Field(default=".sahab/{name}", description="Local working data. Default: .sahab/<name>.")
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    streaming: StreamingConfig = Field(default_factory=StreamingConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    models: ModelRegistryConfig = Field(default_factory=ModelRegistryConfig)
    workloads: WorkloadsConfig = Field(default_factory=WorkloadsConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not ENVIRONMENT_NAME.match(value):
            raise ValueError("must be 2-21 lowercase letters, digits or '-', starting with a letter")
        return value

    @field_validator("allowed_regions")
    @classmethod
    def _only_uae(cls, value: list[str]) -> list[str]:
        allowed = UAE_RESIDENT_REGIONS["aws"]
        foreign = [r for r in value if r not in allowed]
        if foreign:
            raise ValueError(f"may only contain UAE regions {list(allowed)}; not allowed: {foreign}")
        if not value:
            raise ValueError(f"must list at least one UAE region from {list(allowed)}")
        return value

    @field_validator("region")
    @classmethod
    def _region_allowed(cls, value: str, info: ValidationInfo) -> str:
        allowed = info.data.get("allowed_regions") or list(UAE_RESIDENT_REGIONS["aws"])
        if value not in allowed:
            raise ValueError(f"must be one of the UAE-resident regions {allowed}")
        return value

    @field_validator("tags")
    @classmethod
    def _mandatory_tags(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [k for k in MANDATORY_TAG_KEYS if not value.get(k)]
        if missing:
            raise ValueError(f"must contain the mandatory keys {list(MANDATORY_TAG_KEYS)}; missing: {missing}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS_ALLOWED:
            raise ValueError(f"must be one of CloudWatch's values {list(LOG_RETENTION_DAYS_ALLOWED)}")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Environment:
        problems: list[str] = []
        if self.tags.get("environment") and self.tags["environment"] != self.name:
            problems.append(f"'tags.environment' must equal 'name' {self.name!r} (value: {self.tags['environment']!r})")
        if self.target is Target.aws:
            if self.network is None:
                problems.append("'network' is required when 'target' is 'aws'")
            if not self.node_pools:
                problems.append("'node_pools' must define at least one pool when 'target' is 'aws'")
            if self.account_id is None:
                problems.append("'account_id' is required when 'target' is 'aws': the 12-digit AWS account to deploy into")
            problems += self._workload_placement_problems()
            if self.workloads.ingestor.max_replicas > self.streaming.partitions:
                problems.append(
                    f"'workloads.ingestor.max_replicas' ({self.workloads.ingestor.max_replicas}) must be <= "
                    f"'streaming.partitions' ({self.streaming.partitions}): a replica beyond that owns no partition"
                )
            missing_buckets = [b for b in ("data", "models") if b not in self.buckets]
            if missing_buckets:
                problems.append(
                    f"'buckets' must define {missing_buckets} when 'target' is 'aws': the workloads read and write "
                    "them (feature data and signed model versions)"
                )
            if self.backup.copy_account_id is not None and self.backup.copy_account_id == self.account_id:
                problems.append(
                    f"'backup.copy_account_id' must be another account than 'account_id' ({self.account_id}): a copy "
                    "in the same account is lost with it"
                )
            if self.network and self.kafka.mode is KafkaMode.provisioned and self.kafka.broker_count % self.network.az_count:
                problems.append(
                    f"'kafka.broker_count' ({self.kafka.broker_count}) must be a multiple of "
                    f"'network.az_count' ({self.network.az_count}) when 'kafka.mode' is 'provisioned'"
                )
        if self.serving_auth == "none" and not is_loopback_host(self.serving.host):
            problems.append(
                f"'serving.host' {self.serving.host!r} is reachable beyond this machine: set 'serving.auth: bearer' "
                "(tokens from `sahab serve token create`) or bind 127.0.0.1"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _workload_placement_problems(self) -> list[str]:
        """Every workload runs on a pool the environment has, and asks for GPUs only on a gpu pool."""
        problems = []
        for workload, (pool, gpus) in self.workloads.placements().items():
            field = f"'workloads.{workload}.node_pool'"
            if pool not in self.node_pools:
                problems.append(f"{field} must name one of the node pools {sorted(self.node_pools)} (value: {pool!r})")
            elif gpus and self.node_pools[pool].kind.value != "gpu":
                problems.append(
                    f"'workloads.{workload}.resources.gpus' must be 0 on the {self.node_pools[pool].kind.value} pool "
                    f"{pool!r}: GPUs exist only on a gpu pool (value: {gpus})"
                )
        return problems

    # ---- derived values -------------------------------------------------------------------------
    @property
    def is_cloud(self) -> bool:
        return self.target is Target.aws

    def resource_name(self, concern: str) -> str:
        """Physical name of a resource: ``sahab-<env>-<concern>`` (``environments.names``)."""
        return resource_name(self.name, concern)

    @property
    def region_guard_targets(self) -> list[str]:
        """Where the region guard is attached: ``guardrails.target_ids``, else the environment's own account."""
        return list(self.guardrails.target_ids) or ([self.account_id] if self.account_id else [])

    @property
    def backup_copy_vault_arn(self) -> str | None:
        """The copy vault in the backup account (same region), or ``None`` when the environment has no copy account."""
        copy_account = self.backup.copy_account_id
        if copy_account is None:
            return None
        return names.backup_vault_arn(self.region, copy_account, self.resource_name(names.BACKUP_COPY_VAULT))

    @property
    def state_backend_names(self) -> StateBackendNames:
        """The state bucket, lock table and key alias: ``state_backend``'s, else ``sahab-<env>-tfstate|tflock``."""
        backend = self.state_backend
        return StateBackendNames(
            bucket=backend.bucket or self.resource_name(names.STATE_BUCKET),
            lock_table=backend.lock_table or self.resource_name(names.STATE_LOCK_TABLE),
            kms_alias=names.kms_alias(names.name_prefix(self.name), names.STATE_BUCKET),
        )

    def data_path(self, root: Path | None = None) -> Path:
        """Local working folder of this environment (offline store, models, logs), absolute."""
        path = Path(self.data_dir.format(name=self.name))
        return path if path.is_absolute() else (root or project_root()) / path

    @property
    def serving_auth(self) -> str:
        """``serving.auth``, resolved: bearer tokens in the cloud, none on this machine, unless set."""
        return self.serving.auth or ("bearer" if self.is_cloud else "none")

    @property
    def feature_overrides_allowed(self) -> bool:
        """``serving.allow_feature_overrides``, resolved: on this machine yes, in the cloud no, unless set."""
        allowed = self.serving.allow_feature_overrides
        return (not self.is_cloud) if allowed is None else allowed

    @property
    def paths(self) -> DataPaths:
        """The named subfolders of the data folder (``environments.data_paths``)."""
        return DataPaths(self.data_path())



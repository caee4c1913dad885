"""Typed environment model: one ``environments/<env>.yaml`` becomes one validated ``Environment``.

Residency is the first of three guards (schema, constructs, Checkov): a region outside the UAE
allow-list is refused here, before any construct is built. Validation is offline and deterministic:
no cloud calls, so a pull request can be checked anywhere.

Every model forbids unknown keys, so a typo (``min_szie``) is an error, not a silently ignored field.
"""

from __future__ import annotations

import ipaddress
import re
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from infra.errors import ConfigError

#: Regions where data may live, per cloud provider. Only ``aws`` is wired through the schema today; a second
#: UAE-resident cloud (Azure UAE North/Central, say) needs its entry here plus a ``target`` and its validators.
UAE_RESIDENT_REGIONS: dict[str, tuple[str, ...]] = {"aws": ("me-central-1",)}

#: Tag keys every taggable resource must carry (ISO 27001 asset ownership; cost allocation).
MANDATORY_TAG_KEYS: tuple[str, ...] = ("owner", "cost-centre", "data-classification", "environment")

#: Instance families that carry an NVIDIA GPU; a ``gpu`` pool must use one of them.
GPU_INSTANCE_FAMILIES: tuple[str, ...] = ("p3", "p4d", "p4de", "p5", "p5e", "p5en", "g4dn", "g5", "g6", "g6e", "gr6")

#: Retention values CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS_ALLOWED: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,20}$")


class _Model(BaseModel):
    """Base for every config model: frozen, unknown keys refused, YAML keys may use hyphens."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Target(str, Enum):
    """Where an environment runs: on this machine, or in an AWS UAE region."""

    local = "local"
    aws = "aws"


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


class Taint(_Model):
    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NoSchedule


class NodePoolConfig(_Model):
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
    def _sizes_and_gpu(self) -> NodePoolConfig:
        problems: list[str] = []
        if self.desired_size == -1:
            object.__setattr__(self, "desired_size", self.min_size)
        if self.min_size > self.max_size:
            problems.append(f"'min_size' ({self.min_size}) must be <= 'max_size' ({self.max_size})")
        elif not self.min_size <= self.desired_size <= self.max_size:
            problems.append(
                f"'desired_size' ({self.desired_size}) must be between 'min_size' ({self.min_size}) "
                f"and 'max_size' ({self.max_size})"
            )
        if self.kind is NodePoolKind.gpu:
            not_gpu = [t for t in self.instance_types if t.split(".")[0] not in GPU_INSTANCE_FAMILIES]
            if not_gpu:
                problems.append(
                    f"'instance_types' of a gpu pool must be GPU instances (families {', '.join(GPU_INSTANCE_FAMILIES)}); "
                    f"not GPU: {', '.join(not_gpu)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class NetworkConfig(_Model):
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


class EksConfig(_Model):
    version: str = Field(default="1.33", pattern=r"^1\.\d+$", description="Kubernetes version. Default: 1.33.")
    endpoint_public_access: bool = Field(
        default=False, description="Expose the API endpoint publicly. Default: false (private only)."
    )
    public_access_cidrs: list[str] = Field(
        default_factory=list, description="Required when endpoint_public_access is true. Default: none."
    )

    @model_validator(mode="after")
    def _public_needs_cidrs(self) -> EksConfig:
        if self.endpoint_public_access:
            if not self.public_access_cidrs:
                raise ValueError("'public_access_cidrs' must list CIDRs when 'endpoint_public_access' is true")
            if any(c in ("0.0.0.0/0", "::/0") for c in self.public_access_cidrs):
                raise ValueError("'public_access_cidrs' must not contain 0.0.0.0/0 or ::/0")
        return self


class KafkaMode(str, Enum):
    provisioned = "provisioned"
    serverless = "serverless"
    none = "none"


class KafkaConfig(_Model):
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
        if self.mode is KafkaMode.serverless and not self.accept_aws_owned_key_at_rest:
            raise ValueError(
                "'accept_aws_owned_key_at_rest' must be true when 'mode' is 'serverless': MSK Serverless cannot "
                "encrypt with a customer-managed key (the policy gate fails it); use mode 'provisioned' instead"
            )
        return self


class OnlineStoreConfig(_Model):
    """ElastiCache Redis replication group behind the Feast online store."""

    node_type: str = Field(default="cache.t4g.small", pattern=r"^cache\.", description="Default: cache.t4g.small.")
    replicas: int = Field(default=0, ge=0, le=5, description="Read replicas beside the primary. Default: 0.")
    multi_az: bool = Field(default=False, description="Automatic failover across AZs; needs replicas >= 1. Default: false.")
    engine_version: str = Field(default="7.1", description="Default: 7.1.")

    @model_validator(mode="after")
    def _multi_az_needs_replica(self) -> OnlineStoreConfig:
        if self.multi_az and self.replicas < 1:
            raise ValueError(f"'replicas' must be >= 1 when 'multi_az' is true (value: {self.replicas})")
        return self


class BucketConfig(_Model):
    """One EncryptedBucket. ``key`` picks which CMK (data class) encrypts it."""

    key: Literal["data", "models", "logs"] = Field(default="data", description="Data class CMK. Default: data.")
    noncurrent_version_expiration_days: int = Field(default=90, ge=1, description="Default: 90.")
    object_lock_retention_days: int | None = Field(
        default=None, ge=1, description="Object lock (compliance mode) retention. Default: none (no lock)."
    )


class StateBackendConfig(_Model):
    """Where Terraform keeps state: S3 + DynamoDB lock in the UAE region, or a local file when configured."""

    kind: Literal["s3", "local"] = Field(default="s3", description="Default: s3.")
    bucket: str | None = Field(default=None, description="State bucket (kind s3). Default: sahab-<env>-tfstate.")
    lock_table: str | None = Field(default=None, description="DynamoDB lock table. Default: sahab-<env>-tflock.")
    key_prefix: str = Field(default="sahab", description="Default: sahab.")


class TrainingConfig(_Model):
    """Training job settings. Small defaults so the local stack trains in seconds on a CPU."""

    epochs: int = Field(default=6, ge=1, description="Default: 6.")
    batch_size: int = Field(default=512, ge=1, description="Global batch size (split across ranks). Default: 512.")
    learning_rate: float = Field(default=3e-3, gt=0, description="Default: 0.003.")
    seed: int = Field(default=7, description="Default: 7.")
    nproc: int = Field(default=1, ge=1, description="Processes (torchrun) for training. Default: 1.")
    device: Literal["cpu", "cuda"] = Field(default="cpu", description="Default: cpu.")
    validation_days: int = Field(default=7, ge=1, description="Last N days held out for validation. Default: 7.")


class DataConfig(_Model):
    """Size of the seeded synthetic transaction data set (fraud scoring for a UAE payments SMB)."""

    customers: int = Field(default=2000, ge=10, description="Default: 2000.")
    merchants: int = Field(default=200, ge=5, description="Default: 200.")
    days: int = Field(default=35, ge=8, description="Default: 35.")
    transactions_per_customer_per_day: float = Field(default=1.2, gt=0, description="Default: 1.2.")
    seed: int = Field(default=42, description="Default: 42.")


class VariantConfig(_Model):
    """A served model version and the share of traffic it gets."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="Variant name, e.g. a, b, canary.")
    model_version: str = Field(description="A registered version id, or 'latest' / 'previous'.")
    weight: float = Field(ge=0, le=1, description="Share of traffic, 0..1; weights sum to 1.")


class CanaryConfig(_Model):
    variant: str = Field(description="Which variant is the canary.")
    max_error_rate: float = Field(default=0.05, ge=0, le=1, description="Default: 0.05.")
    max_p95_latency_ms: float = Field(default=250.0, gt=0, description="Default: 250.")
    window_seconds: float = Field(default=60.0, gt=0, description="Sliding window. Default: 60.")
    min_requests: int = Field(default=20, ge=1, description="Requests in window before judging. Default: 20.")


class ServingConfig(_Model):
    """The BentoML fraud-scoring service: variants and routing, runtime tuning, prediction log."""

    host: str = Field(default="127.0.0.1", description="Bind address. Default: 127.0.0.1.")
    port: int = Field(default=3000, ge=1, le=65535, description="Default: 3000.")
    variants: list[VariantConfig] = Field(
        min_length=1,
        default_factory=lambda: [
            VariantConfig(name="a", model_version="previous", weight=0.5),
            VariantConfig(name="b", model_version="latest", weight=0.5),
        ],
        description="Default: a=previous 50%, b=latest 50%.",
    )
    shadow_variant: str | None = Field(
        default=None, description="Scored beside every request but never returned; its weight must be 0. Default: none."
    )
    canary: CanaryConfig | None = Field(default=None, description="Automatic rollback rules. Default: none.")
    max_batch_size: int = Field(default=256, ge=2, description="Items per request; larger requests get 413. Default: 256.")
    workers: int = Field(default=1, ge=1, description="BentoML worker processes. Default: 1.")
    adaptive_batching: bool = Field(
        default=False,
        description="Merge concurrent requests into one model call (BentoML's batchable API). Off by default: "
        "bench/serving.py measured more throughput at 32 clients with it, but higher latency at low load (the "
        "batcher keeps waiting as long as it waited before) and 503s when it sheds load. Default: false.",
    )
    batch_max_latency_ms: int = Field(
        default=250, ge=1,
        description="Longest a request may wait in the adaptive batcher before BentoML answers 503 (too low "
        "and a burst after start-up is refused; bench/serving.py measures it). Default: 250.",
    )
    device: Literal["cpu", "cuda"] = Field(
        default="cpu", description="cpu: ONNX Runtime on CPU; cuda: the torch model on a CUDA GPU. Default: cpu."
    )
    model_precision: Literal["fp32", "int8"] = Field(
        default="fp32", description="Which ONNX file runs on CPU (int8 measured slower on the small MLP). Default: fp32."
    )
    ort_intra_op_threads: int = Field(
        default=1, ge=0, description="ONNX Runtime threads inside one operator; 0 lets ORT choose. Default: 1."
    )
    ort_inter_op_threads: int = Field(
        default=1, ge=0, description="ONNX Runtime threads across operators; 0 lets ORT choose. Default: 1."
    )
    score_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Scores at or above this answer is_fraud=true. Default: 0.5."
    )
    prediction_sink: Literal["jsonl", "kafka"] = Field(
        default="jsonl",
        description="Where predictions are logged: jsonl files under <data>/predictions, or a Kafka topic. Default: jsonl.",
    )
    prediction_topic: str = Field(
        default="predictions", description="Kafka topic of the prediction log (prediction_sink kafka). Default: predictions."
    )

    @model_validator(mode="after")
    def _weights(self) -> ServingConfig:
        names = [v.name for v in self.variants]
        problems = []
        if len(set(names)) != len(names):
            problems.append(f"'variants' names must be unique (value: {names})")
        total = sum(v.weight for v in self.variants)
        if self.variants and abs(total - 1.0) > 1e-6:
            problems.append(f"'variants' weights must sum to 1 (sum: {total:g})")
        for ref, what in ((self.shadow_variant, "shadow_variant"), (self.canary.variant if self.canary else None, "canary.variant")):
            if ref is not None and ref not in names:
                problems.append(f"'{what}' must name one of the variants {names} (value: {ref!r})")
        weights = {v.name: v.weight for v in self.variants}
        if self.shadow_variant in weights and weights[self.shadow_variant] != 0:
            problems.append(
                f"'variants' weight of the shadow variant '{self.shadow_variant}' must be 0: it is scored but never "
                f"answers (value: {weights[self.shadow_variant]:g})"
            )
        if self.canary and self.canary.variant in weights:
            if self.canary.variant == self.shadow_variant:
                problems.append(f"'canary.variant' must not be the shadow variant (value: {self.canary.variant!r})")
            fallbacks = [n for n in names if n not in (self.canary.variant, self.shadow_variant)]
            if not fallbacks:
                problems.append(
                    f"'canary.variant' {self.canary.variant!r} needs another non-shadow variant to roll back to "
                    f"(variants: {names})"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class StreamingConfig(_Model):
    """Kafka ingestion: topics, the ingestor's consumer group, and how clients connect.

    The local broker and MSK differ only in these connection settings:

    | target | auth | tls   | clients use                                                     |
    |--------|------|-------|-----------------------------------------------------------------|
    | local  | none | false | PLAINTEXT to the broker `sahab up local` started (the default)   |
    | local  | none | true  | SSL to a TLS broker of your own at `bootstrap_servers`           |
    | any    | iam  | true  | SASL_SSL + OAUTHBEARER tokens signed for MSK IAM (cloud default) |
    | any    | iam  | false | error: MSK serves IAM auth on its TLS listener only (port 9098)  |
    | aws    | none | any   | error when connecting: MSK here is built IAM-only                |
    """

    topic: str = Field(default="transactions", description="Default: transactions.")
    dlq_topic: str = Field(default="transactions.dlq", description="Default: transactions.dlq.")
    consumer_group: str = Field(default="sahab-ingestor", description="Default: sahab-ingestor.")
    partitions: int = Field(default=3, ge=1, description="Default: 3.")
    session_timeout_ms: int = Field(default=6000, ge=1000, description="Default: 6000 (low for fast local joins).")
    bootstrap_servers: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.-]+:\d+(,[A-Za-z0-9.-]+:\d+)*$",
        description="Comma-separated host:port list (MSK: the IAM bootstrap brokers, port 9098). "
        "Default: none: locally the broker started by `sahab up local`; cloud environments must set it.",
    )
    auth: Literal["none", "iam"] | None = Field(
        default=None, description="Client authentication. Default: iam when target is aws, none when local."
    )
    tls: bool | None = Field(default=None, description="Encrypt client traffic. Default: true when target is aws, false locally.")
    tls_ca_location: str | None = Field(
        default=None, description="PEM bundle that signs the brokers' certificates. Default: the system CA store."
    )
    local_broker_port: int | None = Field(
        default=None, ge=1, le=65535, description="Port of the local broker. Default: a free port chosen when it starts."
    )
    local_broker_storage: str = Field(
        default="memory://tansu/",
        pattern=r"^(memory|s3)://[a-z0-9.-]+/$",
        description="Storage engine of the local broker: memory://tansu/ (lost when it stops) or s3://BUCKET/ "
        "(durable across restarts). Default: memory://tansu/.",
    )
    max_batch_events: int = Field(
        default=500, ge=1, le=100_000, description="Events per consume-push-commit cycle of the ingestor. Default: 500."
    )
    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Prometheus /metrics port of `sahab stream ingest`; 0 turns it off. Default: 9464."
    )

    @model_validator(mode="after")
    def _iam_needs_tls(self) -> StreamingConfig:
        if self.auth == "iam" and self.tls is False:
            raise ValueError("'tls' must be true when 'auth' is 'iam' (MSK serves IAM auth on its TLS listener only)")
        return self


class DriftConfig(_Model):
    """When served traffic has moved away from the training data (``sahab drift``).

    A feature drifts when its PSI exceeds ``psi_threshold``, or when the two-sample KS test is both
    significant (p below ``ks_pvalue_threshold``) and large (statistic above ``ks_statistic_threshold``):
    on thousands of rows a p-value alone flags shifts too small to matter.
    """

    psi_threshold: float = Field(default=0.2, gt=0, description="PSI above this is drift. Default: 0.2.")
    ks_pvalue_threshold: float = Field(default=0.01, gt=0, lt=1, description="KS p-value below this is drift. Default: 0.01.")
    ks_statistic_threshold: float = Field(
        default=0.1, gt=0, lt=1, description="KS statistic that must also be exceeded to call drift. Default: 0.1."
    )
    psi_bins: int = Field(default=10, ge=2, le=100, description="Quantile bins of the reference for PSI. Default: 10.")
    min_samples: int = Field(
        default=200, ge=10, description="Fewest logged predictions a drift check accepts. Default: 200."
    )
    reference_rows: int = Field(
        default=20000, ge=100, description="Training rows sampled as the reference. Default: 20000."
    )
    gate_on_store_features: bool = Field(
        default=False,
        description="Let drift in the online-store features (fraud_model_v1) fail the check, not only the request "
        "fields and the score. Off by default: the store holds each entity's latest state while training saw the "
        "state before each transaction, so replayed or sparse traffic shows skew there without any drift. "
        "Their PSI and KS are always reported. Default: false.",
    )


class ModelRegistryConfig(_Model):
    """Model versions: who signs their manifests and where the signed versions are stored.

    | target | signer                                  | artifact store                                       |
    |--------|-----------------------------------------|------------------------------------------------------|
    | local  | Ed25519 key file under <data>/keys      | <data>/models (a copy also in artifact_dir if set)   |
    | aws    | KMS key signing_key (MessageType RAW)   | s3://artifact_bucket/artifact_prefix, SSE-KMS with   |
    |        |                                         | artifact_kms_key                                     |
    """

    signing_key: str | None = Field(
        default=None,
        description="KMS asymmetric key (alias, id or ARN) that signs manifests in cloud environments. "
        "Default: alias/sahab-<env>-models-signing (the security stack's signing key).",
    )
    signing_algorithm: Literal["ECDSA_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256"] = Field(
        default="ECDSA_SHA_256",
        description="KMS signing algorithm; must fit the key spec (ECC_NIST_P256 or RSA). Default: ECDSA_SHA_256.",
    )
    trusted_public_key_path: str | None = Field(
        default=None,
        description="PEM public key that verifies manifests offline, absolute or relative to the project root. "
        "Default: none: local trusts <data>/keys/*.pub.pem, cloud fetches the signing key's public half once "
        "(kms:GetPublicKey).",
    )
    artifact_bucket: str | None = Field(
        default=None,
        description="S3 bucket of the artifact store (cloud). Default: sahab-<env>-models-<account id>, the data "
        "stack's models bucket.",
    )
    artifact_prefix: str = Field(
        default="models/", pattern=r"^([A-Za-z0-9._-]+/)*$",
        description="Key prefix of model versions in the bucket, empty or ending in '/'. Default: models/.",
    )
    artifact_kms_key: str | None = Field(
        default=None,
        description="KMS key (alias, id or ARN) for SSE-KMS on uploaded artifacts. Default: alias/sahab-<env>-models.",
    )
    artifact_dir: str | None = Field(
        default=None,
        description="Local target only: a folder (e.g. a mounted backup volume) that receives a copy of every "
        "version, absolute or relative to the project root. Default: none: <data>/models is the store.",
    )
    bentoml_model_name: str = Field(
        default="sahab-fraud", pattern=r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$",
        description="Name of the model in BentoML's model store; the tag's version is the version id. "
        "Default: sahab-fraud.",
    )

    def signing_key_id(self, env: Environment) -> str:
        return self.signing_key or f"alias/{env.resource_name('models-signing')}"

    def artifact_kms_key_id(self, env: Environment) -> str:
        return self.artifact_kms_key or f"alias/{env.resource_name('models')}"


class Environment(_Model):
    """One deployment environment, as read from ``environments/<name>.yaml``."""

    name: str = Field(description="Environment name; must equal the file name's stem.")
    target: Target = Field(description="local (this machine) or aws (an AWS UAE region).")
    allowed_regions: list[str] = Field(
        default_factory=lambda: list(UAE_RESIDENT_REGIONS["aws"]),
        description="Residency allow-list; UAE regions only. Default: [me-central-1].",
    )
    region: str = Field(description="Cloud region; must be in allowed_regions.")
    tags: dict[str, str] = Field(description=f"Must contain {', '.join(MANDATORY_TAG_KEYS)}.")
    log_retention_days: int = Field(default=365, description="CloudWatch Logs retention. Default: 365.")
    network: NetworkConfig | None = None
    eks: EksConfig = Field(default_factory=EksConfig)
    node_pools: dict[str, NodePoolConfig] = Field(default_factory=dict)
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    online_store: OnlineStoreConfig = Field(default_factory=OnlineStoreConfig)
    buckets: dict[str, BucketConfig] = Field(default_factory=dict)
    state_backend: StateBackendConfig = Field(default_factory=StateBackendConfig)
    data_dir: str = Field(default=".sahab/{name}", description="Local working data. Default: .sahab/<name>.")
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    streaming: StreamingConfig = Field(default_factory=StreamingConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    models: ModelRegistryConfig = Field(default_factory=ModelRegistryConfig)

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
            if self.network and self.kafka.mode is KafkaMode.provisioned and self.kafka.broker_count % self.network.az_count:
                problems.append(
                    f"'kafka.broker_count' ({self.kafka.broker_count}) must be a multiple of "
                    f"'network.az_count' ({self.network.az_count}) when 'kafka.mode' is 'provisioned'"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- derived values -------------------------------------------------------------------------
    @property
    def is_cloud(self) -> bool:
        return self.target is Target.aws

    def resource_name(self, concern: str) -> str:
        """Physical name of a resource: ``sahab-<env>-<concern>`` (one naming function for all)."""
        return f"sahab-{self.name}-{concern}"

    def data_path(self, root: Path | None = None) -> Path:
        """Local working folder of this environment (offline store, models, logs), absolute."""
        path = Path(self.data_dir.format(name=self.name))
        return path if path.is_absolute() else (root or project_root()) / path


# ---- loading ------------------------------------------------------------------------------------

def project_root() -> Path:
    """The repository root: the folder that holds ``environments/``."""
    return Path(__file__).resolve().parent.parent


def environments_dir() -> Path:
    return project_root() / "environments"


def available_environments(directory: Path | None = None) -> list[str]:
    """Environment names, in the order a reader expects them (local first, prod last)."""
    order = {"local": 0, "smb": 1, "dev": 2, "staging": 3, "prod": 4}
    names = [p.stem for p in (directory or environments_dir()).glob("*.yaml")]
    return sorted(names, key=lambda n: (order.get(n, 5), n))


def _format_validation_error(error: ValidationError, data: Any) -> list[str]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a known field (check the spelling; unknown keys are refused)"
        elif item["type"] == "missing":
            message = "is required"
        value = item.get("input")
        shown = "" if item["type"] in ("missing",) or isinstance(value, dict) else f" (value: {value!r})"
        where = f"'{loc}': " if loc else ""
        problems.append(f"{where}{message}{shown}")
    return problems


def parse_environment(data: Any, *, source: str = "<environment>", expected_name: str | None = None) -> Environment:
    """Validate a mapping as an ``Environment``; raise ``ConfigError`` naming every problem at once."""
    if not isinstance(data, dict):
        raise ConfigError("the file must contain a YAML mapping of fields", source=source)
    try:
        env = Environment.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, data), source=source) from None
    if expected_name is not None and env.name != expected_name:
        raise ConfigError(f"'name' must equal the file name {expected_name!r} (value: {env.name!r})", source=source)
    return env


def load_environment(name_or_path: str | Path, directory: Path | None = None) -> Environment:
    """Load ``environments/<name>.yaml`` (or a path to any YAML file) and validate it."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        path = candidate
    else:
        path = (directory or environments_dir()) / f"{name_or_path}.yaml"
    if not path.is_file():
        known = available_environments(directory)
        raise ConfigError(f"no environment file {path} (known environments: {', '.join(known) or 'none'})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"is not valid YAML: {exc}", source=str(path)) from None
    return parse_environment(data, source=str(path), expected_name=path.stem)


def load_environments(names: list[str] | None = None, directory: Path | None = None) -> list[Environment]:
    """Load several environments, collecting every file's problems before raising once."""
    names = names or available_environments(directory)
    loaded: list[Environment] = []
    problems: list[str] = []
    for name in names:
        try:
            loaded.append(load_environment(name, directory))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return loaded


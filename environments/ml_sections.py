"""The ML-plane sections of an environment file: data, training, serving, streaming, drift, model registry.

The ML plane (``features/``, ``training/``, ``bento_services/``) reads these; the rules serving shares with
``sahab serve weights`` are in ``environments.rules``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from environments.names import MODELS, SIGNING_KEY, kms_alias, name_prefix
from environments.rules import weight_problems
from environments.settings_model import SettingsModel


class TrainingConfig(SettingsModel):
    """Training job settings. Small defaults so the local stack trains in seconds on a CPU."""

    epochs: int = Field(default=20, ge=1, description="The most epochs; early stopping usually ends sooner. Default: 20.")
    batch_size: int = Field(default=512, ge=1, description="Global batch size (split across ranks). Default: 512.")
    learning_rate: float = Field(default=3e-3, gt=0, description="Default: 0.003.")
    seed: int = Field(default=7, description="Default: 7.")
    nproc: int = Field(default=1, ge=1, description="Processes (torchrun) for training. Default: 1.")
    device: Literal["cpu", "cuda"] = Field(default="cpu", description="Default: cpu.")
    validation_days: int = Field(default=10, ge=1, description="Last N days held out for validation. Default: 10.")
    early_stopping_days: int = Field(
        default=3, ge=1, description="Last N days of the training window scored after each epoch and not trained on; "
        "the best epoch there is the model. Default: 3.",
    )
    ensemble_members: int = Field(default=3, ge=1, description="Networks trained side by side from different initial "
                                  "weights; the model scores with their mean probability. Default: 3.")
    patience: int = Field(default=3, ge=1, description="Epochs without a better early-stopping score before "
                          "training stops. Default: 3.")
    gradient_boosted_baseline: bool = Field(
        default=True, description="Also fit a gradient-boosted model on the same inputs and report its PR-AUC beside "
        "the network's (seconds on the demo data). Default: true.",
    )


class DataConfig(SettingsModel):
    """Size of the seeded synthetic transaction data set (fraud scoring for a UAE payments SMB)."""

    customers: int = Field(default=6000, ge=10, description="Default: 6000 (enough validation fraud for a PR-AUC "
                           "known to about +-0.03).")
    merchants: int = Field(default=200, ge=5, description="Default: 200.")
    days: int = Field(default=35, ge=8, description="Default: 35.")
    transactions_per_customer_per_day: float = Field(default=1.2, gt=0, description="Default: 1.2.")
    seed: int = Field(default=42, description="Default: 42.")


class VariantConfig(SettingsModel):
    """A served model version and the share of traffic it gets."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="Variant name, e.g. a, b, canary.")
    model_version: str = Field(description="A registered version id, or 'latest' / 'previous'.")
    weight: float = Field(ge=0, le=1, description="Share of traffic, 0..1; weights sum to 1.")


class CanaryConfig(SettingsModel):
    variant: str = Field(description="Which variant is the canary.")
    max_error_rate: float = Field(default=0.05, ge=0, le=1, description="Default: 0.05.")
    max_p95_latency_ms: float = Field(default=250.0, gt=0, description="Default: 250.")
    window_seconds: float = Field(default=60.0, gt=0, description="Sliding window. Default: 60.")
    min_requests: int = Field(default=20, ge=1, description="Requests in window before judging. Default: 20.")


class ServingConfig(SettingsModel):
    """The BentoML fraud-scoring service: variants and routing, runtime tuning, prediction log."""

    host: str = Field(default="127.0.0.1", description="Bind address. Default: 127.0.0.1.")
    auth: Literal["none", "bearer"] | None = Field(
        default=None,
        description="Bearer tokens (stored hashed) on every route but /livez, /readyz, /healthz. "
        "Default: bearer in the cloud, none locally (then 'host' must be a loopback address).",
    )
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
    workers: int = Field(
        default=2, ge=1,
        description="BentoML worker processes: with two, a killed worker leaves the other answering while it restarts. "
        "Default: 2.",
    )
    online_read_timeout_ms: int = Field(
        default=100, ge=5, le=10_000,
        description="Bound on one online-store read (SQLite's lock wait, Redis's socket); past it /score answers 503. "
        "Default: 100.",
    )
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
    allow_feature_overrides: bool | None = Field(
        default=None,
        description="Let a scoring request override online-store features ('features'), within each feature's bound. "
        "A caller who may override features can lower its own score: keep it for what-if analysis on this machine. "
        "Default: true when target is local, false in cloud environments.",
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
        for ref, what in ((self.shadow_variant, "shadow_variant"), (self.canary.variant if self.canary else None, "canary.variant")):
            if ref is not None and ref not in names:
                problems.append(f"'{what}' must name one of the variants {names} (value: {ref!r})")
        weights = {v.name: v.weight for v in self.variants}
        problems += weight_problems(weights, shadow=self.shadow_variant)
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


class StreamingConfig(SettingsModel):
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
        default=500, ge=1, le=100_000,
        description="Events per checkpoint of the ingestor (online write, offline file, offset commit). Default: 500.",
    )
    commit_interval_s: float = Field(
        default=1.0, gt=0, le=60,
        description="Seconds between the ingestor's checkpoints when fewer than 'max_batch_events' arrive. Default: 1.",
    )
    dlq_max_message_bytes: int = Field(
        default=1_000_000, ge=16_384, le=100_000_000,
        description="Largest dead letter the DLQ takes (MSK's default 'max.message.bytes'); a larger rejected event "
        "is dead-lettered as a reference (source, size, sha256, first bytes). Default: 1000000.",
    )
    max_event_bytes: int = Field(
        default=8_388_608, ge=65_536, le=100_000_000,
        description="Largest message the ingestor fetches from the topic; set it to the topic's 'max.message.bytes'. "
        "Default: 8 MiB.",
    )
    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Prometheus /metrics port of `sahab stream ingest`; 0 turns it off. Default: 9464."
    )

    @model_validator(mode="after")
    def _iam_needs_tls(self) -> StreamingConfig:
        if self.auth == "iam" and self.tls is False:
            raise ValueError("'tls' must be true when 'auth' is 'iam' (MSK serves IAM auth on its TLS listener only)")
        return self


class DriftConfig(SettingsModel):
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


class ModelRegistryConfig(SettingsModel):
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

    def signing_key_id(self, env_name: str) -> str:
        """The configured signing key, else the security stack's ``alias/sahab-<env>-models-signing``."""
        return self.signing_key or kms_alias(name_prefix(env_name), SIGNING_KEY)

    def artifact_kms_key_id(self, env_name: str) -> str:
        """The configured artifact key, else the security stack's models CMK ``alias/sahab-<env>-models``."""
        return self.artifact_kms_key or kms_alias(name_prefix(env_name), MODELS)


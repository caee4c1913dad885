"""The ``workloads`` section: the ML plane as it runs on the environment's cluster.

One typed spec per environment, rendered once as Kubernetes objects (``modules/workloads/``) for the
cdktf ``workloads`` layer, the policy gate and the Pulumi engine. Every workload names its image (a
repository of the environment's own ECR in its UAE region, pinned by an immutable tag or a digest), its
resources, its node pool and its scale; the AWS permissions each service account needs follow from
what it does and are written by the stacks, not here.

| workload   | kind                                   | node pool | reads / writes                                   |
|------------|----------------------------------------|-----------|--------------------------------------------------|
| scoring    | Deployment + Service + HPA + PDB       | cpu       | models bucket (read), Redis, MSK (predictions)   |
| scoring-gpu| Deployment (where a gpu pool exists)   | gpu       | as scoring; torch on CUDA                        |
| ingestor   | StatefulSet + Service + PVC + HPA (lag) | cpu       | MSK (transactions), Redis, data bucket           |
| feast-apply| Job                                    | cpu       | data bucket (registry)                           |
| materialize| CronJob                                | cpu       | data bucket (offline), Redis                     |
| training   | Indexed Job + headless Service         | gpu       | data bucket (read), models bucket (write), signing key |
| drift      | CronJob (exit 3 = a failed run)        | cpu       | data bucket (predictions, reference)             |
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from environments.settings_model import SettingsModel

#: An image tag that names one build: no ``latest``, no floating words; letters, digits, ``.``, ``_``, ``-``.
IMMUTABLE_TAG = re.compile(r"^(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
#: Tags that float by convention and so can never pin a build.
FLOATING_TAGS: frozenset[str] = frozenset({"latest", "stable", "main", "master", "dev", "edge", "nightly"})
#: Kubernetes quantities as the API accepts them: ``500m``, ``2``, ``1Gi``, ``512Mi``.
CPU_QUANTITY = r"^\d+(\.\d+)?m?$"
MEMORY_QUANTITY = r"^\d+(Ki|Mi|Gi|Ti)?$"


def floating_tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot pin one build, or None when it can."""
    if tag in FLOATING_TAGS or not IMMUTABLE_TAG.match(tag):
        return (
            f"must be an immutable tag naming one build (letters, digits, '.', '_', '-'; not {sorted(FLOATING_TAGS)}), "
            "or pin the image by 'digest'"
        )
    return None


class ImageRef(SettingsModel):
    """One container image in the environment's ECR: ``<account>.dkr.ecr.<region>.amazonaws.com/sahab-<env>/<repository>``."""

    repository: str = Field(pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*$", description="Repository name inside sahab-<env>/.")
    tag: str | None = Field(default=None, description="Immutable tag (not latest). Default: 'workloads.image_tag'.")
    digest: str | None = Field(
        default=None, pattern=r"^sha256:[0-9a-f]{64}$", description="Pins the image by content; wins over the tag. Default: none."
    )

    @field_validator("tag")
    @classmethod
    def _immutable(cls, value: str | None) -> str | None:
        problem = floating_tag_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class Resources(SettingsModel):
    """Requests and limits of one container (every container gets both: the gate refuses one without)."""

    cpu_request: str = Field(default="250m", pattern=CPU_QUANTITY, description="Default: 250m.")
    cpu_limit: str = Field(default="1", pattern=CPU_QUANTITY, description="Default: 1.")
    memory_request: str = Field(default="512Mi", pattern=MEMORY_QUANTITY, description="Default: 512Mi.")
    memory_limit: str = Field(default="1Gi", pattern=MEMORY_QUANTITY, description="Default: 1Gi.")
    gpus: int = Field(default=0, ge=0, le=8, description="nvidia.com/gpu per container; only on a gpu pool. Default: 0.")


class ScoringWorkload(SettingsModel):
    """The fraud-scoring BentoML service behind a ClusterIP Service, scaled on CPU by an HPA."""

    image: ImageRef = Field(default_factory=lambda: ImageRef(repository="scoring"), description="Default: scoring.")
    node_pool: str = Field(default="cpu", description="Pool the pods run on. Default: cpu.")
    min_replicas: int = Field(default=2, ge=1, description="Also the PDB keeps all but one. Default: 2.")
    max_replicas: int = Field(default=6, ge=1, description="Default: 6.")
    target_cpu_utilization_percent: int = Field(default=70, ge=10, le=100, description="HPA target. Default: 70.")
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu_request="500m", cpu_limit="2", memory_request="1Gi", memory_limit="2Gi"),
        description="Default: 500m-2 CPU, 1-2 GiB.",
    )
    gpu_replicas: int = Field(
        default=0, ge=0,
        description="Replicas of the GPU variant (torch on CUDA), rendered only where a gpu pool exists. Default: 0.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> ScoringWorkload:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"'min_replicas' ({self.min_replicas}) must be <= 'max_replicas' ({self.max_replicas})")
        return self


class IngestorWorkload(SettingsModel):
    """The stream ingestor: a StatefulSet of replicas in one consumer group, scaled on consumer lag.

    Each pod keeps its partitions' state on its own volume (a cache: the changelog topics are the truth), so
    a pod that moves or a replica added restores the state of the partitions it takes (docs/streaming.md).
    """

    image: ImageRef = Field(default_factory=lambda: ImageRef(repository="jobs"), description="Default: jobs.")
    node_pool: str = Field(default="cpu", description="Default: cpu.")
    min_replicas: int = Field(default=1, ge=1, description="Replicas at rest; a PDB keeps all but one. Default: 1.")
    max_replicas: int = Field(
        default=3, ge=1,
        description="At most 'streaming.partitions' (a replica beyond that owns no partition). Default: 3.",
    )
    lag_per_replica: int = Field(
        default=10_000, ge=100,
        description="HPA target: average consumer lag (sahab_ingest_consumer_lag, events) per replica. Default: 10000.",
    )
    state_volume_gib: int = Field(default=10, ge=1, le=1024, description="Persistent volume for window state. Default: 10.")
    storage_class: str = Field(default="gp3", description="StorageClass of the state volume. Default: gp3.")
    resources: Resources = Field(default_factory=Resources, description="Default: 250m-1 CPU, 0.5-1 GiB.")

    @model_validator(mode="after")
    def _bounds(self) -> IngestorWorkload:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"'min_replicas' ({self.min_replicas}) must be <= 'max_replicas' ({self.max_replicas})")
        return self


class FeastJobs(SettingsModel):
    """Feast apply (a Job per deploy) and materialisation of the online store (a CronJob)."""

    image: ImageRef = Field(default_factory=lambda: ImageRef(repository="jobs"), description="Default: jobs.")
    node_pool: str = Field(default="cpu", description="Default: cpu.")
    materialize_schedule: str = Field(
        default="*/30 * * * *", pattern=r"^(\S+\s+){4}\S+$", description="Cron schedule (UTC). Default: every 30 minutes."
    )
    resources: Resources = Field(default_factory=Resources, description="Default: 250m-1 CPU, 0.5-1 GiB.")


class TrainingWorkload(SettingsModel):
    """Training as an Indexed Job on the GPU pool: ``torchrun`` with ``processes_per_node`` on each of ``nodes``."""

    image: ImageRef = Field(default_factory=lambda: ImageRef(repository="jobs"), description="Default: jobs.")
    node_pool: str = Field(default="gpu", description="Default: gpu.")
    nodes: int = Field(
        default=1, ge=1, le=1,
        description="Pods of the Indexed Job, one per node. One today: several need a run folder every pod shares "
        "(checkpoints in the models bucket), which comes with resuming from S3. Default: 1.",
    )
    processes_per_node: int = Field(default=1, ge=1, le=8, description="torchrun processes per pod. Default: 1.")
    backoff_limit: int = Field(default=4, ge=0, description="Retries (a spot loss resumes from checkpoints). Default: 4.")
    ttl_seconds_after_finished: int = Field(default=86400, ge=0, description="Finished Jobs are removed after. Default: 1 day.")
    active_deadline_seconds: int = Field(default=6 * 3600, ge=60, description="Longest a run may take. Default: 6 h.")
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu_request="2", cpu_limit="4", memory_request="8Gi", memory_limit="16Gi", gpus=1),
        description="Per pod. Default: 2-4 CPU, 8-16 GiB, 1 GPU.",
    )


class DriftWorkload(SettingsModel):
    """The drift monitor as a CronJob: a crossed threshold exits 3, a failed run that alerting sees."""

    image: ImageRef = Field(default_factory=lambda: ImageRef(repository="jobs"), description="Default: jobs.")
    node_pool: str = Field(default="cpu", description="Default: cpu.")
    schedule: str = Field(default="15 * * * *", pattern=r"^(\S+\s+){4}\S+$", description="Cron schedule (UTC). Default: hourly.")
    last_minutes: int = Field(default=60, ge=5, description="Window of logged predictions checked. Default: 60.")
    resources: Resources = Field(default_factory=Resources, description="Default: 250m-1 CPU, 0.5-1 GiB.")


class ImagesCiConfig(SettingsModel):
    """Who may push the workloads' images: one GitHub repository's images workflow, through OIDC."""

    github_repository: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/name whose images workflow, run for this environment's GitHub environment, may push to "
        "its ECR repositories (an IAM role trusted through GitHub's OIDC provider). Default: none (no role; push "
        "with credentials of your own).",
    )


class WorkloadsConfig(SettingsModel):
    """The ML plane on the environment's cluster (cloud environments only)."""

    namespace: str = Field(
        default="sahab", pattern=r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$",
        description="Namespace of every workload (Pod Security 'restricted', default-deny network). Default: sahab.",
    )
    image_tag: str = Field(default="0.1.0", description="Tag of every image that sets none. Default: 0.1.0.")
    scoring: ScoringWorkload = Field(default_factory=ScoringWorkload)
    ingestor: IngestorWorkload = Field(default_factory=IngestorWorkload)
    feast: FeastJobs = Field(default_factory=FeastJobs)
    training: TrainingWorkload = Field(default_factory=TrainingWorkload)
    drift: DriftWorkload = Field(default_factory=DriftWorkload)
    images_ci: ImagesCiConfig = Field(default_factory=ImagesCiConfig)

    @field_validator("image_tag")
    @classmethod
    def _immutable_default(cls, value: str) -> str:
        problem = floating_tag_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def by_name(self) -> dict[str, ScoringWorkload | IngestorWorkload | FeastJobs | TrainingWorkload | DriftWorkload]:
        """Every workload by its name, which is also its service account's (and its IRSA role's) name."""
        return {"scoring": self.scoring, "ingestor": self.ingestor, "feast": self.feast, "training": self.training,
                "drift": self.drift}

    def repositories(self) -> list[str]:
        """The ECR repositories the workloads pull from (the compute layer creates one each)."""
        return sorted({workload.image.repository for workload in self.by_name().values()})

    def placements(self) -> dict[str, tuple[str, int]]:
        """Each workload's node pool and the GPUs its containers ask for (checked against the environment's pools)."""
        return {name: (workload.node_pool, workload.resources.gpus) for name, workload in self.by_name().items()}

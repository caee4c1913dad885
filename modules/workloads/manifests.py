"""Render an environment's ``workloads`` spec as Kubernetes objects: the canonical form, rendered once.

``render_workloads(env)`` returns plain objects (camelCase, as the API takes them), in apply order. Three
consumers take this one list, so no workload is defined twice: the cdktf ``workloads`` layer
(``stacks/workloads.py``), the policy gate (Checkov's Kubernetes framework and the ``CKV_SAHAB`` checks on
the written manifests) and the Pulumi engine for clusters Sahab did not build. Pods read the environment
file from a ConfigMap (``--env /etc/sahab/<env>.yaml``), with the values a pod needs changed: the data folder
(a volume), the scoring bind address (the pod's network, behind a ClusterIP Service) and the ingestor's
metrics port (always on in a pod: its probes and lag-based scaling read it).
"""

from __future__ import annotations

from typing import Any

import yaml

from environments import Environment, NodePoolKind, names, telemetry
from environments.errors import ConfigError
from environments.workload_sections import ImageRef, Resources
from modules.workloads import network_policies
from modules.workloads.pod_templates import CONFIG_DIR, DATA_DIR, container, labels, metadata, pod_spec, selector

#: Ports: the BentoML service, torchrun's c10d rendezvous, the ingestor's Prometheus metrics (its probes too).
SCORING_PORT = 3000
RENDEZVOUS_PORT = 29400
DEFAULT_METRICS_PORT = 9464
CONFIG_MAP = "sahab-environment"
#: The live traffic weights of a cloud environment (``sahab serve weights``): an optional ConfigMap, absent until
#: weights are set, mounted where the service looks for its weights file (``<data>/run/weights.json``), so every
#: scoring pod sees a change within the kubelet's sync period and none needs a restart.
WEIGHTS_CONFIG_MAP = "sahab-serving-weights"
#: Environment of every container: no usage data leaves the cluster, Python writes no bytecode.
QUIET = {**telemetry.OFF, "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}


class WorkloadRenderer:
    """Builds the objects of one cloud environment; one method per workload, each returning its objects."""

    def __init__(self, env: Environment) -> None:
        if not env.is_cloud or env.account_id is None:
            raise ConfigError(f"environment {env.name!r} has no cluster workloads: they need 'target: aws' and an 'account_id'")
        self.env = env
        self.spec = env.workloads
        self.namespace = env.workloads.namespace
        self.env_file = f"{CONFIG_DIR}/{env.name}.yaml"

    # ---- shared ---------------------------------------------------------------------------------
    def image(self, ref: ImageRef) -> str:
        repository = f"{names.ecr_registry(self.env.account_id or '', self.env.region)}/{names.ecr_repository(self.env.name, ref.repository)}"
        return f"{repository}@{ref.digest}" if ref.digest else f"{repository}:{ref.tag or self.spec.image_tag}"

    def labels(self, component: str) -> dict[str, str]:
        return labels(self.env.name, component)

    @property
    def metrics_port(self) -> int:
        return self.env.streaming.metrics_port or DEFAULT_METRICS_PORT

    def is_gpu_pool(self, pool: str) -> bool:
        return self.env.node_pools[pool].kind is NodePoolKind.gpu

    def sahab_container(self, name: str, ref: ImageRef, spec: Resources, args: list[str], **extra: Any) -> dict[str, Any]:
        """A container of the jobs image running one ``sahab`` command against the mounted environment file."""
        return container(name, self.image(ref), command=["sahab"], args=[*args, "--env", self.env_file], spec=spec,
                         env=QUIET, **extra)

    def pod(self, component: str, pool: str, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return pod_spec(service_account=component, containers=containers, config_map=CONFIG_MAP, pool_name=pool,
                        pool_is_gpu=self.is_gpu_pool(pool), **extra)

    def template(self, component: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"labels": self.labels(component)}, "spec": spec}

    # ---- the namespace and what every workload shares ------------------------------------------
    def namespace_objects(self) -> list[dict[str, Any]]:
        pss = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
        pss["pod-security.kubernetes.io/enforce-version"] = "latest"
        namespace = {"apiVersion": "v1", "kind": "Namespace",
                     "metadata": metadata(self.namespace, None, {**self.labels("namespace"), **pss})}
        in_pod = self.env.model_copy(update={
            "data_dir": DATA_DIR,
            "serving": self.env.serving.model_copy(update={"host": "0.0.0.0"}),  # noqa: S104 (the pod's own network)
            "streaming": self.env.streaming.model_copy(update={"metrics_port": self.metrics_port}),
        })
        config = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": metadata(CONFIG_MAP, self.namespace, self.labels("config")),
                  "data": {f"{self.env.name}.yaml": yaml.safe_dump(in_pod.model_dump(mode="json"), sort_keys=True)}}
        accounts = [self.service_account(component) for component in self.spec.by_name()]
        return [namespace, config, *accounts]

    def service_account(self, component: str) -> dict[str, Any]:
        role = names.iam_role_arn(self.env.account_id or "", names.workload_role_name(self.env.name, component))
        return {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
                "metadata": metadata(component, self.namespace, self.labels(component),
                                     annotations={"eks.amazonaws.com/role-arn": role})}

    # ---- workloads ------------------------------------------------------------------------------
    def scoring(self) -> list[dict[str, Any]]:
        spec = self.spec.scoring
        probes = {
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": SCORING_PORT}, "periodSeconds": 5},
            "livenessProbe": {"httpGet": {"path": "/livez", "port": SCORING_PORT}, "periodSeconds": 10,
                              "initialDelaySeconds": 20},
        }
        # BentoML keeps its home under the data volume: the root filesystem is read-only
        service_env = {**QUIET, "SAHAB_ENV": self.env_file, "BENTOML_HOME": f"{DATA_DIR}/bentoml"}

        def deployment(name: str, pool: str, replicas: int, resources: Resources) -> dict[str, Any]:
            serving = container("scoring", self.image(spec.image), args=[], spec=resources, env=service_env,
                                ports=[{"name": "http", "containerPort": SCORING_PORT}], probes=probes,
                                extra_mounts=[{"name": "weights", "mountPath": f"{DATA_DIR}/run", "readOnly": True}])
            weights = {"name": "weights", "configMap": {"name": WEIGHTS_CONFIG_MAP, "optional": True}}
            pod = self.pod("scoring", pool, [serving], extra_volumes=[weights], extra={"topologySpreadConstraints": [{
                "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector(self.env.name, name)},
            }]})
            pod["serviceAccountName"] = "scoring"
            return {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": metadata(name, self.namespace, self.labels(name)),
                    "spec": {"replicas": replicas, "selector": {"matchLabels": selector(self.env.name, name)},
                             "template": self.template(name, pod)}}

        objects = [
            deployment("scoring", spec.node_pool, spec.min_replicas, spec.resources),
            {"apiVersion": "v1", "kind": "Service", "metadata": metadata("scoring", self.namespace, self.labels("scoring")),
             "spec": {"type": "ClusterIP", "selector": selector(self.env.name, "scoring"),
                      "ports": [{"name": "http", "port": 80, "targetPort": SCORING_PORT, "protocol": "TCP"}]}},
            {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
             "metadata": metadata("scoring", self.namespace, self.labels("scoring")),
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scoring"},
                      "minReplicas": spec.min_replicas, "maxReplicas": spec.max_replicas,
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": spec.target_cpu_utilization_percent}}}]}},
            {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": metadata("scoring", self.namespace, self.labels("scoring")),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(self.env.name, "scoring")}}},
        ]
        gpu_pools = [name for name, pool in self.env.node_pools.items() if pool.kind is NodePoolKind.gpu]
        if gpu_pools:
            gpu_resources = spec.resources.model_copy(update={"gpus": 1})
            objects.append(deployment("scoring-gpu", gpu_pools[0], spec.gpu_replicas, gpu_resources))
        return objects

    def ingestor(self) -> list[dict[str, Any]]:
        spec = self.spec.ingestor
        metrics = {"httpGet": {"path": "/metrics", "port": self.metrics_port}}
        ingest = self.sahab_container(
            "ingestor", spec.image, spec.resources, ["stream", "ingest"],
            ports=[{"name": "metrics", "containerPort": self.metrics_port}],
            probes={"readinessProbe": {**metrics, "periodSeconds": 10},
                    "livenessProbe": {**metrics, "periodSeconds": 20, "initialDelaySeconds": 30}},
        )
        pod = self.pod("ingestor", spec.node_pool, [ingest], data_volume={})
        claim = {"metadata": {"name": "data", "labels": self.labels("ingestor")},
                 "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": spec.storage_class,
                          "resources": {"requests": {"storage": f"{spec.state_volume_gib}Gi"}}}}
        return [
            {"apiVersion": "v1", "kind": "Service", "metadata": metadata("ingestor", self.namespace, self.labels("ingestor")),
             "spec": {"clusterIP": "None", "selector": selector(self.env.name, "ingestor"),
                      "ports": [{"name": "metrics", "port": self.metrics_port}]}},
            {"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": metadata("ingestor", self.namespace, self.labels("ingestor")),
             "spec": {"serviceName": "ingestor", "replicas": spec.min_replicas, "podManagementPolicy": "Parallel",
                      "selector": {"matchLabels": selector(self.env.name, "ingestor")},
                      "template": self.template("ingestor", pod), "volumeClaimTemplates": [claim]}},
            # Scaled on the lag each replica exports for its partitions (a Pods metric: the cluster's metrics
            # adapter serves sahab_ingest_consumer_lag from Prometheus), never past the topic's partitions.
            {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
             "metadata": metadata("ingestor", self.namespace, self.labels("ingestor")),
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ingestor"},
                      "minReplicas": spec.min_replicas, "maxReplicas": spec.max_replicas,
                      "metrics": [{"type": "Pods", "pods": {
                          "metric": {"name": "sahab_ingest_consumer_lag"},
                          "target": {"type": "AverageValue", "averageValue": str(spec.lag_per_replica)}}}]}},
            {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": metadata("ingestor", self.namespace, self.labels("ingestor")),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(self.env.name, "ingestor")}}},
        ]

    def feast(self) -> list[dict[str, Any]]:
        spec = self.spec.feast
        apply_pod = self.pod("feast", spec.node_pool,
                             [self.sahab_container("feast-apply", spec.image, spec.resources, ["features", "apply"])],
                             restart_policy="OnFailure")
        materialize_pod = self.pod("feast", spec.node_pool,
                                   [self.sahab_container("materialize", spec.image, spec.resources, ["features", "materialize"])],
                                   restart_policy="OnFailure")
        return [
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata("feast-apply", self.namespace, self.labels("feast")),
             "spec": {"backoffLimit": 3, "ttlSecondsAfterFinished": 86400, "template": self.template("feast", apply_pod)}},
            {"apiVersion": "batch/v1", "kind": "CronJob",
             "metadata": metadata("feast-materialize", self.namespace, self.labels("feast")),
             "spec": {"schedule": spec.materialize_schedule, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
                      "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 5,
                      "jobTemplate": {"spec": {"backoffLimit": 2, "template": self.template("feast", materialize_pod)}}}},
        ]

    def training(self) -> list[dict[str, Any]]:
        """An Indexed Job with a headless Service (stable pod names for torchrun's rendezvous), applied suspended.

        Applying the layer starts no training: ``sahab train --remote`` resumes this Job, or runs a copy of it
        under a new name once it has finished.
        """
        spec = self.spec.training
        train = self.sahab_container(
            "training", spec.image, spec.resources,
            ["train", "--nproc", str(spec.processes_per_node), "--device", "cuda" if spec.resources.gpus else "cpu"],
            ports=[{"name": "rendezvous", "containerPort": RENDEZVOUS_PORT}],
        )
        pod = self.pod("training", spec.node_pool, [train], restart_policy="Never", extra={"subdomain": "training"})
        return [
            {"apiVersion": "v1", "kind": "Service", "metadata": metadata("training", self.namespace, self.labels("training")),
             "spec": {"clusterIP": "None", "selector": selector(self.env.name, "training"),
                      "ports": [{"name": "rendezvous", "port": RENDEZVOUS_PORT}]}},
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata("training", self.namespace, self.labels("training")),
             "spec": {"completionMode": "Indexed", "completions": spec.nodes, "parallelism": spec.nodes,
                      "backoffLimit": spec.backoff_limit, "ttlSecondsAfterFinished": spec.ttl_seconds_after_finished,
                      "activeDeadlineSeconds": spec.active_deadline_seconds, "suspend": True,
                      "template": self.template("training", pod)}},
        ]

    def drift(self) -> list[dict[str, Any]]:
        spec = self.spec.drift
        check = self.sahab_container("drift", spec.image, spec.resources, ["drift", "--last-minutes", str(spec.last_minutes)])
        pod = self.pod("drift", spec.node_pool, [check], restart_policy="Never")
        return [{"apiVersion": "batch/v1", "kind": "CronJob",
                 "metadata": metadata("drift", self.namespace, self.labels("drift")),
                 "spec": {"schedule": spec.schedule, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
                          "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 10,
                          "jobTemplate": {"spec": {"backoffLimit": 0, "template": self.template("drift", pod)}}}}]

    def render(self) -> list[dict[str, Any]]:
        network = self.env.network
        assert network is not None  # a cloud environment always has one (schema)
        return [
            *self.namespace_objects(),
            *network_policies.render(self.env.name, self.namespace, vpc_cidr=network.vpc_cidr, scoring_port=SCORING_PORT),
            *self.scoring(), *self.ingestor(), *self.feast(), *self.training(), *self.drift(),
        ]


def render_workloads(env: Environment) -> list[dict[str, Any]]:
    """Every Kubernetes object of ``env``'s workloads, in apply order (namespace first)."""
    return WorkloadRenderer(env).render()


def object_key(obj: dict[str, Any]) -> str:
    """``<Kind>/<namespace>/<name>``: how an object is named in stacks, reports and tests."""
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '-')}/{meta['name']}"

"""The workloads spec rendered as Kubernetes objects: valid for the cluster's version, hardened, placed right."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

from environments import load_environment, load_environments, parse_environment, project_root
from environments.errors import ConfigError
from modules.workloads.manifests import render_workloads

CLOUD = [e for e in load_environments() if e.is_cloud]


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    return [spec["template"]["spec"]] if "template" in spec else []


def containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(obj["metadata"]["name"], c) for obj in objects for pod in pod_specs(obj) for c in pod["containers"]]


@pytest.mark.parametrize("env", CLOUD, ids=lambda e: e.name)
def test_every_rendered_object_validates_against_the_clusters_kubernetes_schema(env) -> None:
    objects = render_workloads(env)
    for obj in objects:
        kubernetes_validate.validate(obj, env.eks.version, strict=True)
    assert len(objects) >= 20


def test_the_schema_validation_would_catch_a_malformed_object() -> None:
    env = load_environment("smb")
    deployment = copy.deepcopy(next(o for o in render_workloads(env) if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="runAsNonroot"):
        kubernetes_validate.validate(deployment, env.eks.version, strict=True)


def test_smb_renders_each_workload_of_the_spec_in_apply_order() -> None:
    keys = [(o["kind"], o["metadata"]["name"]) for o in render_workloads(load_environment("smb"))]
    assert keys[0] == ("Namespace", "sahab") and keys[1] == ("ConfigMap", "sahab-environment")
    assert {("Deployment", "scoring"), ("HorizontalPodAutoscaler", "scoring"), ("PodDisruptionBudget", "scoring"),
            ("Deployment", "scoring-gpu"), ("StatefulSet", "ingestor"), ("Job", "feast-apply"),
            ("CronJob", "feast-materialize"), ("Job", "training"), ("CronJob", "drift")} <= set(keys)
    assert keys.index(("NetworkPolicy", "default-deny")) < keys.index(("Deployment", "scoring"))


@pytest.mark.parametrize("env", CLOUD, ids=lambda e: e.name)
def test_every_container_runs_unprivileged_on_a_read_only_root_with_limits(env) -> None:
    for name, container in containers(render_workloads(env)):
        context = container["securityContext"]
        assert context["runAsNonRoot"] and context["runAsUser"] >= 10000, name
        assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"], name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name


@pytest.mark.parametrize("env", CLOUD, ids=lambda e: e.name)
def test_every_image_comes_from_the_environments_ecr_in_its_region_pinned_by_tag(env) -> None:
    registry = f"{env.account_id}.dkr.ecr.{env.region}.amazonaws.com/sahab-{env.name}/"
    for name, container in containers(render_workloads(env)):
        assert container["image"].startswith(registry), name
        assert not container["image"].endswith(":latest") and ":" in container["image"].removeprefix(registry), name


def test_only_gpu_workloads_ask_for_gpus_and_they_run_on_the_gpu_pool_tolerating_its_taint() -> None:
    objects = render_workloads(load_environment("prod"))
    asking = set()
    for obj in objects:
        for pod in pod_specs(obj):
            gpus = [c for c in pod["containers"] if "nvidia.com/gpu" in c["resources"]["limits"]]
            if gpus:
                asking.add(obj["metadata"]["name"])
                assert pod["nodeSelector"] == {"sahab.io/pool": "gpu", "nvidia.com/gpu.present": "true"}
                assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in pod["tolerations"]
            else:
                assert "tolerations" not in pod and pod["nodeSelector"] == {"sahab.io/pool": "cpu"}
    assert asking == {"scoring-gpu", "training"}


def test_the_namespace_enforces_pod_security_restricted_and_denies_all_traffic_by_default() -> None:
    objects = render_workloads(load_environment("smb"))
    namespace = objects[0]["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = next(o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_each_service_account_is_annotated_with_its_own_irsa_role() -> None:
    accounts = [o for o in render_workloads(load_environment("smb")) if o["kind"] == "ServiceAccount"]
    roles = {a["metadata"]["name"]: a["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] for a in accounts}
    assert roles["training"] == "arn:aws:iam::111122223333:role/sahab-smb-wl-training"
    assert len(set(roles.values())) == len(roles) == 5


def test_pods_read_the_environment_file_with_a_pod_data_folder_and_bind_address() -> None:
    env = load_environment("smb")
    config = render_workloads(env)[1]
    in_pod = parse_environment(yaml.safe_load(config["data"]["smb.yaml"]), expected_name="smb")
    assert in_pod.data_dir == "/var/lib/sahab" and in_pod.serving.host == "0.0.0.0"
    assert in_pod.streaming.metrics_port == (env.streaming.metrics_port or 9464)
    assert in_pod.model_copy(update={"data_dir": env.data_dir, "serving": env.serving, "streaming": env.streaming}) == env


def test_the_ingestor_scales_on_consumer_lag_between_its_bounds_with_a_volume_per_replica() -> None:
    env = load_environment("prod")
    objects = {(o["kind"], o["metadata"]["name"]): o for o in render_workloads(env)}
    spec = env.workloads.ingestor
    hpa = objects[("HorizontalPodAutoscaler", "ingestor")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ingestor"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (spec.min_replicas, spec.max_replicas)
    assert spec.max_replicas <= env.streaming.partitions
    assert hpa["metrics"] == [{"type": "Pods", "pods": {"metric": {"name": "sahab_ingest_consumer_lag"},
                                                       "target": {"type": "AverageValue", "averageValue": str(spec.lag_per_replica)}}}]
    stateful = objects[("StatefulSet", "ingestor")]["spec"]
    assert stateful["replicas"] == spec.min_replicas and stateful["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert objects[("PodDisruptionBudget", "ingestor")]["spec"]["maxUnavailable"] == 1


def test_a_local_environment_has_no_cluster_workloads() -> None:
    with pytest.raises(ConfigError, match="'target: aws' and an 'account_id'"):
        render_workloads(load_environment("local"))


def _smb(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((project_root() / "environments" / "smb.yaml").read_text())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"workloads__scoring__node_pool": "arm"}, "'workloads.scoring.node_pool' must name one of the node pools ['cpu', 'gpu'] (value: 'arm')"),
    ({"workloads__drift__resources": {"gpus": 1}}, "'workloads.drift.resources.gpus' must be 0 on the cpu pool 'cpu'"),
    ({"workloads__image_tag": "latest"}, "'workloads.image_tag': must be an immutable tag"),
    ({"workloads__scoring__image": {"repository": "scoring", "tag": "main"}}, "'workloads.scoring.image.tag': must be an immutable tag"),
    ({"account_id": None}, "'account_id' is required when 'target' is 'aws'"),
    ({"workloads__ingestor__max_replicas": 4}, "'workloads.ingestor.max_replicas' (4) must be <= 'streaming.partitions' (3)"),
    ({"workloads__ingestor__min_replicas": 3, "workloads__ingestor__max_replicas": 2}, "'min_replicas' (3) must be <= 'max_replicas' (2)"),
])
def test_the_schema_refuses_a_workload_spec_that_cannot_run(changes, message) -> None:
    data = _smb(**changes)
    if data.get("account_id") is None:
        data.pop("account_id", None)
    with pytest.raises(ConfigError) as refused:
        parse_environment(data, source="smb.yaml")
    assert message in str(refused.value)

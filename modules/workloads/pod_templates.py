"""Hardened pod and container templates: the one place that makes a pod fit Pod Security ``restricted``.

Every workload's pod is built here, so the controls hold for all of them at once and the gate's checks
(Checkov's CKV_K8S and ours) have one thing to prove:

| control                         | how                                                                 |
|---------------------------------|---------------------------------------------------------------------|
| non-root, high UID              | ``runAsNonRoot``, ``runAsUser``/``runAsGroup`` 10001, ``fsGroup``   |
| no privilege escalation, no caps| ``allowPrivilegeEscalation: false``, ``capabilities.drop: [ALL]``   |
| immutable root filesystem       | ``readOnlyRootFilesystem``; ``/tmp`` and the data folder are volumes |
| seccomp                         | ``RuntimeDefault``                                                  |
| no API token in the pod         | ``automountServiceAccountToken: false`` (IRSA mounts its own token) |
| limits                          | requests and limits on every container                              |
| placement                       | ``nodeSelector sahab.io/pool`` (+ ``nvidia.com/gpu.present`` on GPU pools, whose taint they tolerate) |
"""

from __future__ import annotations

from typing import Any

from environments.workload_sections import Resources

#: UID/GID every container runs as (above 10000, so it never maps to a host user).
RUN_AS_USER = 10001
#: Where pods find the environment file (``--env /etc/sahab/<env>.yaml``) and keep their working data.
CONFIG_DIR = "/etc/sahab"
DATA_DIR = "/var/lib/sahab"
#: Labels the node pools put on their nodes (``modules/node_pool.py``): every node its pool, GPU nodes also this.
POOL_LABEL = "sahab.io/pool"
GPU_NODE_LABEL = "nvidia.com/gpu.present"
GPU_RESOURCE = "nvidia.com/gpu"


def labels(env_name: str, component: str) -> dict[str, str]:
    """The labels every object of one workload carries (selectors use ``name`` + ``instance``)."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": env_name,
        "app.kubernetes.io/part-of": "sahab",
        "app.kubernetes.io/managed-by": "sahab",
    }


def selector(env_name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component, "app.kubernetes.io/instance": env_name}


def metadata(name: str, namespace: str | None, object_labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "labels": dict(object_labels), **extra}
    if namespace is not None:
        body["namespace"] = namespace
    return body


def resources(spec: Resources) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": spec.cpu_limit, "memory": spec.memory_limit}
    requests: dict[str, Any] = {"cpu": spec.cpu_request, "memory": spec.memory_request}
    if spec.gpus:
        limits[GPU_RESOURCE] = str(spec.gpus)
        requests[GPU_RESOURCE] = str(spec.gpus)
    return {"limits": limits, "requests": requests}


def container(
    name: str,
    image: str,
    *,
    args: list[str],
    spec: Resources,
    env: dict[str, str],
    ports: list[dict[str, Any]] | None = None,
    probes: dict[str, Any] | None = None,
    extra_mounts: list[dict[str, Any]] | None = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """A container that runs as the unprivileged user on a read-only root filesystem."""
    body: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "Always",
        "args": list(args),
        "env": [{"name": key, "value": value} for key, value in sorted(env.items())],
        "resources": resources(spec),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "data", "mountPath": DATA_DIR},
            *(extra_mounts or []),
        ],
    }
    if command:
        body["command"] = list(command)
    if ports:
        body["ports"] = ports
    if probes:
        body.update(probes)
    return body


def pod_spec(
    *,
    service_account: str,
    containers: list[dict[str, Any]],
    config_map: str,
    pool_name: str,
    pool_is_gpu: bool,
    restart_policy: str = "Always",
    data_volume: dict[str, Any] | None = None,
    extra_volumes: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pod spec on one node pool with the environment file mounted read-only and writable scratch volumes.

    ``data_volume`` is the data folder's volume; ``None`` gives an ``emptyDir`` (a StatefulSet mounts its
    claim instead and passes ``{}`` to add none here).
    """
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": config_map}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
    ]
    if data_volume is None:
        volumes.append({"name": "data", "emptyDir": {"sizeLimit": "20Gi"}})
    elif data_volume:
        volumes.append(data_volume)
    volumes += extra_volumes or []
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "restartPolicy": restart_policy,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "nodeSelector": {POOL_LABEL: pool_name, **({GPU_NODE_LABEL: "true"} if pool_is_gpu else {})},
        "containers": containers,
        "volumes": volumes,
    }
    if pool_is_gpu:
        spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    spec.update(extra or {})
    return spec

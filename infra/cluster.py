"""Cluster operations with the ``kubernetes`` client: connect, read what runs, run the training Job, set weights.

``sahab status ENV``, ``sahab train --env ENV --remote`` and ``sahab serve weights --env ENV`` call these. They read and change only the objects
``render_workloads(env)`` describes, in its namespace, and they refuse clearly before doing anything when no
kubeconfig exists (``ConfigError``, exit 2) or the cluster does not answer (``CommandFailed``, exit 1).

The training Job is applied suspended by the workloads layer: the first remote run resumes it; once it has
finished, a run creates a copy named ``training-<UTC time>`` from the same rendered object. Live traffic
weights are the ConfigMap ``sahab-serving-weights`` (``modules.workloads.manifests.WEIGHTS_CONFIG_MAP``),
which every scoring pod mounts where the service reads its weights file; deleting it returns the pods to the
environment file's weights.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bento_services.weights_file import WEIGHTS_FILE_NAME, WeightsState
from environments import Environment
from environments.errors import CommandFailed, ConfigError

#: Kinds whose state ``sahab status`` reports (the others are configuration).
RUNNING_KINDS: tuple[str, ...] = ("Deployment", "StatefulSet", "CronJob", "Job")
TRAINING_JOB = "training"
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class WorkloadState:
    """One running object as the cluster reports it, beside what the environment's spec wants."""

    kind: str
    name: str
    state: str
    """``2/2 ready``, ``suspended``, ``succeeded``, ``last run 2026-12-01T05:00Z``, ``missing (not applied)``."""
    images: tuple[str, ...]
    matches_spec: bool
    """The cluster runs the images the spec renders (False: an old or hand-edited rollout)."""
    ready: bool = True
    """A Deployment or StatefulSet with every replica ready (Jobs and CronJobs: always, they run on demand)."""


@dataclass(frozen=True)
class TrainingRun:
    job: str
    succeeded: bool
    detail: str


def find_kubeconfig(kubeconfig: Path | None = None) -> Path:
    """The kubeconfig to use: the one given, else the first of ``$KUBECONFIG``, else ``~/.kube/config``."""
    path = kubeconfig or Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()
    if not path.is_file():
        raise ConfigError(f"no kubeconfig at {path}: point --kubeconfig (or KUBECONFIG) at the cluster")
    return path


def connect(kubeconfig: Path | None = None, context: str | None = None) -> Any:
    """An API client for the cluster of ``kubeconfig``/``context``, proven reachable (``GET /version``)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = find_kubeconfig(kubeconfig)
    try:
        api = config.new_client_from_config(config_file=str(path), context=context, persist_config=False)
    except (ConfigException, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} cannot be used{f' with context {context!r}' if context else ''}: {exc}") from None
    host = api.configuration.host
    try:
        client.VersionApi(api).get_code(_request_timeout=REQUEST_TIMEOUT_S)
    except Exception as exc:  # urllib3 and the client raise many kinds; any of them means "not reachable"
        raise CommandFailed(f"cannot reach the cluster at {host} (from {path}): {type(exc).__name__}: {exc}") from None
    return api


def workload_status(env: Environment, api: Any) -> list[WorkloadState]:
    """What each running workload of ``env`` is doing on the cluster, in the spec's order."""
    from modules.workloads.manifests import render_workloads

    return [_state(api, obj) for obj in render_workloads(env) if obj["kind"] in RUNNING_KINDS]


def run_training(
    env: Environment,
    api: Any,
    *,
    say: Callable[[str], None] = lambda _line: None,
    timeout_s: float = 6 * 3600,
    poll_s: float = 5.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TrainingRun:
    """Start the training Job (resume the suspended one, or copy a finished one) and follow it to its end.

    Log lines of the Job's pods are passed to ``say`` as they appear.
    """
    from kubernetes import client

    batch = client.BatchV1Api(api)
    namespace = env.workloads.namespace
    job = _read(lambda: batch.read_namespaced_job(TRAINING_JOB, namespace, _request_timeout=REQUEST_TIMEOUT_S))
    if job is None:
        raise CommandFailed(
            f"no Job {TRAINING_JOB!r} in namespace {namespace!r}: apply the workloads layer first "
            f"(`sahab deploy {env.name} --layer workloads`)"
        )
    name = TRAINING_JOB
    if job.spec.suspend:
        batch.patch_namespaced_job(name, namespace, {"spec": {"suspend": False}}, _request_timeout=REQUEST_TIMEOUT_S)
        say(f"resumed Job {namespace}/{name}")
    elif _finished(job) is not None:
        name = f"{TRAINING_JOB}-{now():%Y%m%d-%H%M%S}"
        batch.create_namespaced_job(namespace, training_job_copy(env, name), _request_timeout=REQUEST_TIMEOUT_S)
        say(f"created Job {namespace}/{name} (a copy of the finished {TRAINING_JOB!r})")
    else:
        say(f"following the running Job {namespace}/{name}")
    return follow_job(api, namespace, name, say=say, timeout_s=timeout_s, poll_s=poll_s)


class ClusterWeights:
    """The live weights of a cloud environment, as ``WeightsFile`` offers them locally: read, write, remove.

    Stored in the ConfigMap every scoring pod mounts where the service reads its weights file; the kubelet
    brings a change to every pod within its sync period (about a minute), no restart needed.
    """

    def __init__(self, env: Environment, api: Any) -> None:
        from kubernetes import client

        from modules.workloads.manifests import WEIGHTS_CONFIG_MAP, WorkloadRenderer

        self.core = client.CoreV1Api(api)
        self.namespace, self.name = env.workloads.namespace, WEIGHTS_CONFIG_MAP
        self.labels = WorkloadRenderer(env).labels("scoring")

    @property
    def where(self) -> str:
        return f"ConfigMap {self.namespace}/{self.name}"

    def read(self) -> WeightsState | None:
        """The run-time weights set on the cluster, or None when the environment file's weights are in force."""
        found = self._get()
        text = (found.data or {}).get(WEIGHTS_FILE_NAME) if found is not None else None
        return WeightsState.from_json(text, source=self.where) if text else None

    def write(self, state: WeightsState) -> None:
        """Create the ConfigMap, or replace its content."""
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": self.labels},
                "data": {WEIGHTS_FILE_NAME: state.to_json()}}
        if self._get() is None:
            self.core.create_namespaced_config_map(self.namespace, body, _request_timeout=REQUEST_TIMEOUT_S)
        else:
            self.core.replace_namespaced_config_map(self.name, self.namespace, body, _request_timeout=REQUEST_TIMEOUT_S)

    def remove(self) -> bool:
        """Back to the environment file's weights; False when none were set."""
        deleted = _read(lambda: self.core.delete_namespaced_config_map(self.name, self.namespace,
                                                                       _request_timeout=REQUEST_TIMEOUT_S))
        return deleted is not None

    def _get(self) -> Any:
        return _read(lambda: self.core.read_namespaced_config_map(self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT_S))


def training_job_copy(env: Environment, name: str) -> dict[str, Any]:
    """The rendered training Job under a new name, not suspended: a new run of the same spec."""
    from modules.workloads.manifests import render_workloads

    (job,) = [o for o in render_workloads(env) if o["kind"] == "Job" and o["metadata"]["name"] == TRAINING_JOB]
    job = copy.deepcopy(job)
    job["metadata"]["name"] = name
    job["spec"]["suspend"] = False
    return job


# ---- internals ------------------------------------------------------------------------------------

def _read(call: Callable[[], Any]) -> Any:
    """The object, or None when the API answers 404."""
    from kubernetes.client.exceptions import ApiException

    try:
        return call()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise CommandFailed(f"the cluster refused the request: {exc.status} {exc.reason}") from None


def _state(api: Any, obj: dict[str, Any]) -> WorkloadState:
    from kubernetes import client

    kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]
    readers = {
        "Deployment": client.AppsV1Api(api).read_namespaced_deployment,
        "StatefulSet": client.AppsV1Api(api).read_namespaced_stateful_set,
        "Job": client.BatchV1Api(api).read_namespaced_job,
        "CronJob": client.BatchV1Api(api).read_namespaced_cron_job,
    }
    found = _read(lambda: readers[kind](name, namespace, _request_timeout=REQUEST_TIMEOUT_S))
    wanted = tuple(c["image"] for c in _pod_spec(obj)["containers"])
    long_running = kind in ("Deployment", "StatefulSet")
    if found is None:
        return WorkloadState(kind, name, "missing (not applied)", (), False, ready=not long_running)
    pod = found.spec.job_template.spec.template.spec if kind == "CronJob" else found.spec.template.spec
    images = tuple(c.image for c in pod.containers)
    ready = not long_running or (found.spec.replicas or 0) <= ((found.status.ready_replicas or 0) if found.status else 0)
    return WorkloadState(kind, name, _describe(kind, found), images, images == wanted, ready=ready)


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return spec["template"]["spec"]


def _describe(kind: str, found: Any) -> str:
    status = found.status
    if kind in ("Deployment", "StatefulSet"):
        return f"{(status.ready_replicas if status else 0) or 0}/{found.spec.replicas or 0} ready"
    if kind == "CronJob":
        last = status.last_schedule_time if status else None
        return f"last run {last:%Y-%m-%dT%H:%MZ}" if last else "not run yet"
    if found.spec.suspend:
        return "suspended"
    return _finished(found) or f"{(status.active if status else 0) or 0} active"


def _finished(job: Any) -> str | None:
    """``succeeded`` or ``failed: <reason>`` once the Job has ended (its Complete/Failed condition), else None."""
    for condition in (job.status.conditions or []) if job.status else []:
        if condition.status == "True" and condition.type == "Complete":
            return "succeeded"
        if condition.status == "True" and condition.type == "Failed":
            return f"failed: {condition.reason or ''} {condition.message or ''}".strip()
    return None


def follow_job(api: Any, namespace: str, name: str, *, say: Callable[[str], None], timeout_s: float, poll_s: float) -> TrainingRun:
    """Follow the Job ``name`` to its end, passing each new log line of its pods to ``say`` as ``<pod>: <line>``."""
    from kubernetes import client

    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    printed: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    while True:
        # the Job's state before its logs: lines written just before it ended are read after, never lost
        ended = _finished(batch.read_namespaced_job(name, namespace, _request_timeout=REQUEST_TIMEOUT_S))
        for pod in core.list_namespaced_pod(namespace, label_selector=f"job-name={name}",
                                            _request_timeout=REQUEST_TIMEOUT_S).items:
            pod_name = pod.metadata.name
            log = _read(lambda: core.read_namespaced_pod_log(pod_name, namespace, _request_timeout=REQUEST_TIMEOUT_S))
            lines = (log or "").splitlines()
            for line in lines[printed.get(pod_name, 0):]:
                say(f"{pod_name}: {line}")
            printed[pod_name] = len(lines)
        if ended is not None:
            return TrainingRun(job=name, succeeded=ended == "succeeded", detail=ended)
        if time.monotonic() > deadline:
            raise CommandFailed(f"the Job {namespace}/{name} did not finish within {timeout_s:g} s; it keeps running")
        time.sleep(poll_s)

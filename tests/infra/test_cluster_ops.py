"""Cluster operations against a local HTTP server that answers as the Kubernetes API does (no API server can
run here): the kubernetes client's real requests, each request body validated against the cluster version's
OpenAPI schema, and the refusals a user meets before anything happens."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kube_api import EKS_VERSION, write_kubeconfig
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from environments import load_environment
from environments.errors import CommandFailed, ConfigError
from infra.cluster import connect, run_training, training_job_copy, workload_status
from modules.workloads.manifests import render_workloads

ENV = load_environment("smb")
NAMESPACE = ENV.workloads.namespace
JOBS = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
def rendered(kind: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in render_workloads(ENV) if o["kind"] == kind and o["metadata"]["name"] == name))


class FakeApi:
    """Answers the requests these operations make, records every body, and validates it as the API server would."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.jobs: dict[str, dict[str, Any]] = {}
        self.bodies: list[tuple[str, str, dict[str, Any]]] = []
        server.expect_request("/version/").respond_with_json(EKS_VERSION)
        server.expect_request(f"{JOBS}", method="POST").respond_with_handler(self.create_job)
        server.expect_request(f"{JOBS}/training", method="PATCH").respond_with_handler(self.patch_training)
        server.expect_request(f"/api/v1/namespaces/{NAMESPACE}/pods").respond_with_handler(self.pods)

    def add_job(self, job: dict[str, Any]) -> None:
        self.jobs[job["metadata"]["name"]] = job
        self.server.expect_request(f"{JOBS}/{job['metadata']['name']}", method="GET").respond_with_handler(
            lambda request, name=job["metadata"]["name"]: self.read_job(name))

    def read_job(self, name: str) -> Response:
        job = self.jobs[name]
        if not job["spec"].get("suspend"):  # it ran while nobody looked: report it finished
            job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
        return Response(json.dumps(job), content_type="application/json")

    def create_job(self, request: Request) -> Response:
        body = json.loads(request.data)
        self.bodies.append(("POST", request.path, copy.deepcopy(body)))
        kubernetes_validate.validate(body, ENV.eks.version, strict=True)
        self.add_job(body)
        return Response(json.dumps(body), status=201, content_type="application/json")

    def patch_training(self, request: Request) -> Response:
        patch = json.loads(request.data)
        self.bodies.append(("PATCH", request.path, patch))
        job = self.jobs["training"]
        job["spec"].update(patch["spec"])
        kubernetes_validate.validate({k: v for k, v in job.items() if k != "status"}, ENV.eks.version, strict=True)
        return Response(json.dumps(job), content_type="application/json")

    def pods(self, request: Request) -> Response:
        job = request.args["labelSelector"].removeprefix("job-name=")
        pod = {"metadata": {"name": f"{job}-0-abcde", "namespace": NAMESPACE}}
        self.server.expect_request(f"/api/v1/namespaces/{NAMESPACE}/pods/{job}-0-abcde/log").respond_with_data(
            "epoch 1/6 pr_auc 0.21\nepoch 2/6 pr_auc 0.24\n")
        return Response(json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [pod]}),
                        content_type="application/json")


@pytest.fixture
def api(httpserver: HTTPServer, tmp_path: Path) -> tuple[FakeApi, Any]:
    fake = FakeApi(httpserver)
    return fake, connect(write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for("/").rstrip("/")))


def test_the_first_remote_run_resumes_the_suspended_job_and_follows_its_logs_to_success(api) -> None:
    fake, client = api
    fake.add_job({**rendered("Job", "training"), "status": {}})
    said: list[str] = []
    run = run_training(ENV, client, say=said.append, poll_s=0.01)
    assert run.succeeded and run.job == "training" and run.detail == "succeeded"
    assert [(method, path) for method, path, _ in fake.bodies] == [("PATCH", f"{JOBS}/training")]
    assert fake.bodies[0][2] == {"spec": {"suspend": False}}
    assert "training-0-abcde: epoch 2/6 pr_auc 0.24" in said and said[0] == f"resumed Job {NAMESPACE}/training"


def test_a_remote_run_after_a_finished_one_creates_a_schema_valid_copy_under_a_new_name(api) -> None:
    fake, client = api
    finished = rendered("Job", "training")
    finished["spec"]["suspend"] = False
    fake.add_job(finished)
    run = run_training(ENV, client, poll_s=0.01, now=lambda: datetime(2026, 12, 1, 6, 30, 0, tzinfo=UTC))
    assert run.succeeded and run.job == "training-20261201-063000"
    ((method, path, body),) = fake.bodies
    assert (method, path) == ("POST", JOBS)
    assert body == training_job_copy(ENV, "training-20261201-063000")
    assert body["spec"]["template"] == rendered("Job", "training")["spec"]["template"]


def test_without_a_training_job_on_the_cluster_the_run_says_to_apply_the_layer(api, httpserver: HTTPServer) -> None:
    _, client = api
    httpserver.expect_request(f"{JOBS}/training").respond_with_json(
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}, status=404)
    with pytest.raises(CommandFailed, match=r"no Job 'training' in namespace 'sahab': apply the workloads layer first"):
        run_training(ENV, client)


def test_status_reports_readiness_images_and_what_was_never_applied(api, httpserver: HTTPServer) -> None:
    _, client = api
    scoring = rendered("Deployment", "scoring")
    scoring["status"] = {"replicas": 2, "readyReplicas": 1}
    httpserver.expect_request(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/scoring").respond_with_json(scoring)
    stale = rendered("Deployment", "scoring-gpu")
    stale["spec"]["template"]["spec"]["containers"][0]["image"] = "old:1"
    httpserver.expect_request(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/scoring-gpu").respond_with_json(stale)
    httpserver.expect_request(f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs/drift").respond_with_json(
        {**rendered("CronJob", "drift"), "status": {"lastScheduleTime": "2026-12-01T05:15:00Z"}})
    httpserver.expect_request(f"{JOBS}/training").respond_with_json(rendered("Job", "training"))
    httpserver.no_handler_status_code = 404
    states = {(s.kind, s.name): s for s in workload_status(ENV, client)}
    assert states[("Deployment", "scoring")].state == "1/2 ready" and states[("Deployment", "scoring")].matches_spec
    assert states[("Deployment", "scoring-gpu")].images == ("old:1",) and not states[("Deployment", "scoring-gpu")].matches_spec
    assert states[("CronJob", "drift")].state == "last run 2026-12-01T05:15Z"
    assert states[("Job", "training")].state == "suspended"
    assert states[("StatefulSet", "ingestor")].state == "missing (not applied)"


def test_a_kubeconfig_that_is_missing_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no kubeconfig at"):
        connect(tmp_path / "absent")


def test_a_cluster_that_does_not_answer_is_refused_naming_its_address(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(CommandFailed, match=rf"cannot reach the cluster at http://127.0.0.1:{port}"):
        connect(write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}"))


def test_a_kubeconfig_without_the_asked_context_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be used with context 'prod'"):
        connect(write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1"), context="prod")


def sahab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "sahab"), *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250"}, timeout=120)


def test_sahab_train_remote_as_a_user_runs_it_follows_the_job_and_exits_0(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeApi(httpserver)
    fake.add_job({**rendered("Job", "training"), "status": {}})
    completed = sahab("train", "--env", "smb", "--remote", "--kubeconfig", str(write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for("/").rstrip("/"))))
    assert completed.returncode == 0, completed.stderr
    assert "training-0-abcde: epoch 1/6 pr_auc 0.21" in completed.stdout
    assert "training Job sahab/training succeeded" in completed.stdout


def test_sahab_status_without_a_reachable_cluster_exits_1_naming_the_address(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    completed = sahab("status", "smb", "--kubeconfig", str(write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")))
    assert completed.returncode == 1 and f"cannot reach the cluster at http://127.0.0.1:{port}" in completed.stderr
    assert "Traceback" not in completed.stderr


class FakeConfigMaps:
    """The ConfigMap routes of the API, stateful: 404 until created, then read, replaced, deleted."""

    def __init__(self, server: HTTPServer) -> None:
        self.stored: dict[str, Any] | None = None
        self.requests: list[tuple[str, dict[str, Any] | None]] = []
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
        server.expect_request(path, method="POST").respond_with_handler(self.create)
        server.expect_request(f"{path}/sahab-serving-weights").respond_with_handler(self.one)

    def not_found(self) -> Response:
        return Response(json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                    "code": 404}), status=404, content_type="application/json")

    def create(self, request: Request) -> Response:
        body = json.loads(request.data)
        kubernetes_validate.validate(body, ENV.eks.version, strict=True)
        self.requests.append(("POST", body))
        self.stored = body
        return Response(json.dumps(body), status=201, content_type="application/json")

    def one(self, request: Request) -> Response:
        body = json.loads(request.data) if request.data else None
        self.requests.append((request.method, body))
        if request.method == "PUT":
            kubernetes_validate.validate(body, ENV.eks.version, strict=True)
            self.stored = body
        if self.stored is None:
            return self.not_found()
        if request.method == "DELETE":
            self.stored = None
            return Response(json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                            content_type="application/json")
        return Response(json.dumps(self.stored), content_type="application/json")


def test_sahab_serve_weights_for_a_cloud_environment_sets_resets_and_shows_the_pods_configmap(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    from bento_services.weights_file import WEIGHTS_FILE_NAME, WeightsState

    FakeApi(httpserver)
    maps = FakeConfigMaps(httpserver)
    config = str(write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for("/").rstrip("/")))
    first = sahab("serve", "weights", "--env", "smb", "a=0.9", "b=0.1", "--kubeconfig", config)
    assert first.returncode == 0, first.stderr
    assert "ConfigMap sahab/sahab-serving-weights" in first.stdout and "about a minute" in first.stdout
    assert maps.stored is not None
    assert WeightsState.from_json(maps.stored["data"][WEIGHTS_FILE_NAME], source="test").weights == {"a": 0.9, "b": 0.1}
    second = sahab("serve", "weights", "--env", "smb", "a=0.5", "b=0.5", "--kubeconfig", config)
    assert second.returncode == 0 and [m for m, _ in maps.requests if m in ("POST", "PUT")] == ["POST", "PUT"]
    reset = sahab("serve", "weights", "--env", "smb", "--reset", "--kubeconfig", config)
    assert reset.returncode == 0 and "weights reset to the environment file" in reset.stdout and maps.stored is None


def test_the_scoring_pods_mount_the_weights_configmap_where_the_service_reads_its_weights_file() -> None:
    from modules.workloads.manifests import WEIGHTS_CONFIG_MAP

    pod = rendered("Deployment", "scoring")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "weights"]
    assert volume["configMap"] == {"name": WEIGHTS_CONFIG_MAP, "optional": True}
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "weights"]
    in_pod = load_environment("smb").model_copy(update={"data_dir": "/var/lib/sahab"})
    assert mount["mountPath"] == str(in_pod.paths.run) and mount["readOnly"] is True

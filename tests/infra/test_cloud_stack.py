"""``sahab up ENV`` / ``sahab down ENV`` for a cloud environment, end to end with the engine's command runner as the seam
(no Terraform providers here): the real synthesis and gate, the layers in order, nothing applied past a failed gate,
resume after a failed layer, readiness read from a local server answering as the Kubernetes API does, and what
``down`` keeps."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kube_api import EKS_VERSION, write_kubeconfig
from moto_server import MotoServer
from pytest_httpserver import HTTPServer
from smoke_cluster import SmokeCluster, token_secret
from werkzeug import Request, Response

from bento_services.serving_secrets import tokens_secret_name
from environments import Environment, load_environment
from environments.errors import CommandFailed, GateFailed
from infra.bootstrap import BootstrapResult
from infra.cloud_stack import down, up
from infra.cluster import connect
from infra.smoke import score_through_cluster
from modules.workloads.manifests import render_workloads
from recording_runner import RecordingRunner

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["security", "network", "compute", "data", "workloads"]


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    return load_environment("smb").model_copy(update={"data_dir": str(tmp_path / "data")})


def no_bootstrap(env: Environment, say=None) -> BootstrapResult:
    """The bootstrap seam (the real one is proven against moto in test_bootstrap.py)."""
    names = env.state_backend_names
    return BootstrapResult(env.name, env.region, names.bucket, names.lock_table, names.kms_alias)


class FakeCluster:
    """Answers readiness reads for every rendered workload; Deployments and StatefulSets become ready on the
    second poll, so ``up`` must wait."""

    def __init__(self, server: HTTPServer, env: Environment) -> None:
        self.polls: dict[str, int] = {}
        self.stuck: set[str] = set()
        """Workloads that never get ready (an image that does not pull)."""
        self.smoke: SmokeCluster | None = None
        """The smoke step's side of the same server (set by the fixture)."""
        server.expect_request("/version/").respond_with_json(EKS_VERSION)
        plural = {"Deployment": "apps/v1/namespaces/{ns}/deployments", "StatefulSet": "apps/v1/namespaces/{ns}/statefulsets",
                  "Job": "batch/v1/namespaces/{ns}/jobs", "CronJob": "batch/v1/namespaces/{ns}/cronjobs"}
        for obj in render_workloads(env):
            if obj["kind"] in plural:
                path = f"/apis/{plural[obj['kind']].format(ns=obj['metadata']['namespace'])}/{obj['metadata']['name']}"
                server.expect_request(path).respond_with_handler(lambda request, o=obj: self.read(request, o))

    def read(self, request: Request, obj: dict[str, Any]) -> Response:
        found = copy.deepcopy(obj)
        name = obj["metadata"]["name"]
        self.polls[name] = self.polls.get(name, 0) + 1
        if obj["kind"] in ("Deployment", "StatefulSet"):
            replicas = found["spec"].get("replicas", 1)
            ready = replicas if self.polls[name] > 1 and name not in self.stuck else 0
            found["status"] = {"replicas": replicas, "readyReplicas": ready}
        return Response(json.dumps(found), content_type="application/json")


@pytest.fixture
def secrets(moto_server: MotoServer, env: Environment) -> Any:
    """The scoring API's token secret (one operator token) in moto's Secrets Manager."""
    return token_secret(moto_server.url, env)


@pytest.fixture
def cluster(httpserver: HTTPServer, env: Environment, tmp_path: Path, secrets: Any):
    """The workloads' readiness (``FakeCluster``) and the smoke step (``SmokeCluster``) on one stand-in API server."""
    fake = FakeCluster(httpserver, env)
    smoke_cluster = SmokeCluster(httpserver, env.workloads.namespace, env.eks.version,
                                 lambda: secrets.get_secret_value(SecretId=tokens_secret_name(env))["SecretString"])
    config = write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for("/").rstrip("/"))
    fake.smoke = smoke_cluster
    yield fake, (lambda _env: connect(config))
    smoke_cluster.stop()


def bring_up(env: Environment, tmp_path: Path, runner: RecordingRunner, cluster=None, secrets=None, **options):
    options = {"poll_s": 0.01, "wait_s": 30.0, **options}
    smoke = functools.partial(score_through_cluster, secrets_client=secrets, poll_s=0.05)
    return up(env, runner=runner, outdir=tmp_path / "out", reports_dir=tmp_path / "reports", credentials=lambda: "test",
              bootstrapper=no_bootstrap, cluster=cluster, smoke=smoke, **options)


def applied_layers(runner: RecordingRunner) -> list[str]:
    return [call[0].split("/")[-1].removeprefix("smb-") for call in runner.calls if call[1] == "apply"]


def test_up_applies_every_layer_in_order_after_a_clean_gate_waits_for_the_workloads_and_scores_through_the_cluster(
    env, tmp_path, cluster, secrets
) -> None:
    fake, connect_cluster = cluster
    runner = RecordingRunner()
    result = bring_up(env, tmp_path, runner, connect_cluster, secrets)
    assert result.gate.report.ok and applied_layers(runner) == LAYERS
    assert all(call[1:] == ("apply", "-input=false", "-auto-approve") for call in runner.calls if call[1] == "apply")
    assert [layer.action for layer in result.layers] == ["applied"] * 5
    assert fake.polls["scoring"] >= 2  # not ready at first: up waited
    assert all(w.ready for w in result.workloads) and {w.name for w in result.workloads} >= {"scoring", "ingestor"}
    assert result.smoke is not None and result.smoke.score == 0.0123 and fake.smoke.scored  # after the workloads were ready
    assert result.cost.aed > 0


def test_workloads_that_never_get_ready_fail_naming_them_after_the_layers_are_applied(env, tmp_path, cluster) -> None:
    fake, connect_cluster = cluster
    fake.stuck.add("ingestor")
    runner = RecordingRunner()
    with pytest.raises(CommandFailed, match=r"not ready after 0.5 s: StatefulSet ingestor \(0/1 ready\)"):
        bring_up(env, tmp_path, runner, connect_cluster, wait_s=0.5)
    assert applied_layers(runner) == LAYERS
    assert fake.smoke.created == []  # nothing is scored through workloads that are not ready


def test_after_a_failed_layer_up_again_continues_there_and_skips_what_is_done(env, tmp_path, cluster, secrets) -> None:
    _, connect_cluster = cluster
    failing = RecordingRunner(fail_when="smb-compute apply")
    with pytest.raises(CommandFailed) as failed:
        bring_up(env, tmp_path, failing, connect_cluster, secrets)
    message = str(failed.value)
    assert "the compute layer (smb-compute) failed" in message and "run `sahab up smb` again: it continues at compute" in message
    assert "security, network done, skipped" in message
    assert applied_layers(failing) == ["security", "network", "compute"]

    again = RecordingRunner()
    result = bring_up(env, tmp_path, again, connect_cluster, secrets)
    assert applied_layers(again) == ["compute", "data", "workloads"]
    assert [layer.action for layer in result.layers][:2] == ["unchanged since the last sahab up (skipped)"] * 2


def test_a_layer_whose_json_changed_since_is_applied_again(env, tmp_path, cluster, secrets) -> None:
    _, connect_cluster = cluster
    bring_up(env, tmp_path, RecordingRunner(), connect_cluster, secrets)
    bigger = env.model_copy(deep=True)
    bigger.node_pools["cpu"] = bigger.node_pools["cpu"].model_copy(update={"desired_size": 3})
    again = RecordingRunner()
    bring_up(bigger, tmp_path, again, connect_cluster, secrets)
    assert "compute" in applied_layers(again) and "security" not in applied_layers(again)


def test_nothing_is_applied_and_nothing_bootstrapped_past_a_failed_gate(env, tmp_path) -> None:
    runner = RecordingRunner()
    weak = env.model_copy(update={"log_retention_days": 1})  # the gate wants a year of logs
    bootstrapped: list[str] = []
    with pytest.raises(GateFailed):
        up(weak, runner=runner, outdir=tmp_path / "out", reports_dir=tmp_path / "reports", credentials=lambda: "test",
           bootstrapper=lambda e, say=None: bootstrapped.append(e.name))
    assert runner.calls == [] and bootstrapped == []


def test_up_plan_prints_the_cost_preview_and_applies_nothing_even_without_credentials(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "COLUMNS": "200"}
    completed = subprocess.run(
        [sys.executable, "-m", "infra.cli.main", "up", "smb", "--plan", "--outdir", str(tmp_path / "out"),
         "--reports", str(tmp_path / "reports")], capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment,
        timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    out = " ".join(completed.stdout.split())
    assert "Cost preview of smb" in out and "smb-compute" in out and "AED" in out and "USD" in out
    assert re.search(r"layer security\W+would apply", out) and "none found (needed to apply, not to plan)" in out
    assert "dated 2026-12-01" in out


def test_up_of_a_cloud_environment_without_credentials_exits_2_saying_how_to_log_in(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    completed = subprocess.run([sys.executable, "-m", "infra.cli.main", "up", "smb", "--outdir", str(tmp_path / "out")],
                               capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment, timeout=120)
    assert completed.returncode == 2 and "no AWS credentials found" in completed.stderr and "aws sso login" in completed.stderr
    assert not (tmp_path / "out").exists()  # refused before synthesising


def test_down_destroys_in_reverse_order_and_keeps_the_buckets_with_data_and_their_keys(env, tmp_path) -> None:
    runner = RecordingRunner(state=everything_applied)
    result = down(env, runner=runner, outdir=tmp_path / "out", credentials=lambda: "test")
    destroyed = [call[0].split("/")[-1].removeprefix("smb-") for call in runner.calls if call[1] == "destroy"]
    assert destroyed == list(reversed(LAYERS))
    forgotten = {address for call in runner.calls if call[1:3] == ("state", "rm") for address in call[3:]}
    assert any(a.startswith("aws_s3_bucket.DataBucket_") for a in forgotten)
    assert any(a.startswith("aws_s3_bucket.AuditTrail_Bucket_") for a in forgotten)
    assert any(a.startswith("aws_kms_key.Keys_Data_") for a in forgotten)
    assert any(a.startswith("aws_backup_vault.BackupVault_") for a in forgotten)
    assert any(a.startswith("aws_backup_selection.BackupPlan_") for a in forgotten)  # the kept buckets stay backed up
    assert not any(a.startswith(("aws_msk_cluster", "aws_eks_cluster", "aws_vpc")) for a in forgotten)
    # each state rm comes before its stack's destroy
    for index, call in enumerate(runner.calls):
        if call[1:3] == ("state", "rm"):
            assert runner.calls[index + 1][1] == "destroy" and runner.calls[index + 1][0] == call[0]
    assert any("never destroyed" not in k and "holds data" in k for k in result.kept)


def test_down_with_destroy_data_empties_and_destroys_the_buckets_but_never_the_audit_bucket_or_backup_vault(env, tmp_path) -> None:
    runner = RecordingRunner(state=everything_applied)
    emptied: list[str] = []
    down(env, destroy_data=True, runner=runner, outdir=tmp_path / "out", credentials=lambda: "test",
         empty_bucket=lambda bucket: emptied.append(bucket) or 3)
    forgotten = {address for call in runner.calls if call[1:3] == ("state", "rm") for address in call[3:]}
    assert forgotten and all(a.split(".")[1].startswith(("AuditTrail_Bucket_", "Keys_Logs", "BackupVault_", "Keys_Backup"))
                             for a in forgotten)
    assert any(a.startswith("aws_backup_vault_lock_configuration.BackupVault_") for a in forgotten)
    assert sorted(emptied) == ["sahab-smb-data-${data.aws_caller_identity.CallerIdentity.account_id}",
                               "sahab-smb-models-${data.aws_caller_identity.CallerIdentity.account_id}"]


def test_down_without_confirmation_destroys_nothing(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "infra.cli.main", "down", "smb"], input="prod\n",
                               capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                               env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert completed.returncode == 1 and "not confirmed: nothing was destroyed" in completed.stdout


def everything_applied(stack_dir: str) -> str:
    """``terraform state list`` of a stack whose every resource was applied."""
    document = json.loads((Path(stack_dir) / "cdk.tf.json").read_text())
    return "\n".join(f"{t}.{n}" for t, named in document.get("resource", {}).items() for n in named) + "\n"

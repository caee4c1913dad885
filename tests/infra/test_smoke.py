"""``sahab up``'s last step: one transaction scored through the cluster's scoring Service by a Job inside it.

The API server is a local HTTP server that answers as the API does and runs the Job's container as a local process
(``tests/smoke_cluster.py``); the token secret is in moto's Secrets Manager. What is proven: the objects are valid
for the cluster version, the token never appears in the Job, a token the service has not read yet is retried, and
whatever happens (a refused token, a cluster refusing the Job) the token is revoked and every object removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kube_api import EKS_VERSION, write_kubeconfig
from moto_server import MotoServer
from pytest_httpserver import HTTPServer
from smoke_cluster import OPERATOR_TOKENS, SmokeCluster, token_secret

from bento_services.serving_secrets import tokens_secret_name
from environments import load_environment
from environments.errors import CommandFailed
from infra.cluster import connect
from infra.smoke import score_through_cluster, smoke_objects

ENV = load_environment("smb")
NOW = datetime(2026, 12, 1, 18, 30, 0, tzinfo=UTC)
CHECKOUT = OPERATOR_TOKENS


@pytest.fixture
def secrets(moto_server: MotoServer) -> Any:
    return token_secret(moto_server.url, ENV)


def token_list(secrets: Any) -> str:
    return secrets.get_secret_value(SecretId=tokens_secret_name(ENV))["SecretString"]


@pytest.fixture
def cluster(httpserver: HTTPServer, secrets: Any, tmp_path: Path) -> Iterator[tuple[SmokeCluster, Any]]:
    httpserver.expect_request("/version/").respond_with_json(EKS_VERSION)
    fake = SmokeCluster(httpserver, ENV.workloads.namespace, ENV.eks.version, lambda: token_list(secrets))
    yield fake, connect(write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for("/").rstrip("/")))
    fake.stop()


def smoke(api: Any, secrets: Any, **options: Any):
    return score_through_cluster(ENV, api, secrets_client=secrets, now=lambda: NOW, poll_s=0.05, **options)


def test_one_transaction_is_scored_through_the_service_and_everything_made_is_removed(cluster, secrets) -> None:
    fake, api = cluster
    fake.lagging_requests = 1  # the service has not read the new token yet: refused once, then scored
    said: list[str] = []
    scored = smoke(api, secrets, say=said.append)
    assert (scored.score, scored.variant, scored.model_version) == (0.0123, "stable", "20261201-0600-abcdef")
    assert scored.attempts == 2 and scored.job == "sahab-smoke-20261201183000"
    assert scored.url == f"http://scoring.{ENV.workloads.namespace}.svc.cluster.local:80/score"
    assert [t["transaction_id"] for t in fake.scored] == ["sahab-up-smoke"]
    assert [o["kind"] for o in fake.created] == ["Secret", "NetworkPolicy", "Job"]
    assert sorted(fake.deleted) == [("Job", scored.job), ("NetworkPolicy", scored.job), ("Secret", scored.job)]
    assert token_list(secrets) == json.dumps(json.loads(CHECKOUT), indent=2)  # the smoke token is revoked
    token = fake.secrets[scored.job]["stringData"]["token"]
    job = next(o for o in fake.created if o["kind"] == "Job")
    assert token not in json.dumps(job)  # only the Secret holds it
    assert said[0].startswith("scoring one transaction through svc/scoring from the Job")


def test_the_job_runs_the_scoring_image_restricted_on_the_scoring_pool_without_an_api_token() -> None:
    from modules.workloads.manifests import render_workloads
    from policies.checks import sahab_policy

    policy, job = smoke_objects(ENV, "sahab-smoke-20261201183000")
    scoring = next(o for o in render_workloads(ENV)
                   if o["kind"] == "Deployment" and o["metadata"]["name"] == "scoring")["spec"]["template"]["spec"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == scoring["containers"][0]["image"] and pod["nodeSelector"] == scoring["nodeSelector"]
    assert pod["automountServiceAccountToken"] is False and job["spec"]["backoffLimit"] == 0
    context = container["securityContext"]
    assert context["runAsNonRoot"] and context["readOnlyRootFilesystem"] and context["capabilities"] == {"drop": ["ALL"]}
    assert not context["allowPrivilegeEscalation"] and "limits" in container["resources"]
    # the gate's own pod rules (CKV_SAHAB_36, 37, 38), though the Job is made at run time, not rendered
    assert sahab_policy.restricted_pod_problems(pod) == [] and sahab_policy.gpu_placement_problems(pod) == []
    assert sahab_policy.image_problem(container["image"], "probe") is None
    # the namespace denies all egress: the policy opens exactly the scoring pods' port, for the smoke pod only
    assert policy["spec"]["podSelector"] == {"matchLabels": {"sahab.io/smoke": "sahab-smoke-20261201183000"}}
    assert policy["spec"]["egress"] == [{"to": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "scoring", "app.kubernetes.io/instance": "smb"}}}], "ports": [{"protocol": "TCP", "port": 3000}]}]


def test_a_token_the_service_never_accepts_fails_naming_the_status_and_still_revokes_and_removes_everything(
    cluster, secrets
) -> None:
    fake, api = cluster
    fake.lagging_requests = 10_000  # a service reading another secret: the smoke token is never known
    with pytest.raises(CommandFailed, match=r"failed: HTTP 401 after \d+ attempts.*a token the service has not read yet"):
        smoke(api, secrets, probe_deadline_s=1)
    assert sorted(kind for kind, _ in fake.deleted) == ["Job", "NetworkPolicy", "Secret"]
    assert token_list(secrets) == json.dumps(json.loads(CHECKOUT), indent=2)


def test_a_cluster_refusing_the_job_fails_before_any_probe_and_removes_the_secret_and_the_token(cluster, secrets) -> None:
    fake, api = cluster
    fake.refuse = "Job"
    with pytest.raises(CommandFailed, match="the cluster refused to create the smoke Job: 403 FORBIDDEN"):
        smoke(api, secrets)
    assert fake.runs == {} and fake.scored == []
    assert sorted(kind for kind, _ in fake.deleted) == ["NetworkPolicy", "Secret"]  # the Job was never made: 404, quiet
    assert token_list(secrets) == json.dumps(json.loads(CHECKOUT), indent=2)

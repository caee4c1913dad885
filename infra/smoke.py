"""``sahab up``'s last step: one transaction scored through the cluster's scoring Service, from inside the cluster.

Why a Job and not the API server's service proxy: the proxy authenticates the caller with the ``Authorization``
header and drops it, so the scoring service's bearer token cannot pass; a port-forward needs a websocket client (or
kubectl) on the user's machine. A Job in the workloads' namespace reaches the Service as every client in the cluster
does (cluster DNS, kube-proxy, network policies), so its answer proves the path clients take.

What it makes, and removes again whatever happens (``finally``):

1. a smoke token: its SHA-256 added to the token secret (``sahab-<env>-api-tokens``) as ``sahab-up-smoke-<time>``,
   revoked at the end; the service stores no token, so a fresh one is the only way to call it;
2. a Kubernetes Secret holding the token, read by the probe through ``secretKeyRef`` (the token is never in the
   Job's spec, so not in the API's objects, events or audit log bodies of the Job);
3. a NetworkPolicy that lets only the smoke pod reach the scoring pods' port: the namespace denies all egress;
4. the Job: ``infra/smoke_probe.py`` run by ``python -c`` in the scoring image, on the scoring pool, as restricted
   as every workload pod (non-root, read-only root, no capabilities) and without a service account token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from environments import Environment
from environments.errors import CommandFailed, ConfigError
from infra import smoke_probe
from infra.cluster import REQUEST_TIMEOUT_S, follow_job

SMOKE_LABEL = "sahab.io/smoke"
#: How long the probe retries a 401: the service reads its token secret again only every minute.
PROBE_DEADLINE_S = 150
SCORING = "scoring"


@dataclass(frozen=True)
class SmokeScore:
    """What the transaction scored through the cluster answered."""

    job: str
    url: str
    score: float
    variant: str
    model_version: str
    latency_ms: float
    attempts: int


def smoke_name(now: datetime) -> str:
    return f"sahab-smoke-{now:%Y%m%d%H%M%S}"


def smoke_objects(env: Environment, name: str, *, deadline_s: float = PROBE_DEADLINE_S) -> tuple[dict[str, Any], dict[str, Any]]:
    """The NetworkPolicy and the Job of one smoke run (the token Secret is made apart: it holds the token)."""
    from modules.workloads.manifests import render_workloads

    rendered = render_workloads(env)
    service = next((o for o in rendered if o["kind"] == "Service" and o["metadata"]["name"] == SCORING), None)
    deployment = next((o for o in rendered if o["kind"] == "Deployment" and o["metadata"]["name"] == SCORING), None)
    if service is None or deployment is None:
        raise ConfigError(f"{env.name}: the workloads spec renders no scoring Deployment and Service to score through")
    namespace = env.workloads.namespace
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    scoring_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    service_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    labels = {"app.kubernetes.io/name": "smoke", "app.kubernetes.io/part-of": "sahab", SMOKE_LABEL: name}
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    policy = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata,
        "spec": {"podSelector": {"matchLabels": {SMOKE_LABEL: name}}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"podSelector": {"matchLabels": service["spec"]["selector"]}}],
            "ports": [{"protocol": "TCP", "port": scoring_port}],
        }]},
    }
    url = f"http://{SCORING}.{namespace}.svc.cluster.local:{service_port}/score"
    probe = {
        "name": "probe", "image": container["image"], "command": ["python", "-c", Path(smoke_probe.__file__).read_text()],
        "env": [
            {"name": "SAHAB_SMOKE_URL", "value": url},
            {"name": "SAHAB_SMOKE_DEADLINE_S", "value": f"{deadline_s:g}"},
            {"name": "SAHAB_SMOKE_TOKEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "token"}}},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": container["securityContext"],
    }
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
        "spec": {
            "backoffLimit": 0, "activeDeadlineSeconds": int(deadline_s) + 120, "ttlSecondsAfterFinished": 600,
            "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "Never", "automountServiceAccountToken": False,
                "securityContext": pod["securityContext"], "nodeSelector": pod.get("nodeSelector", {}),
                **({"tolerations": pod["tolerations"]} if pod.get("tolerations") else {}),
                "containers": [probe],
            }},
        },
    }
    return policy, job


def score_through_cluster(
    env: Environment,
    api: Any,
    *,
    say: Callable[[str], None] = lambda _line: None,
    secrets_client: Any | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    probe_deadline_s: float = PROBE_DEADLINE_S,
    poll_s: float = 5.0,
) -> SmokeScore:
    """Score one transaction through the scoring Service from a Job in the cluster; everything made is removed."""
    from kubernetes import client

    from bento_services.serving_secrets import create_cloud_token, revoke_cloud_token

    name = smoke_name(now())
    namespace = env.workloads.namespace
    policy, job = smoke_objects(env, name, deadline_s=probe_deadline_s)
    core, networking, batch = client.CoreV1Api(api), client.NetworkingV1Api(api), client.BatchV1Api(api)
    token_name = name.replace("sahab-smoke", "sahab-up-smoke")
    say(f"scoring one transaction through svc/{SCORING} from the Job {namespace}/{name}")
    token = create_cloud_token(env, token_name, secrets_client=secrets_client)
    lines: list[str] = []
    try:
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": policy["metadata"], "type": "Opaque",
                  "stringData": {"token": token}}
        _create("Secret", lambda: core.create_namespaced_secret(namespace, secret, _request_timeout=REQUEST_TIMEOUT_S))
        _create("NetworkPolicy", lambda: networking.create_namespaced_network_policy(
            namespace, policy, _request_timeout=REQUEST_TIMEOUT_S))
        _create("Job", lambda: batch.create_namespaced_job(namespace, job, _request_timeout=REQUEST_TIMEOUT_S))
        run = follow_job(api, namespace, name, say=lambda line: (lines.append(line), say(line)),
                         timeout_s=probe_deadline_s + 180, poll_s=poll_s)
    finally:
        _clean_up(say, [
            ("Job", lambda: batch.delete_namespaced_job(name, namespace, propagation_policy="Background",
                                                        _request_timeout=REQUEST_TIMEOUT_S)),
            ("NetworkPolicy", lambda: networking.delete_namespaced_network_policy(name, namespace,
                                                                                  _request_timeout=REQUEST_TIMEOUT_S)),
            ("Secret", lambda: core.delete_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)),
            ("token", lambda: revoke_cloud_token(env, token_name, secrets_client=secrets_client)),
        ])
    return _scored(env, name, _probe_url(job), run.detail, lines)


def _probe_url(job: dict[str, Any]) -> str:
    """The Service URL the Job's probe calls (its ``SAHAB_SMOKE_URL``)."""
    (probe,) = job["spec"]["template"]["spec"]["containers"]
    return next(v["value"] for v in probe["env"] if v["name"] == "SAHAB_SMOKE_URL")


def _scored(env: Environment, name: str, url: str, detail: str, lines: list[str]) -> SmokeScore:
    """The probe's answer from its log line, or ``CommandFailed`` saying what it got and where to look."""
    found = [line.split(f"{smoke_probe.MARKER} ", 1)[1] for line in lines if f"{smoke_probe.MARKER} " in line]
    result = json.loads(found[-1]) if found else {}
    answer = result.get("answer")
    if not answer:
        got = (f"HTTP {result['status']} after {result['attempts']} attempts: {result.get('error', '')}" if result
               else f"no answer in its log (the Job {detail})")
        hint = " (a token the service has not read yet: is the token secret the one it reads?)" if result.get("status") == 401 else ""
        raise CommandFailed(
            f"scoring one transaction through {url} failed: {got}{hint}; the layers and workloads are up: see "
            f"`sahab status {env.name}` and the scoring pods' logs, then `sahab up {env.name}` again tries once more")
    return SmokeScore(job=name, url=url, score=float(answer["score"]), variant=str(answer["variant"]),
                      model_version=str(answer["model_version"]), latency_ms=float(result["ms"]),
                      attempts=int(result["attempts"]))


def _create(kind: str, request: Callable[[], Any]) -> Any:
    from kubernetes.client.exceptions import ApiException

    try:
        return request()
    except ApiException as exc:
        raise CommandFailed(f"the cluster refused to create the smoke {kind}: {exc.status} {exc.reason}") from None


def _clean_up(say: Callable[[str], None], steps: list[tuple[str, Callable[[], Any]]]) -> None:
    """Run every removal, even after one fails; a leftover is said, never hidden (a 404: already gone)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from kubernetes.client.exceptions import ApiException

    for what, remove in steps:
        try:
            remove()
        except ApiException as exc:
            if exc.status != 404:
                say(f"could not remove the smoke {what}: {exc.status} {exc.reason}; remove it by hand")
        except (ConfigError, BotoCoreError, ClientError) as exc:
            say(f"could not revoke the smoke token: {exc}; revoke it with `sahab serve token revoke`")

"""The API server's side of ``sahab up``'s smoke step, for tests (no API server can run here).

``SmokeCluster`` answers the requests ``infra.smoke`` makes as the API does, validates every object it is sent
against the cluster version's schema, and *runs* the smoke Job as a kubelet would run its one container: the
container's command, with its environment (the token read from the Secret the Job names), as a local process
whose output is the pod's log. The Service's cluster DNS name resolves, as cluster DNS would, to ``scoring_url``:
a stand-in scoring endpoint on the same test server that checks bearer tokens against the digests in the token
secret (``serving_secrets.parse_tokens``), answering the first ``lagging_requests`` from the list it read when it
started, as the real service does until its next refresh.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import kubernetes_validate
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bento_services.serving_secrets import digest, parse_tokens, tokens_secret_name

SCORE_PATH = "/stand-in-scoring/score"
#: The token list an operator left in the secret before ``sahab up`` ran: one token, which the smoke step keeps.
OPERATOR_TOKENS = json.dumps({"tokens": [{"name": "checkout", "sha256": digest("checkout-token")}]})


def token_secret(endpoint_url: str, env: Any) -> Any:
    """A Secrets Manager client on moto at ``endpoint_url`` whose token secret of ``env`` holds ``OPERATOR_TOKENS``."""
    import boto3

    client = boto3.client("secretsmanager", region_name=env.region, endpoint_url=endpoint_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    name = tokens_secret_name(env)
    try:
        client.create_secret(Name=name, SecretString=OPERATOR_TOKENS)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=OPERATOR_TOKENS)
    return client


class SmokeCluster:
    def __init__(self, server: HTTPServer, namespace: str, version: str, read_tokens: Callable[[], str]) -> None:
        self.server, self.namespace, self.version = server, namespace, version
        self.read_tokens = read_tokens
        self.started_with = parse_tokens(read_tokens(), "token secret")
        self.lagging_requests = 0
        self.refuse = ""
        """A kind whose creation the API refuses with 403 (``Job``: quota or admission)."""
        self.created: list[dict[str, Any]] = []
        self.deleted: list[tuple[str, str]] = []
        self.secrets: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, subprocess.Popen[str]] = {}
        self.logs: dict[str, str] = {}
        self.scored: list[dict[str, Any]] = []
        api = f"/api/v1/namespaces/{namespace}"
        collections = {"Secret": f"{api}/secrets",
                       "NetworkPolicy": f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
                       "Job": f"/apis/batch/v1/namespaces/{namespace}/jobs"}
        for kind, path in collections.items():
            server.expect_request(path, method="POST").respond_with_handler(lambda r, k=kind: self.create(r, k))
            server.expect_request(re.compile(f"^{path}/[a-z0-9-]+$"), method="DELETE").respond_with_handler(
                lambda r, k=kind: self.delete(r, k))
        server.expect_request(re.compile(f"^{collections['Job']}/[a-z0-9-]+$"), method="GET").respond_with_handler(self.read_job)
        server.expect_request(f"{api}/pods", method="GET").respond_with_handler(self.pods)
        server.expect_request(re.compile(f"^{api}/pods/[a-z0-9-]+/log$")).respond_with_handler(self.log)
        server.expect_request(SCORE_PATH, method="POST").respond_with_handler(self.score)

    # ---- the API server ----------------------------------------------------------------------------------------
    def create(self, request: Request, kind: str) -> Response:
        body = json.loads(request.data)
        kubernetes_validate.validate(body, self.version, strict=True)
        if kind == self.refuse:
            return Response(json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
                                        "reason": "Forbidden", "message": "exceeded quota"}), status=403,
                            content_type="application/json")
        self.created.append(body)
        name = body["metadata"]["name"]
        if kind == "Secret":
            self.secrets[name] = body
        if kind == "Job":
            self.run(body)
        return Response(json.dumps(body), status=201, content_type="application/json")

    def delete(self, request: Request, kind: str) -> Response:
        name = request.path.rsplit("/", 1)[1]
        if not any(o["kind"] == kind and o["metadata"]["name"] == name for o in self.created):
            return Response(json.dumps({"kind": "Status", "code": 404, "reason": "NotFound"}), status=404,
                            content_type="application/json")
        self.deleted.append((kind, name))
        return Response(json.dumps({"kind": "Status", "status": "Success"}), content_type="application/json")

    def read_job(self, request: Request) -> Response:
        name = request.path.rsplit("/", 1)[1]
        job = next(o for o in self.created if o["kind"] == "Job" and o["metadata"]["name"] == name)
        process = self.runs[name]
        status: dict[str, Any] = {"active": 1}
        if process.poll() is not None:
            self.logs[name] = process.stdout.read() if process.stdout else ""
            ended = "Complete" if process.returncode == 0 else "Failed"
            status = {"conditions": [{"type": ended, "status": "True", "reason": "BackoffLimitExceeded" if ended == "Failed" else ""}]}
        return Response(json.dumps({**job, "status": status}), content_type="application/json")

    def pods(self, request: Request) -> Response:
        job = request.args["labelSelector"].removeprefix("job-name=")
        items = [{"metadata": {"name": f"{job}-abcde", "namespace": self.namespace}}] if job in self.runs else []
        return Response(json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}),
                        content_type="application/json")

    def log(self, request: Request) -> Response:
        job = request.path.split("/")[-2].removesuffix("-abcde")
        return Response(self.logs.get(job, ""), content_type="text/plain")

    # ---- the kubelet and cluster DNS ---------------------------------------------------------------------------
    def run(self, job: dict[str, Any]) -> None:
        (container,) = job["spec"]["template"]["spec"]["containers"]
        environment = {"PATH": os.environ["PATH"]}
        for variable in container["env"]:
            if "value" in variable:
                environment[variable["name"]] = variable["value"]
            else:
                ref = variable["valueFrom"]["secretKeyRef"]
                environment[variable["name"]] = self.secrets[ref["name"]]["stringData"][ref["key"]]
        url = urlsplit(environment["SAHAB_SMOKE_URL"])
        local = urlsplit(self.server.url_for(SCORE_PATH))
        assert url.hostname.endswith(f".{self.namespace}.svc.cluster.local"), url
        environment["SAHAB_SMOKE_URL"] = urlunsplit((local.scheme, local.netloc, local.path, "", ""))
        command = container["command"]
        assert command[0] == "python"
        self.runs[job["metadata"]["name"]] = subprocess.Popen(
            [sys.executable, *command[1:]], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    # ---- the scoring service -----------------------------------------------------------------------------------
    def score(self, request: Request) -> Response:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.lagging_requests > 0:
            self.lagging_requests -= 1
            known = self.started_with
        else:
            known = parse_tokens(self.read_tokens(), "token secret")
        if digest(offered) not in known.values():
            return Response(json.dumps({"error": "a valid bearer token is required"}), status=401,
                            content_type="application/json")
        (transaction,) = json.loads(request.data)["transactions"]
        self.scored.append(transaction)
        return Response(json.dumps([{"transaction_id": transaction["transaction_id"], "score": 0.0123, "is_fraud": False,
                                     "model_version": "20261201-0600-abcdef", "variant": "stable",
                                     "unknown_entities": ["customer", "merchant"]}]), content_type="application/json")

    def stop(self) -> None:
        for process in self.runs.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

"""``sahab up ENV`` and ``sahab down ENV`` for a cloud environment: the SMB starter stack in AWS in one command.

``up``: credentials → state backend (``bootstrap``) → synthesis → the policy gate → every layer applied in order
(security → network → compute → data → workloads) → the workloads waited for until ready → one transaction scored
through the cluster's scoring Service by a Job inside it (``infra.smoke``). Each applied layer is
recorded with the digest of the Terraform JSON it applied (``<data folder>/run/cloud-up.json``), so after a
failure ``sahab up ENV`` again skips what is done and continues at the layer that failed; a layer whose JSON
changed since is applied again. ``--plan`` does everything that changes nothing: synthesis, gate, the layers it
would apply and the monthly cost preview.

``down``: the layers destroyed in reverse order. What holds data stays unless asked (``--destroy-data``): the
data and models buckets and the keys that encrypt them are removed from Terraform's state first
(``terraform state rm``), so ``destroy`` leaves them; the audit bucket (object lock) and its key are never
destroyed. With ``--destroy-data`` the buckets are emptied first (every object version), since S3 refuses to
delete a bucket that holds objects.

The engine's command runner is a parameter (the seam the tests use, as in ``infra.deploy``); so is the cluster
connection, which by default reads the EKS endpoint with boto3 and writes a kubeconfig that calls
``aws eks get-token``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environments import Environment
from environments.data_paths import DataPaths
from environments.errors import CommandFailed, ConfigError
from infra.bootstrap import BootstrapResult, bootstrap
from infra.cluster import WorkloadState, connect, workload_status
from infra.cost.preview import CostPreview, cost_preview
from infra.deploy import CommandRunner, StackLike, find_aws_credentials, terraform_runner
from infra.gate.check import GateRun, check_targets, manifest_targets, require_clean
from infra.gate.scan_copy import ScanTarget
from infra.smoke import SmokeScore, score_through_cluster
from stacks.base import LAYERS
from stacks.data_holding import kept_on_destroy

PROGRESS_FILE = "cloud-up.json"
Say = Callable[[str], None]


@dataclass(frozen=True)
class LayerOutcome:
    stack: str
    layer: str
    action: str
    """``applied``, ``unchanged since the last sahab up (skipped)``, ``would apply``, ``destroyed``."""


@dataclass
class UpResult:
    env: str
    plan_only: bool
    gate: GateRun
    cost: CostPreview
    layers: list[LayerOutcome] = field(default_factory=list)
    bootstrap: BootstrapResult | None = None
    workloads: list[WorkloadState] = field(default_factory=list)
    credentials: str = ""
    kubeconfig: str = ""
    smoke: SmokeScore | None = None
    """The transaction scored through the cluster's scoring Service once the workloads were ready."""


@dataclass
class DownResult:
    env: str
    layers: list[LayerOutcome] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """What stays in the account, each with why (``<stack>: <address> (why)``)."""


class Progress:
    """The layers ``sahab up`` applied, with the digest of the JSON each one applied."""

    def __init__(self, env: Environment) -> None:
        self.path = DataPaths(env.data_path()).run / PROGRESS_FILE
        self.applied: dict[str, str] = json.loads(self.path.read_text()).get("applied", {}) if self.path.is_file() else {}

    def done(self, stack: StackLike) -> bool:
        return self.applied.get(stack.name) == digest(stack.path)

    def record(self, stack: StackLike) -> None:
        self.applied[stack.name] = digest(stack.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps({"applied": self.applied}, indent=2, sort_keys=True))
        scratch.replace(self.path)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def up(
    env: Environment,
    *,
    plan_only: bool = False,
    engine: str = "terraform",
    runner: CommandRunner | None = None,
    outdir: Path | None = None,
    reports_dir: Path | None = None,
    credentials: Callable[[], str] = find_aws_credentials,
    bootstrapper: Callable[..., BootstrapResult] = bootstrap,
    cluster: Callable[[Environment], Any] | None = None,
    say: Say = lambda _: None,
    wait_s: float = 1800.0,
    poll_s: float = 10.0,
    smoke: Callable[..., SmokeScore] = score_through_cluster,
) -> UpResult:
    """Bring ``env`` up in AWS (or, with ``plan_only``, show what that would do and cost)."""
    _refuse_local(env, "up")
    method = _credentials(credentials, optional=plan_only)
    say(f"AWS credentials: {method or 'none found (needed to apply, not to plan)'}")
    synthesized, gate = _synth_and_gate(env, outdir, reports_dir)
    stacks = [s for s in synthesized if s.layer in LAYERS]  # a separate stack (guardrails) is applied apart
    say(f"policy gate: {gate.report.passed} checks passed in {len(gate.report.stacks)} stacks")
    result = UpResult(env.name, plan_only, gate, cost_preview([s.path for s in stacks]), credentials=method)
    progress = Progress(env)
    if plan_only:
        result.layers = [LayerOutcome(s.name, s.layer, "unchanged since the last sahab up (would skip)"
                                      if progress.done(s) else "would apply") for s in stacks]
        return result
    result.bootstrap = bootstrapper(env, say=say)
    runner = runner or terraform_runner(engine, keep_tail=True)
    for stack in stacks:
        if progress.done(stack):
            result.layers.append(LayerOutcome(stack.name, stack.layer, "unchanged since the last sahab up (skipped)"))
            say(f"{stack.layer}: unchanged since the last sahab up, skipped")
            continue
        say(f"{stack.layer}: terraform init + apply ({stack.name})")
        chdir = f"-chdir={stack.path.parent}"
        try:
            runner((chdir, "init", "-input=false"))
            runner((chdir, "apply", "-input=false", "-auto-approve"))
        except CommandFailed as exc:
            done = [s.layer for s in stacks if progress.done(s)]
            raise CommandFailed(
                f"the {stack.layer} layer ({stack.name}) failed: {exc}\nfix the cause, then run `sahab up {env.name}` "
                f"again: it continues at {stack.layer}" + (f" ({', '.join(done)} done, skipped)" if done else "")
            ) from None
        progress.record(stack)
        result.layers.append(LayerOutcome(stack.name, stack.layer, "applied"))
    api, result.kubeconfig = (cluster(env), "") if cluster else _eks_api(env)
    result.workloads = wait_until_ready(env, api, say=say, timeout_s=wait_s, poll_s=poll_s)
    result.smoke = smoke(env, api, say=say)
    return result


def wait_until_ready(env: Environment, api: Any, *, say: Say, timeout_s: float, poll_s: float) -> list[WorkloadState]:
    """Poll the workloads until every Deployment and StatefulSet has all its replicas ready."""
    deadline = time.monotonic() + timeout_s
    while True:
        states = workload_status(env, api)
        waiting = [s for s in states if not s.ready]
        if not waiting:
            return states
        if time.monotonic() > deadline:
            listed = ", ".join(f"{s.kind} {s.name} ({s.state})" for s in waiting)
            raise CommandFailed(f"not ready after {timeout_s:g} s: {listed}; the layers are applied: see "
                                f"`sahab status {env.name}`, then `sahab up {env.name}` again waits once more")
        say("waiting for " + ", ".join(f"{s.name} ({s.state})" for s in waiting))
        time.sleep(poll_s)


def down(
    env: Environment,
    *,
    destroy_data: bool = False,
    engine: str = "terraform",
    runner: CommandRunner | None = None,
    outdir: Path | None = None,
    credentials: Callable[[], str] = find_aws_credentials,
    empty_bucket: Callable[[str], int] | None = None,
    say: Say = lambda _: None,
) -> DownResult:
    """Destroy ``env``'s layers in reverse order, keeping what holds data unless ``destroy_data``."""
    _refuse_local(env, "down")
    credentials()
    from infra.synth import synth

    stacks = [s for s in synth([env], outdir).stacks if s.layer in LAYERS]
    runner = runner or terraform_runner(engine, keep_tail=True)
    result = DownResult(env.name)
    with tempfile.TemporaryDirectory(prefix="sahab-down-") as scratch:
        for stack in reversed(stacks):
            document = json.loads(stack.path.read_text())
            keep = kept_on_destroy(document, destroy_data=destroy_data)
            chdir = f"-chdir={stack.path.parent}"
            runner((chdir, "init", "-input=false"))
            listed = Path(scratch) / f"{stack.name}.state"
            runner((chdir, "state", "list"), stdout=listed)
            present = set(listed.read_text().split())
            forget = sorted(a for a in keep if a in present)
            if forget:
                runner((chdir, "state", "rm", *forget))
            result.kept += [f"{stack.name}: {address} ({why})" for address, why in sorted(keep.items()) if address in present]
            if destroy_data:
                for bucket in _buckets_to_empty(document, keep, present):
                    removed = (empty_bucket or _empty_bucket(env))(bucket)
                    say(f"emptied {bucket}: {removed} object versions deleted")
            say(f"{stack.layer}: terraform destroy ({stack.name})")
            runner((chdir, "destroy", "-input=false", "-auto-approve"))
            result.layers.append(LayerOutcome(stack.name, stack.layer, "destroyed"))
    Progress(env).forget()
    return result


def _refuse_local(env: Environment, verb: str) -> None:
    if not env.is_cloud:
        raise ConfigError(f"{env.name!r} runs on this machine, not in AWS: `sahab {verb} {env.name}` takes the local path")


def _credentials(find: Callable[[], str], *, optional: bool) -> str:
    try:
        return find()
    except ConfigError:
        if optional:
            return ""
        raise


def _synth_and_gate(env: Environment, outdir: Path | None, reports_dir: Path | None) -> tuple[Sequence[StackLike], GateRun]:
    from infra.synth import synth

    stacks = synth([env], outdir).stacks
    targets = [ScanTarget(name=s.name, file=s.path) for s in stacks]
    targets += manifest_targets(stacks[0].path.parents[2], [env.name])
    gate = check_targets(targets, reports_dir=reports_dir, allowed_regions=env.allowed_regions)
    require_clean(gate)
    return stacks, gate


def _buckets_to_empty(document: dict[str, Any], keep: dict[str, str], present: set[str]) -> list[str]:
    """Physical names of the buckets ``destroy`` will delete (in state, not kept), known only when literal."""
    buckets = []
    for name, body in document.get("resource", {}).get("aws_s3_bucket", {}).items():
        address = f"aws_s3_bucket.{name}"
        if address in present and address not in keep:
            buckets.append(str(body.get("bucket", "")))
    return buckets


def _empty_bucket(env: Environment) -> Callable[[str], int]:
    import boto3

    session = boto3.Session()
    account = session.client("sts", region_name=env.region).get_caller_identity()["Account"]
    s3 = session.client("s3", region_name=env.region)

    def empty(template: str) -> int:
        bucket = template.replace("${data.aws_caller_identity.CallerIdentity.account_id}", account)
        removed = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
            removed += len(doomed)
        return removed

    return empty


def _eks_api(env: Environment) -> tuple[Any, str]:
    """A client for the environment's EKS cluster, through a kubeconfig written from its endpoint."""
    import boto3
    import yaml

    name = env.resource_name("eks")
    cluster = boto3.Session().client("eks", region_name=env.region).describe_cluster(name=name)["cluster"]
    path = DataPaths(env.data_path()).run / f"kubeconfig-{env.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(name, env.region, cluster["endpoint"],
                                              cluster["certificateAuthority"]["data"])))
    return connect(path), str(path)


def kubeconfig(cluster: str, region: str, endpoint: str, certificate: str) -> dict[str, Any]:
    """A kubeconfig for an EKS cluster whose tokens come from ``aws eks get-token`` (the AWS CLI)."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {"server": endpoint, "certificate-authority-data": certificate}}],
        "users": [{"name": cluster, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--region", region, "--cluster-name", cluster], "interactiveMode": "Never"}}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
    }

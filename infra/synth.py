"""Synthesise environments into Terraform JSON: ``cdktf.out/stacks/<env>-<layer>/cdk.tf.json``.

Beside the stacks, each cloud environment's workloads are rendered once as Kubernetes objects into
``cdktf.out/manifests/<env>/workloads.yaml``: the file the policy gate scans with Checkov's Kubernetes
framework (as the stack ``<env>-manifests``) and a reviewer reads in a pull request.

All environments are built in one cdktf App in one process, because importing the AWS bindings costs
~20-40 s and the synthesis itself a few seconds. Synthesis runs into a scratch folder and is moved into
place only when it succeeded, so a refused synthesis (a residency violation) writes no stack at all.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from environments import Environment, project_root
from environments.errors import GateFailed

DEFAULT_OUTDIR = "cdktf.out"
MANIFESTS_DIR = "manifests"
MANIFESTS_FILE_NAME = "workloads.yaml"


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    env: str
    layer: str
    path: Path
    resource_count: int
    resource_types: dict[str, int]


@dataclass(frozen=True)
class RenderedManifests:
    """One environment's workloads as Kubernetes objects, written as one multi-document YAML file."""

    name: str
    """``<env>-manifests``: how the gate reports the file."""
    env: str
    path: Path
    object_count: int
    kinds: dict[str, int]


@dataclass(frozen=True)
class SynthResult:
    outdir: Path
    stacks: list[SynthesizedStack]
    local_only: list[str] = field(default_factory=list)
    """Environments that have no cloud stacks (target local)."""
    seconds_import: float = 0.0
    seconds_synth: float = 0.0
    manifests: list[RenderedManifests] = field(default_factory=list)

    def for_env(self, env: str) -> list[SynthesizedStack]:
        return [s for s in self.stacks if s.env == env]


def build_app(app: object, envs: list[Environment]) -> None:
    """Add every cloud environment's layer stacks to ``app`` (shared by ``sahab synth`` and ``cdktf synth``)."""
    from stacks.environment import build_environment

    for env in envs:
        build_environment(app, env)  # type: ignore[arg-type]


def synth(envs: list[Environment], outdir: Path | None = None) -> SynthResult:
    """Synthesise ``envs``; raise ``GateFailed`` (writing nothing) when the residency guard refuses."""
    outdir = (outdir or project_root() / DEFAULT_OUTDIR).resolve()
    cloud = [e for e in envs if e.is_cloud]
    local_only = [e.name for e in envs if not e.is_cloud]
    if not cloud:
        return SynthResult(outdir=outdir, stacks=[], local_only=local_only)

    started = time.perf_counter()
    from stacks.base import LAYERS, SEPARATE_LAYERS
    from modules.cdk import App

    imported = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sahab-synth-") as scratch:
        app = App(outdir=scratch)
        build_app(app, cloud)
        try:
            app.synth()
        except RuntimeError as exc:  # jsii surfaces construct validation errors as RuntimeError
            message = str(exc).removeprefix("Error: ")
            if "Validation failed" in message:
                detail = message.split("\n\nIf you wish to ignore")[0].replace("Validation failed with the following errors:", "")
                raise GateFailed(f"synthesis refused, nothing was written:{detail}") from None
            raise
        finished = time.perf_counter()
        stacks_dir = outdir / "stacks"
        stacks_dir.mkdir(parents=True, exist_ok=True)
        synthesized: list[SynthesizedStack] = []
        for env in cloud:
            for layer in LAYERS + SEPARATE_LAYERS:
                name = f"{env.name}-{layer}"
                source = Path(scratch) / "stacks" / name
                if layer in SEPARATE_LAYERS and not source.is_dir():
                    continue  # an opt-in stack this environment does not have
                target = stacks_dir / name
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(source, target)
                document = json.loads((target / "cdk.tf.json").read_text())
                types = {t: len(r) for t, r in sorted(document.get("resource", {}).items())}
                synthesized.append(
                    SynthesizedStack(
                        name=name, env=env.name, layer=layer, path=target / "cdk.tf.json",
                        resource_count=sum(types.values()), resource_types=types,
                    )
                )
        _merge_manifest(Path(scratch) / "manifest.json", outdir / "manifest.json")
    return SynthResult(
        outdir=outdir, stacks=synthesized, local_only=local_only,
        seconds_import=imported - started, seconds_synth=finished - imported,
        manifests=[write_manifests(env, outdir) for env in cloud],
    )


def manifests_name(env_name: str) -> str:
    return f"{env_name}-manifests"


def write_manifests(env: Environment, outdir: Path) -> RenderedManifests:
    """Render ``env``'s workloads and write them to ``<outdir>/manifests/<env>/workloads.yaml``."""
    from modules.workloads.manifests import render_workloads

    objects = render_workloads(env)
    path = outdir / MANIFESTS_DIR / env.name / MANIFESTS_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    kinds: dict[str, int] = {}
    for obj in objects:
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
    return RenderedManifests(name=manifests_name(env.name), env=env.name, path=path, object_count=len(objects), kinds=kinds)


def _merge_manifest(new: Path, existing: Path) -> None:
    """Keep cdktf's manifest listing every stack synthesised so far (cdktf-cli reads it)."""
    manifest = json.loads(new.read_text())
    if existing.exists():
        previous = json.loads(existing.read_text())
        manifest["stacks"] = {**previous.get("stacks", {}), **manifest.get("stacks", {})}
    existing.write_text(json.dumps(manifest, indent=2, sort_keys=True))

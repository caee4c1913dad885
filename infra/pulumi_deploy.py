"""``sahab deploy ENV --engine pulumi``: the workloads onto a cluster Sahab did not build, after the gate.

Refuses, before anything is rendered, without the ``pulumi`` CLI (the Automation API drives it; it is the
user's install), without a kubeconfig, or without a way to encrypt Pulumi's secrets in a local state. Then:
render the workloads, gate the manifests (Checkov's Kubernetes checks and ours), and only when the gate is
clean run ``pulumi preview`` (``plan``) or ``pulumi up`` (``apply``) on the stack ``<env>`` of the project
``sahab-workloads``. State stays on this machine (``<data>/pulumi``) unless ``PULUMI_BACKEND_URL`` says
otherwise; Pulumi's update check is off.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from environments import Environment
from environments.errors import ConfigError
from infra.cluster import find_kubeconfig
from infra.gate.check import GateRun, check_targets, require_clean
from infra.gate.scan_copy import KUBERNETES, ScanTarget

PULUMI_PROJECT = "sahab-workloads"
Action = Literal["plan", "apply"]


@dataclass(frozen=True)
class PulumiRun:
    env: str
    action: Action
    gate: GateRun
    changes: dict[str, int]
    """Pulumi's summary: resources by operation (create, update, same, delete)."""


def find_pulumi_cli() -> str:
    found = shutil.which("pulumi")
    if found is None:
        raise ConfigError(
            "the Pulumi engine needs the pulumi CLI on PATH (install it from Pulumi's releases; Sahab does not ship "
            "it), or deploy with --engine terraform into a cluster Sahab built"
        )
    return found


def state_settings(env: Environment) -> dict[str, str]:
    """Where Pulumi keeps state and how it encrypts secrets; refuses a local state without a passphrase."""
    backend = os.environ.get("PULUMI_BACKEND_URL") or f"file://{env.paths.root / 'pulumi'}"
    settings = {"PULUMI_BACKEND_URL": backend, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    passphrase = {k: os.environ[k] for k in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE") if k in os.environ}
    if backend.startswith("file://") and not passphrase:
        raise ConfigError(
            "a local Pulumi state needs PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to encrypt its "
            "secrets; set one, or set PULUMI_BACKEND_URL to a backend of your own"
        )
    return {**settings, **passphrase}


def deploy_workloads(
    env: Environment,
    *,
    action: Action = "apply",
    kubeconfig: Path | None = None,
    context: str | None = None,
    outdir: Path | None = None,
    reports_dir: Path | None = None,
) -> PulumiRun:
    """Gate ``env``'s rendered workloads, then preview or apply them with Pulumi."""
    from infra.pulumi_program import workloads_program
    from infra.synth import DEFAULT_OUTDIR, write_manifests

    if not env.is_cloud:
        raise ConfigError(f"{env.name!r} is a local environment: its workloads run on this machine (`sahab up local`)")
    find_pulumi_cli()
    config = find_kubeconfig(kubeconfig)
    settings = state_settings(env)
    manifests = write_manifests(env, outdir or Path(DEFAULT_OUTDIR))
    gate = check_targets([ScanTarget(name=manifests.name, file=manifests.path, framework=KUBERNETES)],
                         reports_dir=reports_dir, allowed_regions=env.allowed_regions)
    require_clean(gate)

    from pulumi import automation

    stack = automation.create_or_select_stack(
        stack_name=env.name, project_name=PULUMI_PROJECT,
        program=workloads_program(env, kubeconfig=str(config), context=context),  # a path: no credential in state
        opts=automation.LocalWorkspaceOptions(env_vars=settings),
    )
    outcome: Any = stack.preview() if action == "plan" else stack.up()
    changes = dict(outcome.change_summary if action == "plan" else (outcome.summary.resource_changes or {}))
    return PulumiRun(env=env.name, action=action, gate=gate, changes={str(k): int(v) for k, v in changes.items()})

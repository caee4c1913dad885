"""Wire one environment's layer stacks together, in deploy order, inside one cdktf App."""

from __future__ import annotations

from dataclasses import dataclass

from environments import Environment
from modules.cdk import App
from stacks.recovery import RecoveryStack
from stacks.base import LayerStack
from stacks.compute import ComputeStack
from stacks.data import DataStack
from stacks.guardrails import GuardrailsStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack
from stacks.workloads import WorkloadsStack


@dataclass(frozen=True)
class EnvironmentStacks:
    security: SecurityStack
    network: NetworkStack
    compute: ComputeStack
    data: DataStack
    workloads: WorkloadsStack
    guardrails: GuardrailsStack | None = None
    """The region guard, when the environment opts in (applied apart, by the management account)."""
    recovery: RecoveryStack | None = None
    """The backup account's copy vault, when the environment names one (applied apart, once)."""

    def in_deploy_order(self) -> list[LayerStack]:
        return [self.security, self.network, self.compute, self.data, self.workloads]


def build_environment(app: App, env: Environment) -> EnvironmentStacks | None:
    """Add ``env``'s stacks to ``app``; ``None`` for a local environment, which has no cloud stacks."""
    if not env.is_cloud:
        return None
    security = SecurityStack(app, env)
    network = NetworkStack(app, env, security=security)
    compute = ComputeStack(app, env, security=security, network=network)
    data = DataStack(app, env, security=security, network=network, compute=compute)
    workloads = WorkloadsStack(app, env, security=security, compute=compute, data=data)
    guardrails = GuardrailsStack(app, env) if env.guardrails.region_guard else None
    recovery = RecoveryStack(app, env) if env.backup.copy_account_id else None
    return EnvironmentStacks(security=security, network=network, compute=compute, data=data, workloads=workloads,
                             guardrails=guardrails, recovery=recovery)

"""``<env>-guardrails``: the account-level region guard, for the organisation's management account.

Opt-in per environment (``guardrails.region_guard: true``). Not one of the environment's layers: ``sahab up`` and
``sahab deploy`` leave it out, because only the management account may manage service control policies; apply it
there with ``sahab deploy ENV --layer guardrails`` (credentials of the management account). It depends on no other
layer and no other layer on it.
"""

from __future__ import annotations

from environments import Environment
from modules.cdk import Construct
from modules.region_guard import RegionGuard, RegionGuardProps
from stacks.base import LayerStack


class GuardrailsStack(LayerStack):
    layer = "guardrails"

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env)
        self.region_guard = RegionGuard(self, "RegionGuard", props=RegionGuardProps(
            policy_name=env.resource_name("region-guard"),
            allowed_regions=tuple(env.allowed_regions),
            target_ids=tuple(env.region_guard_targets),
        ))
        self.output("region_guard_policy_id", self.region_guard.policy.id, "The service control policy's id")

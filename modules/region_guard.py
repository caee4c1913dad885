"""``RegionGuard``: an Organizations service control policy that denies AWS outside the allowed regions.

The policy document comes from ``environments.region_guard`` (one reviewed table of exempted global services);
this construct only makes it an Organizations policy and attaches it to each target (an account or an OU). It
belongs in a stack the organisation's management account applies: member accounts cannot manage SCPs.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments.errors import ConfigError
from environments.region_guard import region_guard_json
from modules.cdk import Construct, organizations_policy, organizations_policy_attachment


@dataclass(frozen=True)
class RegionGuardProps:
    policy_name: str
    """The SCP's name in Organizations, e.g. ``sahab-prod-region-guard``."""
    allowed_regions: tuple[str, ...]
    """Regions where requests are allowed; every other region is denied but for the exempted global actions."""
    target_ids: tuple[str, ...]
    """Accounts or OUs the policy is attached to (at least one: a policy attached nowhere guards nothing)."""


class RegionGuard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RegionGuardProps) -> None:
        super().__init__(scope, construct_id)
        if not props.target_ids:
            raise ConfigError("'guardrails.target_ids' (or 'account_id') must name where the region guard is attached: "
                              "a policy attached nowhere guards nothing", source=f"RegionGuard {props.policy_name!r}")
        if not props.allowed_regions:
            raise ConfigError("the region guard needs at least one allowed region", source=f"RegionGuard {props.policy_name!r}")
        self.policy = organizations_policy.OrganizationsPolicy(
            self, "Policy", name=props.policy_name, type="SERVICE_CONTROL_POLICY",
            description="Sahab: deny AWS outside the UAE regions, except the reviewed global services",
            content=region_guard_json(props.allowed_regions),
        )
        for index, target in enumerate(props.target_ids):
            organizations_policy_attachment.OrganizationsPolicyAttachment(
                self, f"Attachment{index}", policy_id=self.policy.id, target_id=target)

"""IAM policy documents as plain data, so constructs write least-privilege statements in one shape.

Documents are rendered with ``json.dumps``; cdktf tokens inside strings (ARNs, account ids) survive
rendering and are resolved to Terraform interpolations at synth time. Stacks never write policy JSON:
constructs build it here and expose ``grant_*`` methods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One IAM statement. ``principals`` maps a principal type (AWS, Service) to identifiers."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)  # empty for trust policies, which name no resource
    effect: str = "Allow"
    principals: dict[str, tuple[str, ...]] | None = None
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {"Sid": self.sid, "Effect": self.effect}
        if self.principals is not None:
            body["Principal"] = {kind: list(ids) for kind, ids in self.principals.items()}
        body["Action"] = list(self.actions)
        if self.resources:
            body["Resource"] = list(self.resources) if len(self.resources) > 1 else self.resources[0]
        if self.conditions:
            body["Condition"] = self.conditions
        return body


def policy_document(statements: list[Statement]) -> str:
    """Render statements as an IAM policy document (JSON string, version 2012-10-17)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [s.render() for s in statements]}, sort_keys=False)


def assume_role_policy(service: str, conditions: dict[str, dict[str, Any]] | None = None) -> str:
    """Trust policy letting one AWS service principal assume a role."""
    return policy_document(
        [
            Statement(
                sid="AssumeRole",
                actions=("sts:AssumeRole",),
                resources=(),
                principals={"Service": (service,)},
                conditions=conditions or {},
            )
        ]
    )

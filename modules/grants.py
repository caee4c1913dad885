"""Grants: a construct lets a role use it by writing one inline policy beside that role.

The policy lives in the role's scope (the consumer's stack), so the consumer owns the permissions it holds
and the producing layer never depends on its consumers. Every ``grant_*`` method of a construct goes through
``grant``, which also names the policy after the grant and the granting construct (one per pair).
"""

from __future__ import annotations

from modules.cdk import Construct, iam_role, iam_role_policy
from modules.iam import Statement, policy_document


def grant(role: iam_role.IamRole, grant_id: str, granting: Construct, statements: list[Statement]) -> iam_role_policy.IamRolePolicy:
    """Attach ``statements`` to ``role`` as the inline policy ``<grant_id><granting construct id>``."""
    return iam_role_policy.IamRolePolicy(
        role, f"{grant_id}{granting.node.id}", role=role.id, policy=policy_document(statements)
    )

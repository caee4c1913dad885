"""Role policies the gate can read: every inline policy of a role is an ``aws_iam_policy_document``.

cdktf would write a policy as a JSON string, and Checkov's statement-level IAM checks (data exfiltration,
write without constraints, ``Resource "*"`` for restrictable actions) report nothing on a string: a role
granting S3 reads and ``kms:Decrypt`` on ``*`` passed the gate. As a policy document data source the same
statements are evaluated one by one, by Checkov and by ``CKV_SAHAB_39``.

A construct lets a role use it through ``grant``: the policy lives in the role's scope (the consumer's stack),
so the consumer owns the permissions it holds and the producing layer never depends on its consumers.
"""

from __future__ import annotations

from modules.cdk import Construct, data_aws_iam_policy_document, iam_role, iam_role_policy
from modules.iam import Statement

_doc = data_aws_iam_policy_document


def role_policy(scope: Construct, id: str, role: iam_role.IamRole, statements: list[Statement]) -> iam_role_policy.IamRolePolicy:
    """The inline policy ``id`` of ``role``, its statements rendered as an ``aws_iam_policy_document``."""
    document = _doc.DataAwsIamPolicyDocument(scope, f"{id}Document", statement=[
        _doc.DataAwsIamPolicyDocumentStatement(
            sid=statement.sid, effect=statement.effect, actions=list(statement.actions),
            resources=list(statement.resources) or None,
            condition=[
                _doc.DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable,
                                                                values=[str(v) for v in _as_list(value)])
                for test, pairs in statement.conditions.items() for variable, value in pairs.items()
            ] or None,
        )
        for statement in statements
    ])
    return iam_role_policy.IamRolePolicy(scope, id, role=role.id, policy=document.json)


def grant(role: iam_role.IamRole, grant_id: str, granting: Construct, statements: list[Statement]) -> iam_role_policy.IamRolePolicy:
    """Attach ``statements`` to ``role`` as the inline policy ``<grant_id><granting construct id>``, beside the role."""
    return role_policy(role, f"{grant_id}{granting.node.id}", role, statements)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]

"""Per-stack facts every construct needs (account id, partition), created once per stack.

Constructs call these instead of each adding its own ``aws_caller_identity`` data source, so a stack
synthesises one data source however many constructs ask.
"""

from __future__ import annotations

from modules.cdk import IConstruct, TerraformStack, data_aws_caller_identity

#: AWS partition of every UAE region we allow (standard commercial partition).
PARTITION = "aws"


def account_id(scope: IConstruct) -> str:
    """The deploying account's id, as a token resolved by Terraform."""
    stack = TerraformStack.of(scope)
    existing = stack.node.try_find_child("CallerIdentity")
    identity = existing or data_aws_caller_identity.DataAwsCallerIdentity(stack, "CallerIdentity")
    return identity.account_id  # type: ignore[union-attr]


def account_root_arn(scope: IConstruct) -> str:
    """The account principal: statements naming it delegate access control to IAM policies."""
    return f"arn:{PARTITION}:iam::{account_id(scope)}:root"

"""Construct tests: a fresh stack per test with the AWS provider in the UAE region, synthesised with
cdktf's ``Testing`` API and asserted on the parsed JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from iam_documents import policies_by_role

REGION = "me-central-1"


class StackUnderTest:
    """A fresh ``TerraformStack`` plus the environment's keys, as most constructs need them."""

    def __init__(self) -> None:
        from modules.cdk import TerraformStack, Testing, provider
        from modules.keys import Keys, KeysProps

        self.app = Testing.app()
        self.stack = TerraformStack(self.app, "test")
        provider.AwsProvider(self.stack, "aws", region=REGION)
        self.keys = Keys(self.stack, "Keys", props=KeysProps(name_prefix="sahab-test", region=REGION,
                                                             administrator_roles=("sahab-deploy",)))

    def synth(self) -> dict[str, Any]:
        from modules.cdk import Testing

        return json.loads(Testing.synth(self.stack))

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.synth().get("resource", {}).get(resource_type, {})

    def key_ref(self, data_class: str) -> str:
        """The interpolation a same-stack resource uses to name one of the test stack's CMKs."""
        prefix = "Keys_" + "".join(p.capitalize() for p in data_class.split("-")) + "_"
        (address,) = [a for a in self.resources("aws_kms_key") if a.startswith(prefix)]
        return f"${{aws_kms_key.{address}.arn}}"

    def role_policies(self) -> dict[str, list[dict[str, Any]]]:
        """Each role's inline policy statements (rendered as aws_iam_policy_document) in the policy JSON's shape."""
        return policies_by_role(self.synth())

    def only(self, resource_type: str) -> dict[str, Any]:
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.values()))


@pytest.fixture
def sut() -> StackUnderTest:
    return StackUnderTest()


@pytest.fixture
def region() -> str:
    return REGION

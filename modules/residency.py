"""``ResidencyGuard``: an Aspect that fails synthesis when anything would leave the UAE allow-list.

The environment schema already refuses a foreign region, but stacks can be edited and escape hatches
(``add_override``) bypass typed props. This guard reads each provider's and resource's final
configuration, overrides included, and adds a validation error for:

- an AWS provider whose region is not a literal in the allow-list;
- a resource whose own ``region`` argument (AWS provider 6) is outside the allow-list;
- any ARN, service endpoint or region-named string pointing at a region outside the allow-list.

Validation errors make ``app.synth()`` raise, so nothing foreign is ever written. Checkov's
CKV_SAHAB residency checks are the third guard, on the written JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from modules.cdk import IAspect, IConstruct, IValidation, TerraformDataSource, TerraformResource, Token, jsii, provider

#: Region names of every AWS partition: two letters, a direction, a number (eu-west-1, us-gov-east-1, me-central-1).
REGION_PATTERN = re.compile(r"\b((?:af|ap|ca|cn|eu|il|me|mx|sa|us)(?:-gov|-iso[a-z]*)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d)\b")


@jsii.implements(IValidation)
class _Violation:
    def __init__(self, message: str) -> None:
        self.message = message

    def validate(self) -> list[str]:
        return [self.message]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "//":  # cdktf metadata, not configuration
                yield from _strings(key)
                yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def foreign_regions(value: Any, allowed: Iterable[str]) -> set[str]:
    """Region names mentioned anywhere in ``value`` that are not in ``allowed``."""
    allowed_set = set(allowed)
    return {m for s in _strings(value) for m in REGION_PATTERN.findall(s) if m not in allowed_set}


@jsii.implements(IAspect)
class ResidencyGuard:
    def __init__(self, allowed_regions: Iterable[str]) -> None:
        self.allowed_regions = tuple(allowed_regions)
        self.violations: list[str] = []

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, provider.AwsProvider):
            self._check_provider(node)
        elif isinstance(node, (TerraformResource, TerraformDataSource)):
            config = node.to_terraform()
            foreign = foreign_regions(config, self.allowed_regions)
            if foreign:
                self._fail(
                    node,
                    f"residency: {node.node.path} refers to region(s) {sorted(foreign)} outside the UAE allow-list "
                    f"{list(self.allowed_regions)}",
                )

    def _check_provider(self, node: provider.AwsProvider) -> None:
        config = node.to_terraform()
        blocks = config.get("provider", {}).get("aws", [{}])
        for block in blocks if isinstance(blocks, list) else [blocks]:
            region = block.get("region")
            if region is None or Token.is_unresolved(region) or region not in self.allowed_regions:
                self._fail(
                    node,
                    f"residency: AWS provider {node.node.path} must set 'region' to one of {list(self.allowed_regions)} "
                    f"(value: {region!r})",
                )
            foreign = foreign_regions(block, self.allowed_regions)
            if foreign:
                self._fail(node, f"residency: AWS provider {node.node.path} refers to region(s) {sorted(foreign)}")

    def _fail(self, node: IConstruct, message: str) -> None:
        self.violations.append(message)
        node.node.add_validation(_Violation(message))

"""The account-level region guard: an AWS Organizations service control policy (SCP) built from the UAE allow-list.

The stacks keep every resource in the environment's region, but a person or a role in the account could still
create one elsewhere by hand. An SCP attached to the account (or its OU) makes AWS itself refuse any request for a
region outside the allow-list. Some services have no region, or answer only from a fixed one (IAM, STS, billing):
denying them outside the UAE would lock the account out, so they are exempted, each for a reason, from one reviewed
table. Everything else is denied outside the allowed regions; the gate's ``CKV_SAHAB_42`` checks the synthesised
policy against this table and ``tests/environments/test_region_guard.py`` keeps the two equal.

Source for the shape: AWS Organizations User Guide, "Example SCPs: Deny access to AWS based on the requested AWS
Region" (``aws:RequestedRegion`` with ``NotAction``), trimmed to what Sahab and an operator need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: What an SCP denies outside the allowed regions unless exempted here.
STATEMENT_ID = "DenyOutsideTheUaeRegions"
REGION_CONDITION_KEY = "aws:RequestedRegion"
_GUIDE = "AWS Organizations User Guide, example SCP 'Deny access to AWS based on the requested AWS Region'"


@dataclass(frozen=True)
class Exemption:
    """Actions the guard lets through whatever the region, and why."""

    actions: tuple[str, ...]
    reason: str
    source: str


GLOBAL_EXEMPTIONS: tuple[Exemption, ...] = (
    Exemption(("iam:*",), "IAM is global (its endpoint is us-east-1): roles, policies and the OIDC provider of the "
              "cluster live there", _GUIDE),
    Exemption(("sts:*",), "STS tokens for every call, including the global endpoint some SDKs still use", _GUIDE),
    Exemption(("organizations:*",), "the guard itself is managed through Organizations (global)", _GUIDE),
    Exemption(("account:*",), "account settings and region opt-in status (global)", _GUIDE),
    Exemption(("support:*",), "AWS Support cases are global", _GUIDE),
    Exemption(("health:*",), "the AWS Health API answers from us-east-1", _GUIDE),
    Exemption(("budgets:*", "ce:*", "cur:*"), "budgets, Cost Explorer and cost reports are global billing services",
              _GUIDE),
    Exemption(("pricing:*",), "the Price List API answers from us-east-1 (checking Sahab's price table)",
              "AWS Price List API endpoints: us-east-1, eu-central-1, ap-south-1"),
    Exemption(("route53:*", "route53domains:*"), "Route 53 DNS is global (private zones of the VPC included)", _GUIDE),
    Exemption(("s3:ListAllMyBuckets", "s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
              "account-level S3 calls are sent to us-east-1 (listing buckets: sahab bootstrap checks ownership)",
              _GUIDE),
    Exemption(("ec2:DescribeRegions",), "SDKs and Terraform's AWS provider list regions before they pick one", _GUIDE),
)


def exempted_actions() -> tuple[str, ...]:
    """Every exempted action, sorted: the SCP's ``NotAction``."""
    return tuple(sorted(a for e in GLOBAL_EXEMPTIONS for a in e.actions))


def region_guard_policy(allowed_regions: Sequence[str]) -> dict[str, Any]:
    """The SCP document: deny every action but the exempted ones in any region outside ``allowed_regions``."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": STATEMENT_ID,
            "Effect": "Deny",
            "NotAction": list(exempted_actions()),
            "Resource": "*",
            "Condition": {"StringNotEquals": {REGION_CONDITION_KEY: sorted(allowed_regions)}},
        }],
    }


def region_guard_json(allowed_regions: Sequence[str]) -> str:
    """The SCP as the compact JSON Organizations stores (an SCP may hold at most 5,120 characters)."""
    return json.dumps(region_guard_policy(allowed_regions), separators=(",", ":"))

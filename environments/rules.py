"""Validation rules that the environment schema and the cdktf constructs share, written once.

A rule a user can break in ``environments/<env>.yaml`` is checked by the schema before anything runs; a
construct built from Python (a test, another stack) must refuse the same mistake with the same words. So
each rule is a function that returns the problems it finds, each naming the field, the rule and the value;
the schema turns them into one ``ConfigError`` per file, a construct into one ``ConfigError`` per construct.

Node pools (the AMI type each architecture gets is the construct's business, in ``modules/node_pool.py``):

| kind | instance types                        | refusal                                                     |
|------|---------------------------------------|-------------------------------------------------------------|
| cpu  | any, one CPU architecture             | Graviton (arm64) and x86_64 types mixed in one pool          |
| gpu  | NVIDIA families (``GPU_INSTANCE_FAMILIES``), one architecture | a family without a GPU; mixed architectures |
| any  | ``min_size <= desired_size <= max_size`` | sizes out of order                                        |
"""

from __future__ import annotations

import ipaddress

import re
from collections.abc import Mapping, Sequence

# The CIDR rule is the policy gate's own (policies/ imports nothing of ours, so the rule lives there, pure
# Python, and the schema and constructs reuse it): the schema, EksCluster and CKV_SAHAB_29/33 parse alike.
from policies.checks.sahab_policy import allow_list_problems

#: Instance families that carry an NVIDIA GPU; a ``gpu`` pool must use one of them.
GPU_INSTANCE_FAMILIES: tuple[str, ...] = ("p3", "p4d", "p4de", "p5", "p5e", "p5en", "g4dn", "g5", "g6", "g6e", "gr6")

#: Kinds of node pool: general-purpose CPU nodes, or NVIDIA GPU nodes (tainted, NVIDIA AMI).
NODE_POOL_KINDS: tuple[str, ...] = ("cpu", "gpu")

_GRAVITON_FAMILY = re.compile(r"^[a-z]+\d+g[a-z]*$")


def architecture_of(instance_type: str) -> str:
    """``arm64`` for Graviton families (a ``g`` right after the generation digit: m7g, c7gn), else ``x86_64``."""
    family = instance_type.split(".")[0]
    return "arm64" if _GRAVITON_FAMILY.match(family) else "x86_64"


def node_pool_problems(
    *, kind: str, instance_types: Sequence[str], min_size: int, desired_size: int, max_size: int
) -> list[str]:
    """Everything wrong with one node pool's kind, instance types and sizes (empty when it is sound)."""
    problems: list[str] = []
    if not instance_types:
        problems.append("'instance_types' must list at least one EC2 instance type")
    if kind not in NODE_POOL_KINDS:
        problems.append(f"'kind' must be one of {list(NODE_POOL_KINDS)} (value: {kind!r})")
    if min_size > max_size:
        problems.append(f"'min_size' ({min_size}) must be <= 'max_size' ({max_size})")
    elif not min_size <= desired_size <= max_size:
        problems.append(
            f"'desired_size' ({desired_size}) must lie between 'min_size' ({min_size}) and 'max_size' ({max_size})"
        )
    if kind == "gpu":
        not_gpu = [t for t in instance_types if t.split(".")[0] not in GPU_INSTANCE_FAMILIES]
        if not_gpu:
            problems.append(
                f"'instance_types' of a gpu pool must be GPU instances (families {', '.join(GPU_INSTANCE_FAMILIES)}); "
                f"not GPU: {', '.join(not_gpu)}"
            )
    by_architecture: dict[str, list[str]] = {}
    for instance_type in instance_types:
        by_architecture.setdefault(architecture_of(instance_type), []).append(instance_type)
    if len(by_architecture) > 1:
        mixed = " and ".join(f"{arch} ({', '.join(types)})" for arch, types in sorted(by_architecture.items()))
        problems.append(
            f"'instance_types' must share one CPU architecture, one AMI per pool (value mixes {mixed}); "
            "split them into two pools"
        )
    return problems


def public_endpoint_problems(*, enabled: bool, enabled_field: str, cidrs: Sequence[str]) -> list[str]:
    """A public API endpoint needs an allow-list of CIDRs, parsed (never matched as strings): each entry an
    internet range no wider than a /16, and the whole list capped, so split ranges cannot add up to the internet."""
    problems: list[str] = []
    if enabled and not cidrs:
        problems.append(f"'public_access_cidrs' must list CIDRs when '{enabled_field}' is true")
    return problems + allow_list_problems(list(cidrs), "public_access_cidrs", public=True)


def failover_problems(*, multi_az: bool, replicas: int) -> list[str]:
    """Automatic failover across AZs promotes a replica, so it needs at least one."""
    if multi_az and replicas < 1:
        return [f"'replicas' must be >= 1 when 'multi_az' is true (value: {replicas})"]
    return []


def kafka_mode_problems(*, mode: str, accept_aws_owned_key_at_rest: bool) -> list[str]:
    """MSK Serverless cannot encrypt with a customer-managed key: it takes an explicit, named opt-in."""
    if mode == "serverless" and not accept_aws_owned_key_at_rest:
        return [
            "'accept_aws_owned_key_at_rest' must be true when 'mode' is 'serverless': MSK Serverless cannot "
            "encrypt with a customer-managed key (the policy gate fails it); use mode 'provisioned' instead"
        ]
    return []


def weight_problems(weights: Mapping[str, float], *, shadow: str | None = None) -> list[str]:
    """Traffic shares per variant: each in [0, 1], summing to 1; a shadow variant (scored, never answering) 0."""
    problems = [
        f"the weight of '{name}' must be between 0 and 1 (value: {value:g})"
        for name, value in weights.items()
        if not 0.0 <= value <= 1.0
    ]
    total = sum(weights.values())
    if weights and abs(total - 1.0) > 1e-6:
        problems.append(f"the weights of the variants must sum to 1 (sum: {total:g})")
    if shadow is not None and weights.get(shadow, 0.0) != 0.0:
        problems.append(
            f"the weight of the shadow variant '{shadow}' must be 0: it is scored but never answers "
            f"(value: {weights[shadow]:g})"
        )
    return problems


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): a bind only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

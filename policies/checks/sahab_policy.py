"""Rules shared by Sahab's Checkov checks, as pure functions over Checkov's parsed configuration.

Why a separate module: the checks themselves import Checkov and so run only inside Checkov's tool
environment, but the rules (what counts as *our* customer-managed key, which regions are resident,
how an ARN or endpoint names a region) are plain Python. Keeping them free of Checkov imports lets
the project's own tests exercise them directly and keeps every check small: a check picks the
attributes to look at, this module says whether a value is acceptable and, if not, why.

Checkov hands a check each attribute wrapped in a one-element list (``{"region": ["me-central-1"]}``)
and each nested block as a list of dicts; ``attr`` and ``blocks`` undo that.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
from collections.abc import Iterator
from typing import Any

#: AWS regions inside the UAE. Keep in step with ``environments.UAE_RESIDENT_REGIONS["aws"]``
#: (a test asserts it). The gate may narrow the list per scan through ``SAHAB_ALLOWED_REGIONS``;
#: it can never widen it.
UAE_AWS_REGIONS: tuple[str, ...] = ("me-central-1",)
ALLOWED_REGIONS_ENV = "SAHAB_ALLOWED_REGIONS"

#: Actions the account-level region guard may let through outside the UAE: the reviewed table of global services
#: in ``environments.region_guard.GLOBAL_EXEMPTIONS`` (a test keeps the two equal).
REGION_GUARD_EXEMPTIONS: frozenset[str] = frozenset({
    "account:*", "budgets:*", "ce:*", "cur:*", "ec2:DescribeRegions", "health:*", "iam:*", "organizations:*",
    "pricing:*", "route53:*", "route53domains:*", "s3:GetAccountPublicAccessBlock", "s3:ListAllMyBuckets",
    "s3:PutAccountPublicAccessBlock", "sts:*", "support:*",
})

#: Tag keys every taggable resource carries (ISO 27001 A.5.9 inventory, A.5.12 classification).
MANDATORY_TAG_KEYS: tuple[str, ...] = ("owner", "cost-centre", "data-classification", "environment")
DATA_CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "confidential", "restricted")

#: Keys Checkov adds to parsed blocks (line numbers) or cdktf adds (``//`` metadata): never data.
_META_KEYS = frozenset({"__startline__", "__endline__", "start_line", "end_line", "//"})

_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}"
REGION_SHAPE = re.compile(rf"^{_REGION}$")
AVAILABILITY_ZONE_SHAPE = re.compile(rf"^(?P<region>{_REGION})[a-z]$")
_ARN_IN_TEXT = re.compile(r"arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[^:\s\"',]*):")
_ENDPOINT_IN_TEXT = re.compile(
    rf"(?<![a-z0-9])(?P<host_region>{_REGION})\.(?:[a-z0-9-]+\.)*amazonaws\.com(?:\.cn)?"
    rf"|com\.amazonaws\.(?P<service_region>{_REGION})\."
)
_REFERENCE = re.compile(r"^\$\{[^{}]+\}$")
_REGION_REFERENCE = re.compile(r"^\$\{data\.aws_region\.[\w-]+\.(?:name|id|region)\}$")
#: ``${aws_kms_key.<id>.arn}``: a key declared in the same stack.
_OWN_KEY_SAME_STACK = re.compile(r"^\$\{aws_kms_(?:key|replica_key)\.[\w-]+\.(?:arn|id|key_id)\}$")
#: cdktf's cross-stack reference to a key of another stack (output named after ``aws_kms_key<id>``).
_OWN_KEY_CROSS_STACK = re.compile(
    r"^\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.[\w-]*aws_kms_(?:key|replica_key)[\w-]*\}$"
)
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[^:]*):(?P<account>[^:]*):(?P<kind>key|alias)/(?P<name>.+)$")
_OWN_RESOURCE_REFERENCE = re.compile(
    r"^\$\{(?:aws_(?P<type>[\w]+)\.[\w-]+\.[\w.\[\]-]+"
    r"|data\.terraform_remote_state\.[\w-]+\.outputs\.(?P<output>[\w-]+))\}(?::\*)?$"
)  # ``:*`` suffix: CloudTrail names a log group as ``<arn>:*``


# ---- the allow-list ---------------------------------------------------------------------------

def allowed_regions() -> tuple[str, ...]:
    """Resident regions for this scan: the UAE list, narrowed by ``SAHAB_ALLOWED_REGIONS`` if set."""
    requested = [r.strip() for r in os.environ.get(ALLOWED_REGIONS_ENV, "").split(",") if r.strip()]
    if not requested:
        return UAE_AWS_REGIONS
    return tuple(r for r in UAE_AWS_REGIONS if r in requested)


def region_problem(value: Any, field: str) -> str | None:
    """Why a region-valued attribute is not provably resident, or None when it is.

    A literal region must be in the allow-list; a reference is accepted only to ``data.aws_region``
    (which resolves to the provider's region, checked by the provider check). Anything else cannot
    be proven resident before apply, so it fails.
    """
    allowed = allowed_regions()
    if isinstance(value, str) and _REGION_REFERENCE.match(value):
        return None
    if isinstance(value, str) and REGION_SHAPE.match(value):
        if value in allowed:
            return None
        return f"'{field}' is {value!r}, outside the residency allow-list {list(allowed)}"
    if isinstance(value, str) and (zone := AVAILABILITY_ZONE_SHAPE.match(value)):
        if zone["region"] in allowed:
            return None
        return f"'{field}' is zone {value!r} of region {zone['region']!r}, outside the allow-list {list(allowed)}"
    return (
        f"'{field}' is {value!r}, which cannot be proven to be in the allow-list {list(allowed)}: "
        "use a literal UAE region or data.aws_region"
    )


def foreign_arn_regions(text: str) -> list[str]:
    """Regions named by ARNs inside ``text`` that lie outside the allow-list.

    Region-less ARNs (IAM, S3) and wildcards (``*``) name no region and are not reported.
    """
    allowed = allowed_regions()
    return [
        m["region"] for m in _ARN_IN_TEXT.finditer(text) if REGION_SHAPE.match(m["region"]) and m["region"] not in allowed
    ]


def foreign_endpoint_regions(text: str) -> list[str]:
    """Regions named by AWS hostnames (``s3.eu-west-1.amazonaws.com``) or service names
    (``com.amazonaws.eu-west-1.s3``) inside ``text`` that lie outside the allow-list."""
    allowed = allowed_regions()
    found = (m["host_region"] or m["service_region"] for m in _ENDPOINT_IN_TEXT.finditer(text))
    return [region for region in found if region not in allowed]


# ---- keys ---------------------------------------------------------------------------------------

def customer_managed_key_problem(value: Any, field: str) -> str | None:
    """Why ``value`` is not one of our customer-managed KMS keys, or None when it is.

    | value                                                  | verdict                           |
    |--------------------------------------------------------|-----------------------------------|
    | missing / empty                                        | FAIL: AWS-owned or managed key    |
    | ``${aws_kms_key.<id>.arn}`` (same stack)               | ours                              |
    | ``${data.terraform_remote_state.<s>.outputs.<..aws_kms_key..>}`` | ours (cdktf cross-stack)|
    | ``arn:aws:kms:<allowed region>:<acct>:key/<id>``       | ours if the region is allowed     |
    | ``alias/aws/...`` or its ARN                           | FAIL: AWS-managed key             |
    | other reference, bare key id or alias                  | FAIL: cannot be proven ours       |
    """
    if value is None or value == "" or value == []:
        return (
            f"'{field}' is not set, so the service falls back to an AWS-owned or AWS-managed key: "
            "set it to one of our customer-managed keys (a reference to an aws_kms_key)"
        )
    if not isinstance(value, str):
        return f"'{field}' must name one of our customer-managed keys (value: {value!r})"
    if _OWN_KEY_SAME_STACK.match(value) or _OWN_KEY_CROSS_STACK.match(value):
        return None
    if value.startswith("alias/aws/"):
        return f"'{field}' is the AWS-managed key {value!r}: use one of our customer-managed keys"
    arn = _KMS_ARN.match(value)
    if arn:
        if arn["kind"] == "alias" and arn["name"].startswith("aws/"):
            return f"'{field}' is the AWS-managed key {value!r}: use one of our customer-managed keys"
        if arn["region"] not in allowed_regions():
            return f"'{field}' is a key in region {arn['region']!r}, outside the allow-list {list(allowed_regions())}"
        return None
    if _REFERENCE.match(value):
        return f"'{field}' references {value}, which is not an aws_kms_key: reference the key itself"
    return (
        f"'{field}' is a bare key id or alias ({value!r}), which cannot be proven customer-managed: "
        "reference the aws_kms_key or give its full ARN"
    )


# ---- references ---------------------------------------------------------------------------------

def is_reference(value: Any) -> bool:
    """True for a whole-value Terraform interpolation such as ``${aws_s3_bucket.x.arn}``."""
    return isinstance(value, str) and bool(_REFERENCE.match(value))


def own_resource_problem(value: Any, field: str, resource_hint: str) -> str | None:
    """Why ``value`` is not a reference to a resource of our own stacks, or None when it is.

    Our stacks' providers are pinned to resident regions, so a destination that is one of our
    resources is resident; a literal name (a bucket, a stream) or a foreign ARN is not provable.
    ``resource_hint`` (e.g. ``s3_bucket``) must appear in the referenced type or cross-stack output.
    """
    if isinstance(value, str):
        ref = _OWN_RESOURCE_REFERENCE.match(value)
        if ref and resource_hint in (ref["type"] or ref["output"] or ""):
            return None
        arn = _ARN_IN_TEXT.match(value)
        if arn and REGION_SHAPE.match(arn["region"]):
            if arn["region"] in allowed_regions():
                return None
            return f"'{field}' points to region {arn['region']!r}, outside the allow-list {list(allowed_regions())}"
    wanted = f"an aws_{resource_hint}" if resource_hint else "a resource"
    return (
        f"'{field}' is {value!r}: it must reference {wanted} of our stacks "
        "(or be an ARN in an allowed region) so its residency can be proven"
    )


# ---- Checkov's parsed configuration -----------------------------------------------------------

def attr(conf: Any, key: str, default: Any = None) -> Any:
    """The value of attribute ``key``, unwrapped from Checkov's one-element list."""
    if not isinstance(conf, dict) or key not in conf:
        return default
    value = conf[key]
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def blocks(conf: Any, key: str) -> list[dict[str, Any]]:
    """The nested blocks named ``key`` (zero or more), as dicts."""
    if not isinstance(conf, dict):
        return []
    value = conf.get(key)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def as_list(value: Any) -> list[Any]:
    """A scalar as a one-element list, ``None`` as empty, a list as itself."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def string_items(value: Any) -> list[str]:
    """The strings in a value that should be a list of strings, however other people's Terraform nests it.

    A module's variable resolves to a list inside a list (``[var.types]``), a ``jsonencode`` may carry a
    map where a string belongs: both must yield a verdict, never ``unhashable type: 'list'``.
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for element in value for item in string_items(element)]
    return []


def iter_strings(conf: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string value in a configuration, with its attribute path, skipping metadata."""
    if isinstance(conf, str):
        yield path, conf
    elif isinstance(conf, dict):
        for key, value in conf.items():
            if key not in _META_KEYS:
                yield from iter_strings(value, f"{path}/{key}" if path else str(key))
    elif isinstance(conf, list):
        if len(conf) == 1:  # Checkov's wrapping of a single value or block: no index to show
            yield from iter_strings(conf[0], path)
            return
        for index, value in enumerate(conf):
            yield from iter_strings(value, f"{path}/[{index}]")


def iter_keyed(conf: Any, names: frozenset[str], path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value held under an attribute called one of ``names``, at any depth."""
    if isinstance(conf, dict):
        for key, value in conf.items():
            if key in _META_KEYS:
                continue
            here = f"{path}/{key}" if path else str(key)
            if key in names:
                for item in as_list(value):
                    if not isinstance(item, (dict, list)):
                        yield here, item
            yield from iter_keyed(value, names, here)
    elif isinstance(conf, list):
        if len(conf) == 1:
            yield from iter_keyed(conf[0], names, path)
            return
        for index, value in enumerate(conf):
            yield from iter_keyed(value, names, f"{path}/[{index}]")


# ---- policy documents ---------------------------------------------------------------------------

def policy_statements(document: Any) -> list[dict[str, Any]] | None:
    """Statements of an IAM/KMS/S3 policy given as a JSON string, or None if not literal JSON.

    A policy held in a reference (``${data.aws_iam_policy_document.x.json}``) cannot be read
    before apply; callers treat ``None`` as unprovable.
    """
    if isinstance(document, dict):
        parsed: Any = document
    elif isinstance(document, str):
        try:
            parsed = json.loads(document)
        except ValueError:
            return None
    else:
        return None
    if not isinstance(parsed, dict):
        return None
    return [s for s in as_list(parsed.get("Statement")) if isinstance(s, dict)]


def names_everyone(principal: Any) -> bool:
    """True when a statement's ``Principal`` is anyone: ``"*"`` or ``{"AWS": "*"}``."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in as_list(ids) for ids in principal.values())
    return False


# ---- tags ---------------------------------------------------------------------------------------

def tag_problems(tags: Any, where: str) -> list[str]:
    """What is missing or wrong in a tag map against the mandatory keys and classification."""
    if not isinstance(tags, dict):
        return [f"{where} has no tags: it must carry {list(MANDATORY_TAG_KEYS)}"]
    problems = []
    missing = [key for key in MANDATORY_TAG_KEYS if not tags.get(key)]
    if missing:
        problems.append(f"{where} lacks the mandatory tags {missing}")
    classification = tags.get("data-classification")
    if classification and classification not in DATA_CLASSIFICATIONS:
        problems.append(
            f"{where} has 'data-classification' {classification!r}; it must be one of {list(DATA_CLASSIFICATIONS)}"
        )
    return problems


# ---- Kubernetes workloads -----------------------------------------------------------------------

#: An image in an account's ECR: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest]``.
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[a-z0-9][a-z0-9._/-]*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
#: Tags that float by convention. Keep in step with ``environments.workload_sections.FLOATING_TAGS`` (a test asserts it).
FLOATING_TAGS: frozenset[str] = frozenset({"latest", "stable", "main", "master", "dev", "edge", "nightly"})
#: Kinds that carry a pod template, and where it is.
_POD_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
POD_KINDS: tuple[str, ...] = tuple(_POD_PATHS)
GPU_RESOURCE = "nvidia.com/gpu"
#: The label every GPU node of a Sahab node pool carries (``modules/node_pool.py``).
GPU_NODE_LABEL = "nvidia.com/gpu.present"


def pod_spec_of(obj: Any) -> dict[str, Any] | None:
    """The pod spec inside a workload object, or None when the kind carries none (or it is malformed)."""
    if not isinstance(obj, dict) or obj.get("kind") not in _POD_PATHS:
        return None
    node: Any = obj
    for key in _POD_PATHS[obj["kind"]]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def containers_of(pod: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(where, container)`` for every container and init container, ``where`` as ``containers[<name>]``."""
    found = []
    for field in ("initContainers", "containers"):
        for container in as_list(pod.get(field)):
            if isinstance(container, dict):
                found.append((f"{field}[{container.get('name', '?')}]", container))
    return found


def image_problem(image: Any, where: str) -> str | None:
    """Why an image is not pinned in a resident ECR, or None when it is."""
    match = _ECR_IMAGE.match(image) if isinstance(image, str) else None
    if match is None:
        return (f"{where} image {image!r} is not in an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com/...): "
                "push it to the environment's ECR in the UAE")
    if match["region"] not in allowed_regions():
        return f"{where} image {image!r} is in ECR of region {match['region']!r}, outside the allow-list {list(allowed_regions())}"
    if not match["digest"] and (not match["tag"] or match["tag"] in FLOATING_TAGS):
        return f"{where} image {image!r} is not pinned: use an immutable tag (not {sorted(FLOATING_TAGS)}) or a digest"
    return None


def restricted_pod_problems(pod: dict[str, Any]) -> list[str]:
    """What keeps a pod from Pod Security ``restricted`` (plus limits and an immutable root filesystem)."""
    problems = [f"'{key}' must not be true" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key) is True]
    problems += [f"volume {v.get('name')!r} must not be a hostPath" for v in as_list(pod.get("volumes"))
                 if isinstance(v, dict) and "hostPath" in v]
    pod_context = pod.get("securityContext") if isinstance(pod.get("securityContext"), dict) else {}
    for where, container in containers_of(pod):
        context = container.get("securityContext") if isinstance(container.get("securityContext"), dict) else {}
        if not (context.get("runAsNonRoot") is True or (pod_context.get("runAsNonRoot") is True and context.get("runAsNonRoot") is not False)):
            problems.append(f"{where} must set 'runAsNonRoot: true' (in its securityContext or the pod's)")
        if context.get("privileged") is True:
            problems.append(f"{where} must not be privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where} must set 'allowPrivilegeEscalation: false'")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where} must set 'readOnlyRootFilesystem: true' (mount writable volumes where it writes)")
        drops = as_list((context.get("capabilities") or {}).get("drop")) if isinstance(context.get("capabilities"), dict) else []
        if "ALL" not in drops:
            problems.append(f"{where} must drop all capabilities ('capabilities.drop: [ALL]')")
        limits = (container.get("resources") or {}).get("limits") if isinstance(container.get("resources"), dict) else None
        missing = [r for r in ("cpu", "memory") if not (isinstance(limits, dict) and limits.get(r))]
        if missing:
            problems.append(f"{where} must set resource limits for {missing}")
    return problems


def gpu_placement_problems(pod: dict[str, Any]) -> list[str]:
    """GPUs are asked for only on GPU nodes, and only pods that ask for GPUs tolerate the GPU taint."""
    asking = []
    for where, container in containers_of(pod):
        resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
        if any(isinstance(resources.get(kind), dict) and GPU_RESOURCE in resources[kind] for kind in ("limits", "requests")):
            asking.append(where)
    selector = pod.get("nodeSelector") if isinstance(pod.get("nodeSelector"), dict) else {}
    tolerates = any(isinstance(t, dict) and t.get("key") == GPU_RESOURCE for t in as_list(pod.get("tolerations")))
    if asking and str(selector.get(GPU_NODE_LABEL)).lower() != "true":
        return [f"{', '.join(asking)} ask for {GPU_RESOURCE} but the pod does not select GPU nodes "
                f"('nodeSelector: {{{GPU_NODE_LABEL}: \"true\"}}')"]
    if tolerates and not asking:
        return [f"the pod tolerates the {GPU_RESOURCE} taint but asks for no GPU: it would hold a GPU node idle"]
    return []


# ---- CIDRs: parsed, never matched as strings ------------------------------------------------------

#: The widest single range an allow-list entry may be: more addresses than this is "the internet" in disguise
#: (``0.0.0.0/1`` + ``128.0.0.0/1`` is every IPv4 address without ever writing ``0.0.0.0/0``).
MIN_PREFIX_LENGTH: dict[int, int] = {4: 16, 6: 48}
#: The most addresses a whole allow-list may admit (four /16s; four /48s).
MAX_ALLOWED_ADDRESSES: dict[int, int] = {4: 4 * 2**16, 6: 4 * 2**80}


def is_wider_than_allowed(cidr: Any) -> bool:
    """True for a CIDR that admits more than ``MIN_PREFIX_LENGTH`` allows (``0.0.0.0/0``, ``0.0.0.0/1``, ...)."""
    try:
        network = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return False
    return network.prefixlen < MIN_PREFIX_LENGTH[network.version]


def allow_list_problems(cidrs: list[Any], field: str, *, public: bool) -> list[str]:
    """What is wrong with a CIDR allow-list: unparsable entries, entries or a total wider than the caps, and,
    for an allow-list of a public endpoint (``public``), entries that are not global (internet) ranges."""
    problems: list[str] = []
    totals = {4: 0, 6: 0}
    for entry in cidrs:
        try:
            network = ipaddress.ip_network(str(entry), strict=True)
        except ValueError as exc:
            problems.append(f"'{field}' entry {entry!r} is not a CIDR ({exc})")
            continue
        totals[network.version] += network.num_addresses
        if network.prefixlen < MIN_PREFIX_LENGTH[network.version]:
            problems.append(
                f"'{field}' entry {entry!r} admits {network.num_addresses:,} addresses: each entry must be "
                f"/{MIN_PREFIX_LENGTH[network.version]} or narrower (split ranges add up to the whole internet)"
            )
        elif public and not network.is_global:
            problems.append(f"'{field}' entry {entry!r} is not an internet range: a public endpoint is reached from the internet")
    for version, total in totals.items():
        if total > MAX_ALLOWED_ADDRESSES[version]:
            problems.append(
                f"'{field}' admits {total:,} IPv{version} addresses in all, more than the {MAX_ALLOWED_ADDRESSES[version]:,} allowed"
            )
    return problems


# ---- IAM: data-plane actions must name their resources ---------------------------------------------

#: Actions that read, write or unlock data, or hand out a role: never allowed on ``Resource "*"``.
DATA_PLANE_ACTIONS: tuple[str, ...] = (
    "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:ReEncryptFrom", "kms:Sign", "kms:GenerateMac", "secretsmanager:GetSecretValue", "iam:PassRole", "dynamodb:GetItem",
    "dynamodb:PutItem", "kafka-cluster:ReadData", "kafka-cluster:WriteData", "ssm:GetParameter",
)


def _covers(pattern: str, action: str) -> bool:
    """Whether an IAM action pattern (``s3:Get*``, ``*``) allows ``action`` (IAM matches case-insensitively)."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def unscoped_data_plane_problems(statements: list[dict[str, Any]], where: str) -> list[str]:
    """Allow statements that grant a data-plane action on ``Resource "*"``, each named with its actions.

    ``statements`` use the policy JSON's keys (``Effect``, ``Action``, ``Resource``); an
    ``aws_iam_policy_document`` is passed through ``document_statements`` first.
    """
    problems = []
    for index, statement in enumerate(statements):
        if str(statement.get("Effect", "Allow")) != "Allow" or "*" not in string_items(statement.get("Resource")):
            continue
        granted = sorted({a for pattern in string_items(statement.get("Action")) for a in DATA_PLANE_ACTIONS if _covers(pattern, a)})
        if granted:
            sid = statement.get("Sid") or f"#{index}"
            problems.append(
                f"{where} statement {sid!r} allows {granted} on Resource \"*\": name the buckets, keys, secrets, roles "
                "or topics it may use"
            )
    return problems


def document_statements(conf: Any) -> list[dict[str, Any]]:
    """An ``aws_iam_policy_document``'s ``statement`` blocks in the policy JSON's shape."""
    return [
        {"Sid": attr(block, "sid"), "Effect": attr(block, "effect", "Allow"),
         "Action": string_items(attr(block, "actions")), "Resource": string_items(attr(block, "resources"))}
        for block in blocks(conf, "statement")
    ]


# ---- KMS key policies: named roles, not the whole account ------------------------------------------

#: What the whole account (every principal IAM allows) must never get from a key policy unless the statement
#: names the roles (``aws:PrincipalArn``) or the service (``kms:ViaService``) it is for. ``kms:GenerateMac`` on
#: the pseudonym key turns a customer id into its pseudonym: whoever holds it can re-identify rows by trying ids.
KEY_POLICY_SENSITIVE_ACTIONS: tuple[str, ...] = (
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant", "kms:Decrypt", "kms:Sign",
    "kms:GenerateMac",
)
_ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::[^:]+:root|\d{12})$")
_NARROWING_CONDITION_KEYS = frozenset({"aws:principalarn", "kms:viaservice"})


def _names_account_root(principal: Any) -> bool:
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    return any(_ACCOUNT_ROOT.match(p) for p in string_items(aws))


def _narrowed(statement: dict[str, Any]) -> bool:
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return False
    return any(isinstance(pairs, dict) and {k.lower() for k in pairs} & _NARROWING_CONDITION_KEYS
               for pairs in conditions.values())


def key_policy_role_problems(statements: list[dict[str, Any]]) -> list[str]:
    """Allow statements that hand sensitive key actions to the whole account, or ``kms:Create*`` to anyone."""
    problems = []
    for index, statement in enumerate(statements):
        if str(statement.get("Effect", "Allow")) != "Allow":
            continue
        sid = statement.get("Sid") or f"#{index}"
        actions = string_items(statement.get("Action"))
        if any(pattern.lower() in ("kms:create*", "kms:*", "*") for pattern in actions):
            problems.append(f"statement {sid!r} allows {sorted(a for a in actions if a.endswith('*'))}, which include "
                            "kms:CreateGrant and kms:CreateKey: name the actions (kms:CreateAlias)")
        sensitive = sorted({a for pattern in actions for a in KEY_POLICY_SENSITIVE_ACTIONS if _covers(pattern, a)})
        if sensitive and _names_account_root(statement.get("Principal")) and not _narrowed(statement):
            problems.append(f"statement {sid!r} gives {sensitive} to the whole account: name the roles "
                            "(condition aws:PrincipalArn) or the service (kms:ViaService)")
    return problems


# ---- retention of personal data (UAE PDPL storage limitation) ---------------------------------------

#: Prefixes of the platform's data bucket that hold personal data. Keep in step with
#: ``stacks.data.personal_data_expirations`` (a test asserts it).
PERSONAL_DATA_PREFIXES: tuple[str, ...] = ("predictions/", "offline/")
#: The longest a replaced or deleted version of personal data may outlive the current object.
MAX_NONCURRENT_DAYS_OF_PERSONAL_DATA = 30
#: The longest a Kafka topic without its own ``retention.ms`` may keep records (the broker default's ceiling).
MAX_TOPIC_RETENTION_DAYS = 30
_MS_PER_UNIT = {"log.retention.ms": 1, "log.retention.minutes": 60_000, "log.retention.hours": 3_600_000}


def _days(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rule_prefix(rule: dict[str, Any]) -> Any:
    filters = blocks(rule, "filter")
    return attr(filters[0], "prefix") if filters else attr(rule, "prefix")


def _rule_expires(rule: dict[str, Any]) -> bool:
    return any(attr(e, "days") or attr(e, "date") for e in blocks(rule, "expiration"))


def holds_personal_data(rule: dict[str, Any]) -> bool:
    """A lifecycle rule that gives objects a retention, or is filtered on one of ``PERSONAL_DATA_PREFIXES``."""
    return _rule_expires(rule) or _rule_prefix(rule) in PERSONAL_DATA_PREFIXES


def lifecycle_rule_problems(rule: dict[str, Any], index: int) -> list[str]:
    """Why one lifecycle rule lets personal data outlive its retention, or [] when it does not (or holds none).

    A rule holds personal data when it expires objects after days or on a date (they have a retention) or is filtered on
    one of ``PERSONAL_DATA_PREFIXES``. Such a rule must be enabled, expire current objects, and expire the
    noncurrent versions an expiry, an overwrite or an erasure leaves behind in a versioned bucket.
    """
    if not holds_personal_data(rule):
        return []  # no retention here (a noncurrent-only or delete-marker rule): not personal data
    prefix, expires = _rule_prefix(rule), _rule_expires(rule)
    label = f"rule {attr(rule, 'id') or index!r} (prefix {prefix!r})"
    problems = []
    if attr(rule, "status") != "Enabled":
        problems.append(f"{label} must be 'Enabled' (value: {attr(rule, 'status')!r})")
    if not expires:
        problems.append(f"{label} holds personal data but sets no 'expiration' days: its objects are never deleted")
    noncurrent = blocks(rule, "noncurrent_version_expiration")
    days = _days(attr(noncurrent[0], "noncurrent_days")) if noncurrent else None
    if days is None or not 1 <= days <= MAX_NONCURRENT_DAYS_OF_PERSONAL_DATA:
        problems.append(
            f"{label} must set 'noncurrent_version_expiration' noncurrent_days between 1 and "
            f"{MAX_NONCURRENT_DAYS_OF_PERSONAL_DATA} (value: {days!r}): a versioned bucket keeps every expired or "
            "erased object as a noncurrent version"
        )
    return problems


def server_properties(text: Any) -> dict[str, str] | None:
    """``key=value`` lines of an MSK configuration as a dict; None when it is not a literal string."""
    if not isinstance(text, str) or "${" in text:
        return None
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def topic_retention_problem(properties: dict[str, str]) -> str | None:
    """Why the broker's default topic retention is unset, infinite or longer than ``MAX_TOPIC_RETENTION_DAYS``.

    Kafka reads ``log.retention.ms`` first, then ``.minutes``, then ``.hours``; the first one set decides.
    """
    ceiling_ms = MAX_TOPIC_RETENTION_DAYS * 24 * 3_600_000
    for key, unit_ms in _MS_PER_UNIT.items():
        if key not in properties:
            continue
        value = _days(properties[key])
        if value is None or value < 0:
            return f"'{key}' is {properties[key]!r}: topics would keep records forever; set at most {ceiling_ms} ms"
        if value * unit_ms > ceiling_ms:
            return (f"'{key}' is {properties[key]} ({value * unit_ms / 86_400_000:g} days), longer than "
                    f"{MAX_TOPIC_RETENTION_DAYS} days: lower it to the stream's retention (privacy.stream_days)")
        return None
    return (f"no 'log.retention.ms' (or .minutes, .hours): set it, at most {MAX_TOPIC_RETENTION_DAYS} days, so a topic "
            "without its own retention.ms does not keep raw events for Kafka's default or longer")


# ---- the account-level region guard -------------------------------------------------------------

def region_guard_problems(statements: list[dict[str, Any]]) -> list[str]:
    """Why a service control policy does not deny every region outside the allow-list with only the reviewed
    exemptions (``REGION_GUARD_EXEMPTIONS``), or [] when it does."""
    guards = [s for s in statements if s.get("Effect") == "Deny" and "NotAction" in s and s.get("Resource") == "*"]
    if not guards:
        return ["no Deny statement with NotAction on Resource '*': the policy denies no region"]
    problems = []
    for statement in guards:
        label = statement.get("Sid", "the Deny statement")
        exempted = _as_list(statement["NotAction"])
        extra = sorted(set(exempted) - REGION_GUARD_EXEMPTIONS)
        if extra:
            problems.append(f"{label} exempts {extra}, outside the reviewed table of global services")
        condition = statement.get("Condition", {})
        regions = _as_list(condition.get("StringNotEquals", {}).get("aws:RequestedRegion", []))
        if sorted(regions) != sorted(allowed_regions()):
            problems.append(f"{label} must deny every region but {list(allowed_regions())} "
                            f"(StringNotEquals aws:RequestedRegion is {regions})")
        other = {k for k in condition if k != "StringNotEquals"} | {
            k for k in condition.get("StringNotEquals", {}) if k != "aws:RequestedRegion"}
        if other:
            problems.append(f"{label} has other conditions {sorted(other)} that would narrow whom it denies")
    return problems


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

"""The environment's evidence inventory, read from its synthesised stacks: keys, buckets, logs, the region guard, backups.

An auditor asks "which key encrypts this bucket, and does it rotate?" and wants the answer from what will be
applied, not from a design document. So every fact here is read from ``cdk.tf.json`` through
``infra.diff.terraform_json`` (references such as ``${aws_kms_key.X.arn}``, also across stacks, are resolved to
the key's alias and construct path). Facts that contradict a control are listed as ``problems`` and shown red;
the control rows themselves are decided by the gate's outcomes (``build.py``), not here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from infra.diff.terraform_json import REMOTE_STATE, Block, Key, References, StackDocument
from infra.evidence.model import InventoryItem, InventorySection, Residency

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
BACKUP_TYPES = ("aws_backup_vault", "aws_backup_vault_lock_configuration", "aws_backup_plan", "aws_backup_selection")
LOG_TYPES = ("aws_cloudtrail", "aws_cloudwatch_log_group", "aws_flow_log")
_REGION = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
_ARN = re.compile(r"arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):")


class StackIndex:
    """The environment's stacks with their references resolved: what each inventory function reads."""

    def __init__(self, documents: Mapping[str, StackDocument]) -> None:
        self.documents = documents
        self.references = References(documents)

    def blocks(self, *types: str) -> list[Block]:
        """Resources of ``types`` in every stack, in stack and address order."""
        found = [
            block for document in self.documents.values() for block in document.blocks.values()
            if block.key.mode == "resource" and block.key.type in types
        ]
        return sorted(found, key=lambda b: (b.key.stack, b.key.address))

    def block(self, key: Key) -> Block:
        return self.documents[key.stack].blocks[key]

    def targets(self, block: Block, value: Any, type_: str | None = None) -> list[Block]:
        """The blocks of ours (of ``type_``, if given) that ``value`` of ``block`` references."""
        return [
            self.block(key) for key, _ in self.references.referenced(block.key.stack, value)
            if key.mode == "resource" and (type_ is None or key.type == type_)
        ]

    def related(self, type_: str, attribute: str, to: Block) -> list[Block]:
        """Resources of ``type_`` whose ``attribute`` references ``to`` (a bucket's encryption, a policy's attachment)."""
        return [b for b in self.blocks(type_) if any(t.key == to.key for t in self.targets(b, b.body.get(attribute)))]

    def key_label(self, key: Block) -> str:
        """``alias/sahab-prod-data (prod-security:Keys/Data)``: a key by its alias and where it is defined."""
        aliases = [str(a.body.get("name")) for a in self.related("aws_kms_alias", "target_key_id", key)]
        where = f"{key.key.stack}:{key.path}"
        return f"{', '.join(aliases)} ({where})" if aliases else where

    def label(self, block: Block, value: Any) -> str:
        """A referenced value as a reader wants it: our key by alias, our resource by stack and path, else the literal."""
        if value is None:
            return "none"
        hits = self.targets(block, value)
        if not hits:
            return str(self.references.display(block.key.stack, value))
        return ", ".join(
            self.key_label(hit) if hit.key.type == "aws_kms_key" else f"{hit.key.address} ({hit.key.stack}:{hit.path})"
            for hit in hits
        )

    def our_key(self, block: Block, value: Any) -> bool:
        return bool(self.targets(block, value, "aws_kms_key"))


def _item(block: Block, facts: Sequence[tuple[str, Any]], problems: Sequence[str | None] = ()) -> InventoryItem:
    return InventoryItem(
        stack=block.key.stack, address=block.key.address, path=block.path,
        facts=tuple((label, _text(value)) for label, value in facts),
        problems=tuple(p for p in problems if p),
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) or "none"
    return str(value)


def _first(value: Any) -> Mapping[str, Any]:
    """A nested block as cdktf writes it: a list of one mapping, or the mapping itself."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, Mapping) else {}


def _each(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []
    return [v for v in items if isinstance(v, Mapping)]


# ---- sections ---------------------------------------------------------------------------------------------

def keys(index: StackIndex) -> InventorySection:
    """Every KMS key with its alias and rotation (asymmetric and HMAC keys cannot rotate automatically: said so,
    not red; the pseudonym key's rotation decision is in docs/privacy.md)."""
    items = []
    for key in index.blocks("aws_kms_key"):
        spec = str(key.body.get("customer_master_key_spec", "SYMMETRIC_DEFAULT"))
        symmetric = spec == "SYMMETRIC_DEFAULT"
        rotation_on = bool(key.body.get("enable_key_rotation"))
        if not symmetric:
            kind = "HMAC" if spec.startswith("HMAC_") else "asymmetric"
            rotation = f"not applicable: KMS does not rotate {kind} keys ({spec}) automatically"
        elif rotation_on:
            rotation = f"on, every {key.body.get('rotation_period_in_days', 365)} days"
        else:
            rotation = "off"
        problem = None if rotation_on or not symmetric else "symmetric key without automatic rotation (enable_key_rotation)"
        items.append(_item(key, [
            ("alias", index.key_label(key)), ("spec", spec), ("usage", key.body.get("key_usage", "ENCRYPT_DECRYPT")),
            ("rotation", rotation), ("deletion window", f"{key.body.get('deletion_window_in_days', 30)} days"),
        ], [problem]))
    return InventorySection("KMS keys", ("aws_kms_key",), tuple(items), "no KMS key in the stacks")


def buckets(index: StackIndex) -> InventorySection:
    """Every S3 bucket with its default encryption key, object lock mode and retention, and versioning."""
    items = []
    for bucket in index.blocks("aws_s3_bucket"):
        problems: list[str | None] = []
        encryption = index.related("aws_s3_bucket_server_side_encryption_configuration", "bucket", bucket)
        if not encryption:
            algorithm, key_text = "SSE-S3 (no encryption configuration)", "AWS-owned key"
            problems.append("no default encryption configuration: objects fall back to SSE-S3, an AWS-owned key")
        else:
            default = _first(_first(encryption[0].body.get("rule")).get("apply_server_side_encryption_by_default"))
            algorithm = str(default.get("sse_algorithm"))
            key_value = default.get("kms_master_key_id")
            key_text = index.label(encryption[0], key_value) if key_value else "AWS-managed key (aws/s3)"
            if algorithm not in KMS_ALGORITHMS:
                problems.append(f"sse_algorithm is {algorithm!r}, not SSE-KMS with one of our keys")
            elif not index.our_key(encryption[0], key_value):
                problems.append(f"kms_master_key_id is {key_value!r}: not one of our customer-managed keys")
        lock = index.related("aws_s3_bucket_object_lock_configuration", "bucket", bucket)
        if lock:
            retention = _first(_first(lock[0].body.get("rule")).get("default_retention"))
            period = (f"{retention['days']} days" if "days" in retention
                      else f"{retention['years']} years" if "years" in retention else "no default retention")
            lock_text = f"{retention.get('mode', 'no mode')}, {period}"
        else:
            lock_text = "none"
        versioning = index.related("aws_s3_bucket_versioning", "bucket", bucket)
        status = _first(versioning[0].body.get("versioning_configuration")).get("status") if versioning else "off"
        items.append(_item(bucket, [
            ("bucket", index.label(bucket, bucket.body.get("bucket"))), ("encryption", algorithm), ("key", key_text),
            ("object lock", lock_text), ("versioning", status),
        ], problems))
    return InventorySection("S3 buckets", ("aws_s3_bucket",), tuple(items), "no S3 bucket in the stacks")


def log_destinations(index: StackIndex) -> InventorySection:
    """CloudTrail trails, CloudWatch log groups (key, retention) and VPC flow logs, with where each writes."""
    items = []
    for block in index.blocks(*LOG_TYPES):
        body, type_ = block.body, block.key.type
        if type_ == "aws_cloudwatch_log_group":
            key = body.get("kms_key_id")
            items.append(_item(block, [
                ("log group", body.get("name")), ("key", index.label(block, key)),
                ("retention", f"{body['retention_in_days']} days" if "retention_in_days" in body else "never expires"),
            ], [None if index.our_key(block, key) else "log group not encrypted with one of our keys (kms_key_id)"]))
        elif type_ == "aws_cloudtrail":
            key = body.get("kms_key_id")
            items.append(_item(block, [
                ("trail", body.get("name")), ("bucket", index.label(block, body.get("s3_bucket_name"))),
                ("log group", index.label(block, body.get("cloud_watch_logs_group_arn"))), ("key", index.label(block, key)),
                ("all regions", bool(body.get("is_multi_region_trail"))),
                ("log file validation", bool(body.get("enable_log_file_validation"))),
            ], [None if index.our_key(block, key) else "trail files not encrypted with one of our keys (kms_key_id)"]))
        else:
            items.append(_item(block, [
                ("flow log", body.get("traffic_type", "ALL")),
                ("destination", index.label(block, body.get("log_destination"))),
                ("destination type", body.get("log_destination_type", "cloud-watch-logs")),
            ]))
    return InventorySection("Log destinations", LOG_TYPES, tuple(items), "no log destination in the stacks")


def region_guard(index: StackIndex) -> InventorySection:
    """The Organizations SCP that denies regions outside the UAE, with the regions it allows and its targets."""
    items = []
    for policy in index.blocks("aws_organizations_policy"):
        allowed: list[str] = []
        try:
            content = json.loads(str(policy.body.get("content", "{}")))
        except json.JSONDecodeError:
            content = {}
        statements = content.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            condition = statement.get("Condition", {}).get("StringNotEquals", {})
            allowed += list(condition.get("aws:RequestedRegion", []))
        targets = [a.body.get("target_id") for a in index.related("aws_organizations_policy_attachment", "policy_id", policy)]
        items.append(_item(policy, [
            ("policy", policy.body.get("name")), ("type", policy.body.get("type")),
            ("regions allowed", sorted(set(allowed))), ("attached to", targets),
        ], [
            None if allowed else "the policy denies no region outside an allow-list (no aws:RequestedRegion condition)",
            None if targets else "the policy is attached to no account or organisational unit",
        ]))
    return InventorySection(
        "Region guard", ("aws_organizations_policy",), tuple(items),
        "not enabled: no aws_organizations_policy in this environment's stacks (guardrails.region_guard in its "
        "environment file; the organisation's management account applies it)",
    )


def backups(index: StackIndex) -> InventorySection:
    """Backup vaults (key, lock), plans (rules, copy destinations) and selections (what is backed up)."""
    describe: dict[str, Callable[[Block], InventoryItem]] = {
        "aws_backup_vault": lambda b: _item(b, [
            ("vault", b.body.get("name")), ("key", index.label(b, b.body.get("kms_key_arn"))),
        ], [None if index.our_key(b, b.body.get("kms_key_arn")) else "vault not encrypted with one of our keys (kms_key_arn)"]),
        "aws_backup_vault_lock_configuration": lambda b: _item(b, [
            ("vault", index.label(b, b.body.get("backup_vault_name"))),
            ("mode", "compliance (immutable after the grace period)" if "changeable_for_days" in b.body else "governance"),
            ("retention", f"{b.body.get('min_retention_days', 'any')}-{b.body.get('max_retention_days', 'any')} days"),
        ]),
        "aws_backup_plan": lambda b: _item(b, [("plan", b.body.get("name")), *(_plan_rules(index, b))]),
        "aws_backup_selection": lambda b: _item(b, [
            ("selection", b.body.get("name")), ("plan", index.label(b, b.body.get("plan_id"))),
            ("resources", [index.label(b, r) for r in b.body.get("resources", [])]),
        ]),
    }
    items = tuple(describe[block.key.type](block) for block in index.blocks(*BACKUP_TYPES))
    return InventorySection("Backups", BACKUP_TYPES, items, f"no backup resources in the stacks ({', '.join(BACKUP_TYPES)})")


def _plan_rules(index: StackIndex, plan: Block) -> Iterator[tuple[str, str]]:
    for rule in _each(plan.body.get("rule")):
        copies = [index.label(plan, c.get("destination_vault_arn")) for c in _each(rule.get("copy_action"))]
        lifecycle = _first(rule.get("lifecycle"))
        yield (f"rule {rule.get('rule_name')}", "; ".join([
            f"vault {index.label(plan, rule.get('target_vault_name'))}",
            f"schedule {rule.get('schedule', 'none')}",
            f"deleted after {lifecycle.get('delete_after', 'never')} days",
            f"copies to {', '.join(copies) or 'none'}",
        ]))


def inventory(index: StackIndex) -> tuple[InventorySection, ...]:
    return (keys(index), buckets(index), log_destinations(index), region_guard(index), backups(index))


# ---- residency ---------------------------------------------------------------------------------------------

def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its attribute path."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _strings(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for number, child in enumerate(value):
            yield from _strings(child, f"{path}[{number}]")
    elif isinstance(value, str):
        yield path, value


def _regions_in(place: str, value: Any) -> Iterator[tuple[str, str]]:
    """``(place, region)`` for each region a value names: a ``region`` attribute or an ARN's region field."""
    for path, text in _strings(value, ""):
        leaf = path.rsplit(".", 1)[-1].split("[")[0]
        if (leaf == "region" or leaf.endswith("_region")) and _REGION.match(text):
            yield f"{place} {path}", text
        for arn in _ARN.finditer(text):
            if _REGION.match(arn["region"]):
                yield f"{place} {path} (ARN)", arn["region"]


def residency(
    env_name: str, allowed_regions: Sequence[str], documents: Mapping[str, StackDocument],
    sections: Sequence[InventorySection],
) -> Residency:
    """The "system of record in the UAE" statement: true only if no provider, backend, remote state, attribute or
    ARN of the environment's stacks names a region outside ``allowed_regions``."""
    seen: list[tuple[str, str]] = []
    backend_text = "none"
    for name, document in sorted(documents.items()):
        seen += _regions_in(f"{name} provider", document.settings.get("provider", {}))
        backend = document.settings.get("backend", {})
        seen += _regions_in(f"{name} backend", backend)
        if "s3" in backend:
            backend_text = f"S3 bucket {backend['s3'].get('bucket')} in {backend['s3'].get('region')}"
        elif backend:
            backend_text = f"{', '.join(backend)} backend"
        remote = document.raw.get("data", {}).get(REMOTE_STATE, {})
        seen += _regions_in(f"{name} data.{REMOTE_STATE}", remote)
        for block in document.blocks.values():
            seen += _regions_in(f"{name}:{block.key.address}", block.body)
    problems = tuple(sorted(
        f"{place} names region {region!r}, outside the allowed regions {list(allowed_regions)}"
        for place, region in seen if region not in allowed_regions
    ))
    if not any(document.settings.get("provider") for document in documents.values()):
        problems += ("no provider block in the stacks: the region of the resources cannot be proven",)
    counts = {s.title: len(s.items) for s in sections}
    regions = ", ".join(allowed_regions)
    statement = (
        f"System of record in the UAE: {env_name}'s Terraform state backend ({backend_text}), "
        f"{counts.get('S3 buckets', 0)} buckets, {counts.get('KMS keys', 0)} keys, "
        f"{counts.get('Log destinations', 0)} log destinations and {counts.get('Backups', 0)} backup resources are "
        f"declared in its {len(documents)} stacks, whose providers, backend, remote state, region attributes and "
        f"ARNs name only {regions}"
        + ("." if not problems else f" — NOT TRUE: {len(problems)} place(s) name another region.")
    )
    return Residency(
        statement=statement, status="fail" if problems else "pass",
        regions_seen=tuple(sorted({region for _, region in seen})), problems=problems,
    )

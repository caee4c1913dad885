"""A monthly cost estimate of one environment, read from its synthesised Terraform JSON and a dated price table.

It prices what the JSON states (node pools at their desired size, their root volumes, NAT gateways and their
public addresses, interface endpoints per zone, MSK brokers and their storage, ElastiCache nodes, the EKS
control plane, keys, secrets) and, for what it cannot state (bytes in a bucket, a registry or a log group), the
table's named assumptions. It reads the same JSON that the gate scans, so the base and the head of a pull
request are priced the same way. Usage-based charges (NAT data, requests, transfer) are not estimated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PRICE_TABLE = Path(__file__).with_name("me-central-1.yaml")
_RESOURCE_NAME = re.compile(r"\$\{aws_launch_template\.([A-Za-z0-9_\-]+)\.")
_PLAN_NAME = re.compile(r"\$\{aws_backup_plan\.([A-Za-z0-9_\-]+)\.")


@dataclass(frozen=True)
class PriceTable:
    region: str
    date: str
    source: str
    aed_per_usd: float
    hours_per_month: int
    hourly_usd: Mapping[str, Any]
    spot_share: float
    monthly_usd: Mapping[str, float]
    assumed_monthly_gb: Mapping[str, float]

    def per_month_aed(self, hourly_usd: float) -> float:
        return hourly_usd * self.hours_per_month * self.aed_per_usd

    def monthly_aed(self, item: str, quantity: float = 1.0) -> float:
        return self.monthly_usd[item] * quantity * self.aed_per_usd


@dataclass(frozen=True)
class CostLine:
    key: str
    """What the line prices, stable across quantities (``smb-compute:aws_eks_node_group.CpuPool_NodeGroup_1#instances``):
    how two estimates pair up."""
    item: str
    """What is priced, e.g. ``CpuPool/NodeGroup: 2 × m7i.large``."""
    monthly_aed: float
    unpriced: str = ""
    """Why no price was found (a type missing from the table); the line then counts 0."""


@cache
def load_prices(path: Path = PRICE_TABLE) -> PriceTable:
    return PriceTable(**yaml.safe_load(path.read_text()))


def estimate(
    stacks: Mapping[str, Mapping[str, Any]], prices: PriceTable | None = None, renamed: Mapping[str, str] | None = None
) -> list[CostLine]:
    """Cost lines for the resources of ``stacks`` (cdktf JSON documents by stack name); ``renamed`` maps a
    ``<stack>:<address>`` to the one its lines are keyed by (a moved resource's new address)."""
    renamed = renamed or {}
    prices = prices or load_prices()
    lines: list[CostLine] = []
    for stack, document in stacks.items():
        resources = document.get("resource", {})
        for type_, named in sorted(resources.items()):
            for name, body in sorted(named.items()):
                path = body.get("//", {}).get("metadata", {}).get("path", name).split("/", 1)[-1]
                # keyed by Terraform address, so a moved resource's lines pair up with the base's (``renamed``)
                key = renamed.get(f"{stack}:{type_}.{name}", f"{stack}:{type_}.{name}")
                lines += [replace(line, key=f"{key}#{line.key}") for line in _price(type_, path, body, resources, prices)]
    return lines


def _price(
    type_: str, path: str, body: Mapping[str, Any], resources: Mapping[str, Any], prices: PriceTable
) -> list[CostLine]:
    hourly, assumed = prices.hourly_usd, prices.assumed_monthly_gb
    if type_ == "aws_eks_cluster":
        return [CostLine("control-plane", f"{path}: EKS control plane", prices.per_month_aed(hourly["eks_cluster"]))]
    if type_ == "aws_eks_node_group":
        return _node_group(path, body, resources, prices)
    if type_ == "aws_nat_gateway":
        return [CostLine("nat", f"{path}: NAT gateway", prices.per_month_aed(hourly["nat_gateway"]))]
    if type_ == "aws_eip":
        return [CostLine("ipv4", f"{path}: public IPv4 address", prices.per_month_aed(hourly["public_ipv4"]))]
    if type_ == "aws_vpc_endpoint" and body.get("vpc_endpoint_type") == "Interface":
        zones = len(body.get("subnet_ids", []))
        return [CostLine("endpoint", f"{path}: interface endpoint × {zones} zones",
                         prices.per_month_aed(hourly["interface_endpoint_per_az"] * zones))]
    if type_ == "aws_msk_cluster":
        info = body.get("broker_node_group_info", {})
        brokers = int(body.get("number_of_broker_nodes", 0))
        storage = int(info.get("storage_info", {}).get("ebs_storage_info", {}).get("volume_size", 0))
        return [
            _per_type("brokers", f"{path}: {brokers} × {{}} brokers", hourly["msk"], info.get("instance_type", ""),
                      brokers, prices),
            CostLine("storage", f"{path}: {brokers} × {storage} GB broker storage",
                     prices.monthly_aed("msk_storage_gb", brokers * storage)),
        ]
    if type_ == "aws_elasticache_replication_group":
        nodes = int(body.get("num_cache_clusters") or
                    int(body.get("num_node_groups", 1)) * (int(body.get("replicas_per_node_group", 0)) + 1))
        return [_per_type("nodes", f"{path}: {nodes} × {{}} nodes", hourly["elasticache"], body.get("node_type", ""),
                          nodes, prices)]
    if type_ == "aws_kms_key":
        return [CostLine("key", f"{path}: KMS key", prices.monthly_aed("kms_key"))]
    if type_ == "aws_secretsmanager_secret":
        return [CostLine("secret", f"{path}: secret", prices.monthly_aed("secret"))]
    if type_ == "aws_s3_bucket":
        gb = assumed["bucket"]
        return [CostLine("storage", f"{path}: S3 storage, {gb:g} GB assumed", prices.monthly_aed("s3_standard_gb", gb))]
    if type_ == "aws_backup_selection":
        return _backup_selection(path, body, resources, prices)
    if type_ == "aws_ecr_repository":
        gb = assumed["ecr_repository"]
        return [CostLine("storage", f"{path}: image storage, {gb:g} GB assumed", prices.monthly_aed("ecr_gb", gb))]
    if type_ == "aws_cloudwatch_log_group":
        gb = assumed["log_group"]
        return [CostLine("logs", f"{path}: logs, {gb:g} GB ingested assumed", prices.monthly_aed("logs_ingested_gb", gb))]
    return []


def _backup_selection(path: str, body: Mapping[str, Any], resources: Mapping[str, Any], prices: PriceTable) -> list[CostLine]:
    """Recovery points of the selected buckets (one full copy of each assumed), and as much again per copy action."""
    buckets = [r for r in body.get("resources", []) if str(r).startswith("${aws_s3_bucket.")]
    gb = prices.assumed_monthly_gb["bucket"] * len(buckets)
    plan = _PLAN_NAME.search(str(body.get("plan_id", "")))
    rules = resources.get("aws_backup_plan", {}).get(plan[1], {}).get("rule", []) if plan else []
    copies = sum(len(rule.get("copy_action", [])) for rule in rules)
    lines = [CostLine("recovery-points", f"{path}: backups of {len(buckets)} buckets, {gb:g} GB assumed",
                      prices.monthly_aed("backup_s3_gb", gb))]
    if copies:
        lines.append(CostLine("copies", f"{path}: {copies} copy of them in the backup account",
                              prices.monthly_aed("backup_s3_gb", gb * copies)))
    return lines


def _node_group(path: str, body: Mapping[str, Any], resources: Mapping[str, Any], prices: PriceTable) -> list[CostLine]:
    """The pool's desired nodes of its first instance type (the one EKS prefers), and their root volumes."""
    nodes = int(body.get("scaling_config", {}).get("desired_size", 0))
    instance_type = (body.get("instance_types") or [""])[0]
    spot = body.get("capacity_type") == "SPOT"
    line = _per_type("instances", f"{path}: {nodes} × {{}}{' spot' if spot else ''}", prices.hourly_usd["ec2"],
                     instance_type, nodes, prices, share=prices.spot_share if spot else 1.0)
    template = _RESOURCE_NAME.search(str(body.get("launch_template", {}).get("id", "")))
    volume_gb = 0
    if template:
        mappings = resources.get("aws_launch_template", {}).get(template[1], {}).get("block_device_mappings", [])
        volume_gb = sum(int(m.get("ebs", {}).get("volume_size", 0)) for m in mappings)
    disk = CostLine("volumes", f"{path}: {nodes} × {volume_gb} GB gp3 root volumes",
                    prices.monthly_aed("gp3_gb", nodes * volume_gb))
    return [line, disk]


def _per_type(key: str, item: str, table: Mapping[str, float], instance_type: str, count: int, prices: PriceTable,
              share: float = 1.0) -> CostLine:
    """``count`` instances of ``instance_type`` priced from ``table``, or an unpriced line naming the type."""
    label = item.format(instance_type)
    if instance_type not in table:
        why = f"{instance_type!r} is not in the price table {PRICE_TABLE.name} ({prices.date})"
        return CostLine(key, label, 0.0, unpriced=why)
    return CostLine(key, label, prices.per_month_aed(table[instance_type] * count * share))

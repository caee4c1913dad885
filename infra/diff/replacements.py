"""Which changed attributes make Terraform replace a resource, and which lists it compares as sets.

Taken from the AWS provider's schema notes ("Forces new resource" in the resource documentation of
hashicorp/aws 6.x, the major version the pinned bindings generate; the kubernetes provider's notes for
``kubernetes_manifest``). Only the resource types Sahab ships are listed, with the attributes a change in
this repository can touch; a type not listed here is shown as an in-place change and the table is the
place to add it. Paths are dotted, without list indexes (``broker_node_group_info.client_subnets``); a
change at or below a listed path forces replacement.
"""

from __future__ import annotations

import re

FORCES_REPLACEMENT: dict[str, tuple[str, ...]] = {
    "aws_s3_bucket": ("bucket", "bucket_prefix", "object_lock_enabled"),
    "aws_s3_bucket_policy": ("bucket",),
    "aws_s3_bucket_versioning": ("bucket",),
    "aws_s3_bucket_server_side_encryption_configuration": ("bucket",),
    "aws_s3_bucket_public_access_block": ("bucket",),
    "aws_s3_bucket_lifecycle_configuration": ("bucket",),
    "aws_s3_bucket_ownership_controls": ("bucket",),
    "aws_s3_bucket_notification": ("bucket",),
    "aws_s3_bucket_object_lock_configuration": ("bucket",),
    "aws_kms_key": ("customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id"),
    "aws_kms_alias": ("name", "name_prefix"),
    "aws_vpc": ("cidr_block",),
    "aws_subnet": ("vpc_id", "cidr_block", "availability_zone", "availability_zone_id"),
    "aws_nat_gateway": ("allocation_id", "subnet_id", "connectivity_type"),
    "aws_route_table_association": ("subnet_id", "gateway_id"),
    "aws_route": ("route_table_id", "destination_cidr_block", "destination_ipv6_cidr_block"),
    "aws_vpc_endpoint": ("vpc_id", "service_name", "vpc_endpoint_type"),
    "aws_security_group": ("name", "name_prefix", "vpc_id", "description"),
    "aws_flow_log": ("vpc_id", "log_destination", "log_destination_type", "traffic_type", "iam_role_arn",
                     "max_aggregation_interval"),
    "aws_eks_cluster": ("name", "role_arn", "encryption_config", "kubernetes_network_config.service_ipv4_cidr",
                        "kubernetes_network_config.ip_family", "bootstrap_self_managed_addons"),
    "aws_eks_node_group": ("cluster_name", "node_group_name", "node_group_name_prefix", "node_role_arn", "subnet_ids",
                           "instance_types", "capacity_type", "ami_type", "disk_size", "remote_access"),
    "aws_launch_template": ("name", "name_prefix"),
    "aws_iam_role": ("name", "name_prefix", "path"),
    "aws_iam_role_policy": ("name", "name_prefix", "role"),
    "aws_iam_role_policy_attachment": ("role", "policy_arn"),
    "aws_iam_openid_connect_provider": ("url",),
    "aws_msk_cluster": ("cluster_name", "broker_node_group_info.client_subnets", "broker_node_group_info.security_groups",
                        "encryption_info.encryption_at_rest_kms_key_arn", "broker_node_group_info.az_distribution"),
    "aws_msk_configuration": ("name", "kafka_versions"),
    "aws_elasticache_replication_group": ("replication_group_id", "at_rest_encryption_enabled", "kms_key_id",
                                          "subnet_group_name", "engine", "num_node_groups_initial"),
    "aws_elasticache_subnet_group": ("name",),
    "aws_secretsmanager_secret": ("name", "name_prefix"),
    "aws_cloudwatch_log_group": ("name", "name_prefix"),
    "aws_cloudtrail": ("name",),
    "aws_ecr_repository": ("name", "encryption_configuration"),
    "aws_ecr_lifecycle_policy": ("repository",),
    "aws_eip": ("domain", "network_border_group"),
    "kubernetes_manifest": ("manifest.apiVersion", "manifest.kind", "manifest.metadata.name",
                            "manifest.metadata.namespace"),
}

#: Attributes the AWS provider declares as sets (order carries no meaning, so a reordering is no change).
SET_ATTRIBUTES: frozenset[str] = frozenset({
    "subnet_ids", "security_group_ids", "vpc_security_group_ids", "security_groups", "client_subnets",
    "instance_types", "enabled_cluster_log_types", "route_table_ids", "thumbprint_list", "client_id_list",
    "managed_policy_arns", "event_selector", "data_resource", "values", "actions", "not_actions", "resources",
    "not_resources", "identifiers", "statement", "condition", "principals", "ignore_changes", "resources_types",
    "kafka_versions", "events", "rule", "tag_specifications",
})

_INDEX = re.compile(r"\[\d+\]")


def schema_path(path: str) -> str:
    """``rule[0].apply_server_side_encryption_by_default.sse_algorithm`` → without list indexes."""
    return _INDEX.sub("", path)


def forces_replacement(resource_type: str, path: str) -> bool:
    """Whether changing ``path`` of a ``resource_type`` makes Terraform destroy and re-create it."""
    plain = schema_path(path)
    return any(plain == p or plain.startswith(f"{p}.") for p in FORCES_REPLACEMENT.get(resource_type, ()))


def is_set(path: str) -> bool:
    """Whether the list at ``path`` is one Terraform compares without regard to order."""
    return schema_path(path).rsplit(".", 1)[-1] in SET_ATTRIBUTES

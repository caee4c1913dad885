"""Every shipped environment, synthesised once per session, checked on the Terraform JSON it produces."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from environments import MANDATORY_TAG_KEYS, load_environment, load_environments

CLOUD_ENVS = [e.name for e in load_environments() if e.is_cloud]
LAYERS = ["security", "network", "compute", "data", "workloads"]
#: How a resource names one of OUR keys: a key in the same stack, or one exported by the security stack.
OUR_KEY = re.compile(
    r"^\$\{(aws_kms_key\.[A-Za-z0-9_]+\.arn"
    r"|data\.terraform_remote_state\.cross-stack-reference-input-[a-z0-9-]+-security\.outputs\.cross-stack-output-aws_kms_key[A-Za-z0-9_]+arn)\}$"
)


def documents(result, env: str | None = None, layer: str | None = None) -> dict[str, dict[str, Any]]:
    return {s.name: json.loads(s.path.read_text()) for s in result.stacks
            if env in (None, s.env) and layer in (None, s.layer)}


def resources_of(result, resource_type: str, env: str | None = None):
    for stack, document in documents(result, env).items():
        for address, resource in document.get("resource", {}).get(resource_type, {}).items():
            yield stack, address, resource


def test_every_cloud_environment_has_its_five_layer_stacks_and_prod_its_region_guard_and_recovery_vault(synthesized_all):
    names = {s.name for s in synthesized_all.stacks}
    assert names == {f"{env}-{layer}" for env in CLOUD_ENVS for layer in LAYERS} | {"prod-guardrails", "prod-recovery"}
    assert synthesized_all.local_only == ["local"]


def test_the_region_guard_stack_holds_the_scp_from_the_allow_list_attached_to_the_account(synthesized_all):
    from environments.region_guard import region_guard_json

    (document,) = documents(synthesized_all, "prod", layer="guardrails").values()
    (policy,) = document["resource"]["aws_organizations_policy"].values()
    assert policy["type"] == "SERVICE_CONTROL_POLICY" and policy["content"] == region_guard_json(["me-central-1"])
    (attachment,) = document["resource"]["aws_organizations_policy_attachment"].values()
    assert attachment["target_id"] == load_environment("prod").account_id
    assert "terraform_remote_state" not in document.get("data", {})  # depends on no layer


def test_every_aws_provider_region_is_in_the_allow_list(synthesized_all):
    for stack, document in documents(synthesized_all).items():
        providers = document["provider"]["aws"]
        assert providers and all(p["region"] == "me-central-1" for p in providers), stack


def test_state_lives_in_an_encrypted_s3_backend_with_dynamodb_locking_in_the_uae(synthesized_all):
    for stack, document in documents(synthesized_all).items():
        backend = document["terraform"]["backend"]["s3"]
        env = stack.rsplit("-", 1)[0]
        assert backend["region"] == "me-central-1" and backend["encrypt"] is True
        assert backend["dynamodb_table"] == f"sahab-{env}-tflock" and backend["key"].endswith(f"/{stack.rsplit('-', 1)[1]}.tfstate")


def test_layers_are_joined_by_cross_stack_references_to_earlier_layers_only(synthesized_all):
    for stack, document in documents(synthesized_all).items():
        env, layer = stack.rsplit("-", 1)
        inputs = document.get("data", {}).get("terraform_remote_state", {})
        referenced = {name.rsplit("-", 1)[1] for name in inputs}
        earlier = LAYERS[: LAYERS.index(layer)] if layer in LAYERS else []  # the region guard reads no layer
        assert referenced <= set(earlier), stack


@pytest.mark.parametrize(
    ("resource_type", "path"),
    [
        ("aws_s3_bucket_server_side_encryption_configuration", ("rule", 0, "apply_server_side_encryption_by_default", "kms_master_key_id")),
        ("aws_cloudwatch_log_group", ("kms_key_id",)),
        ("aws_msk_cluster", ("encryption_info", "encryption_at_rest_kms_key_arn")),
        ("aws_elasticache_replication_group", ("kms_key_id",)),
        ("aws_eks_cluster", ("encryption_config", "provider", "key_arn")),
        ("aws_launch_template", ("block_device_mappings", 0, "ebs", "kms_key_id")),
        ("aws_secretsmanager_secret", ("kms_key_id",)),
        ("aws_cloudtrail", ("kms_key_id",)),
    ],
)
def test_every_encrypted_resource_uses_one_of_our_cmks(synthesized_all, resource_type, path):
    found = 0
    for stack, address, resource in resources_of(synthesized_all, resource_type):
        value: Any = resource
        for part in path:
            value = value[part]
        assert OUR_KEY.match(value), f"{stack} {resource_type}.{address} uses {value!r}"
        found += 1
    assert found >= len(CLOUD_ENVS)


def test_every_bucket_is_fully_blocked_from_public_access(synthesized_all):
    buckets = list(resources_of(synthesized_all, "aws_s3_bucket"))
    blocks = list(resources_of(synthesized_all, "aws_s3_bucket_public_access_block"))
    assert len(buckets) == len(blocks) == 3 * len(CLOUD_ENVS)
    assert all(all(b[f] for f in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")) for _, _, b in blocks)


def test_gpu_pools_are_tainted_and_cpu_pools_are_not(synthesized_all):
    for stack, address, group in resources_of(synthesized_all, "aws_eks_node_group"):
        gpu = group["ami_type"].endswith("NVIDIA")
        tainted = ("nvidia.com/gpu", "true", "NO_SCHEDULE") in [(t["key"], t["value"], t["effect"]) for t in group["taint"]]
        assert gpu == tainted, address
        assert gpu == ("Gpu" in address)


@pytest.mark.parametrize("env_name", CLOUD_ENVS)
def test_nat_gateway_count_follows_the_environments_strategy(synthesized_all, env_name):
    network = load_environment(env_name).network
    expected = {"none": 0, "single": 1, "per_az": network.az_count}[network.nat_strategy.value]
    assert len(list(resources_of(synthesized_all, "aws_nat_gateway", env_name))) == expected


def test_every_taggable_resource_carries_the_mandatory_tags_of_its_environment(synthesized_all):
    checked = 0
    for stack, document in documents(synthesized_all).items():
        env = load_environment(stack.rsplit("-", 1)[0])
        for resource_type, items in document.get("resource", {}).items():
            for address, resource in items.items():
                if "tags" not in resource:
                    continue
                checked += 1
                assert {k: resource["tags"].get(k) for k in MANDATORY_TAG_KEYS} == {k: env.tags[k] for k in MANDATORY_TAG_KEYS}, (
                    f"{stack} {resource_type}.{address}"
                )
        assert document["provider"]["aws"][0]["default_tags"][0]["tags"] == dict(env.tags)
    assert checked > 100


def test_a_taggable_resource_without_tags_would_be_caught(synthesized_all):
    """Guard the guard: the tag test above only sees resources that have 'tags'; make sure the types
    that support tags all have them (a resource type missing from this list would slip through)."""
    taggable = {"aws_kms_key", "aws_s3_bucket", "aws_vpc", "aws_subnet", "aws_eks_cluster", "aws_eks_node_group",
                "aws_msk_cluster", "aws_elasticache_replication_group", "aws_cloudwatch_log_group", "aws_launch_template",
                "aws_security_group", "aws_iam_role", "aws_cloudtrail", "aws_secretsmanager_secret", "aws_nat_gateway"}
    for stack, document in documents(synthesized_all).items():
        for resource_type in taggable & set(document.get("resource", {})):
            assert all("tags" in r for r in document["resource"][resource_type].values()), f"{stack} {resource_type}"


def test_prod_spreads_redis_and_kafka_over_three_azs_with_failover(synthesized_all):
    (_, _, redis), = resources_of(synthesized_all, "aws_elasticache_replication_group", "prod")
    assert redis["num_cache_clusters"] == 3 and redis["automatic_failover_enabled"] is True
    (_, _, msk), = resources_of(synthesized_all, "aws_msk_cluster", "prod")
    assert msk["number_of_broker_nodes"] == 3 and len(msk["broker_node_group_info"]["client_subnets"]) == 3


def test_no_synthesised_document_pins_a_terraform_required_version(synthesized_all):
    """Checkov crashes on cdktf JSON with terraform.required_version (checkov issue 7454)."""
    assert all("required_version" not in d["terraform"] for d in documents(synthesized_all).values())

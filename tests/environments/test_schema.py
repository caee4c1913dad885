"""The environment schema: shipped files load, and each kind of bad input is refused with a message
that names the file, the field, the value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from environments import (
    MANDATORY_TAG_KEYS,
    Environment,
    available_environments,
    load_environment,
    load_environments,
    parse_environment,
)
from environments.errors import ConfigError
from environments.rules import node_pool_problems, weight_problems

PROJECT = Path(__file__).resolve().parents[2]


def smb() -> dict:
    return yaml.safe_load((PROJECT / "environments" / "smb.yaml").read_text())


def refused(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environment(data, source="environments/smb.yaml")
    return str(info.value)


def test_every_shipped_environment_loads():
    envs = load_environments()
    assert [e.name for e in envs] == ["local", "smb", "dev", "staging", "prod"]
    assert all(isinstance(e, Environment) for e in envs)


def test_shipped_cloud_environments_use_only_the_uae_region():
    for env in load_environments():
        assert env.region == "me-central-1"
        assert env.allowed_regions == ["me-central-1"]


def test_az_counts_are_two_for_smb_and_three_for_prod():
    assert load_environment("smb").network.az_count == 2
    assert load_environment("prod").network.az_count == 3


def test_a_non_uae_region_is_refused_naming_field_value_and_allowed_regions():
    data = smb()
    data["region"] = "eu-west-1"
    message = refused(data)
    assert "environments/smb.yaml" in message
    assert "'region': must be one of the UAE-resident regions ['me-central-1'] (value: 'eu-west-1')" in message


def test_a_foreign_region_in_the_allow_list_is_refused():
    data = smb()
    data["allowed_regions"] = ["me-central-1", "us-east-1"]
    message = refused(data)
    assert "'allowed_regions'" in message and "us-east-1" in message


def test_unknown_keys_are_refused_with_their_path():
    data = smb()
    data["node_pools"]["cpu"]["min_szie"] = 1
    message = refused(data)
    assert "'node_pools.cpu.min_szie'" in message and "not a known field" in message


@pytest.mark.parametrize("cidr", ["10.10.0.0/33", "banana", "10.10.0.1/16", "8.8.0.0/16", "10.0.0.0/8"])
def test_invalid_or_public_or_oversized_vpc_cidrs_are_refused(cidr):
    data = smb()
    data["network"]["vpc_cidr"] = cidr
    message = refused(data)
    assert "'network.vpc_cidr'" in message and repr(cidr) in message


def test_a_vpc_cidr_overlapping_a_cidr_in_use_is_refused():
    data = smb()
    data["network"]["extra_cidrs_in_use"] = ["10.10.128.0/17"]
    message = refused(data)
    assert "overlaps 10.10.128.0/17" in message


def test_min_size_above_max_size_is_refused():
    data = smb()
    data["node_pools"]["cpu"].update(min_size=5, max_size=4)
    message = refused(data)
    assert "'node_pools.cpu': 'min_size' (5) must be <= 'max_size' (4)" in message


def test_a_gpu_pool_without_a_gpu_instance_type_is_refused():
    data = smb()
    data["node_pools"]["gpu"]["instance_types"] = ["m7i.large"]
    message = refused(data)
    assert "'node_pools.gpu'" in message and "not GPU: m7i.large" in message


def test_a_pool_mixing_graviton_and_x86_instances_is_refused_naming_both():
    data = smb()
    data["node_pools"]["cpu"]["instance_types"] = ["m7g.large", "m7i.large"]
    message = refused(data)
    assert "'node_pools.cpu': 'instance_types' must share one CPU architecture" in message
    assert "arm64 (m7g.large) and x86_64 (m7i.large)" in message


def test_a_pool_of_graviton_instances_only_is_accepted():
    data = smb()
    data["node_pools"]["cpu"]["instance_types"] = ["m7g.large", "c7gn.large"]
    assert parse_environment(data).node_pools["cpu"].instance_types == ["m7g.large", "c7gn.large"]


def test_gpu_pools_may_scale_to_zero():
    data = smb()
    data["node_pools"]["gpu"].update(min_size=0, max_size=2)
    assert parse_environment(data).node_pools["gpu"].desired_size == 0


@pytest.mark.parametrize("missing", MANDATORY_TAG_KEYS)
def test_each_missing_mandatory_tag_is_refused(missing):
    data = smb()
    del data["tags"][missing]
    message = refused(data)
    assert "'tags'" in message and missing in message


def test_all_problems_are_reported_at_once_across_nested_sections():
    data = smb()
    data["region"] = "eu-west-1"
    del data["tags"]["owner"]
    data["node_pools"]["cpu"].update(min_size=5, max_size=4)
    message = refused(data)
    assert "3 problems" in message
    assert "'region'" in message and "missing: ['owner']" in message and "'node_pools.cpu'" in message


def test_a_cloud_environment_without_a_network_is_refused():
    data = smb()
    del data["network"]
    assert "'network' is required when 'target' is 'aws'" in refused(data)


def test_multi_az_online_store_needs_a_replica():
    data = smb()
    data["online_store"] = {"replicas": 0, "multi_az": True}
    assert "'online_store': 'replicas' must be >= 1 when 'multi_az' is true (value: 0)" in refused(data)


def test_msk_serverless_needs_an_explicit_opt_in():
    data = smb()
    data["kafka"] = {"mode": "serverless"}
    assert "accept_aws_owned_key_at_rest" in refused(data)


def test_kafka_brokers_must_spread_evenly_over_the_azs():
    data = smb()
    data["kafka"]["broker_count"] = 3
    assert "'kafka.broker_count' (3) must be a multiple of 'network.az_count' (2)" in refused(data)


def test_file_name_and_name_field_must_agree(tmp_path):
    data = copy.deepcopy(smb())
    path = tmp_path / "staging.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="'name' must equal the file name 'staging'"):
        load_environment(path)


def test_a_missing_environment_file_names_the_known_environments():
    with pytest.raises(ConfigError, match="known environments: local, smb, dev, staging, prod"):
        load_environment("nosuch")


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: is not valid YAML"):
        load_environment(path)


def test_environment_order_puts_local_first_and_prod_last():
    assert available_environments() == ["local", "smb", "dev", "staging", "prod"]


def test_the_schema_states_a_pool_rule_in_the_words_of_the_shared_rule():
    """One rule, one place: the schema's refusal is the shared rule's text, which the construct also raises."""
    data = smb()
    data["node_pools"]["cpu"].update(instance_types=["m7g.large", "m7i.large"], desired_size=9)
    message = refused(data)
    expected = node_pool_problems(kind="cpu", instance_types=["m7g.large", "m7i.large"], min_size=2, desired_size=9, max_size=4)
    assert len(expected) == 2 and all(problem in message for problem in expected)


def test_the_schema_and_sahab_serve_weights_refuse_bad_weights_in_the_same_words():
    from bento_services.weights_file import validate_weights

    data = smb()
    data["serving"] = {"variants": [{"name": "a", "model_version": "latest", "weight": 0.7},
                                    {"name": "s", "model_version": "previous", "weight": 0.2}], "shadow_variant": "s"}
    schema_message = refused(data)
    with pytest.raises(ConfigError) as info:
        validate_weights({"a": 0.7, "s": 0.2}, ["a", "s"], shadow="s")
    for problem in weight_problems({"a": 0.7, "s": 0.2}, shadow="s"):
        assert problem in schema_message and problem in str(info.value)


def test_a_public_endpoint_opened_to_the_internet_by_split_ranges_is_refused_naming_the_rule():
    data = smb()
    data["eks"] = {"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]}
    message = refused(data)
    assert "'eks': 'public_access_cidrs' entry '0.0.0.0/1' admits 2,147,483,648 addresses: each entry must be /16" in message
    assert "'public_access_cidrs' admits 4,294,967,296 IPv4 addresses in all" in message


def test_a_public_endpoint_may_admit_a_few_internet_ranges():
    data = smb()
    data["eks"] = {"endpoint_public_access": True, "public_access_cidrs": ["94.200.0.0/24", "5.195.0.0/16"]}
    assert parse_environment(data).eks.public_access_cidrs == ["94.200.0.0/24", "5.195.0.0/16"]


def test_feature_overrides_are_allowed_on_this_machine_and_off_in_the_cloud_unless_set():
    assert load_environment("local").feature_overrides_allowed is True
    assert load_environment("smb").feature_overrides_allowed is False
    data = smb()
    data["serving"] = {"allow_feature_overrides": True}
    assert parse_environment(data).feature_overrides_allowed is True

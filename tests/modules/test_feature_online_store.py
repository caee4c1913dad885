import pytest

from environments.errors import ConfigError


def build(sut, **overrides):
    from modules.feature_online_store import FeatureOnlineStore, FeatureOnlineStoreProps

    props = dict(store_name="sahab-test-online", vpc_id="vpc-1", subnet_ids=["s1", "s2"], client_security_group_ids=["sg-cluster"],
                 key=sut.keys.data, logs_key=sut.keys.logs)
    props.update(overrides)
    return FeatureOnlineStore(sut.stack, "Store", props=FeatureOnlineStoreProps(**props))


def test_redis_is_encrypted_at_rest_with_the_data_key_and_requires_tls(sut):
    build(sut)
    group = sut.only("aws_elasticache_replication_group")
    assert group["at_rest_encryption_enabled"] == "true" and group["kms_key_id"] == sut.key_ref("data")
    assert group["transit_encryption_enabled"] is True and group["transit_encryption_mode"] == "required"


def test_the_auth_token_lives_in_a_secret_encrypted_with_the_data_key(sut):
    build(sut)
    secret = sut.only("aws_secretsmanager_secret")
    assert secret["kms_key_id"] == sut.key_ref("data")
    assert sut.only("aws_secretsmanager_secret_version")["secret_string"].startswith("${data.aws_secretsmanager_random_password.")


def test_only_the_cluster_security_group_reaches_redis(sut):
    build(sut)
    (rule,) = sut.resources("aws_vpc_security_group_ingress_rule").values()
    assert (rule["referenced_security_group_id"], rule["from_port"], rule["to_port"]) == ("sg-cluster", 6379, 6379)


def test_multi_az_turns_on_automatic_failover_across_replicas(sut):
    build(sut, replicas=2, multi_az=True)
    group = sut.only("aws_elasticache_replication_group")
    assert group["num_cache_clusters"] == 3
    assert group["automatic_failover_enabled"] is True and group["multi_az_enabled"] is True


def test_multi_az_without_a_replica_is_refused(sut):
    with pytest.raises(ConfigError, match=r"'replicas' must be >= 1 when 'multi_az' is true \(value: 0\)"):
        build(sut, multi_az=True)


def test_slow_logs_go_to_a_log_group_encrypted_with_the_logs_key(sut):
    build(sut)
    assert sut.only("aws_cloudwatch_log_group")["kms_key_id"] == sut.key_ref("logs")


def test_the_replication_group_takes_its_token_from_the_secret_not_from_a_fresh_draw(sut):
    """The password data source draws anew at every plan: a replaced group must get the token the secret holds."""
    build(sut)
    group = sut.only("aws_elasticache_replication_group")
    (version_address,) = sut.resources("aws_secretsmanager_secret_version")
    assert group["auth_token"] == f"${{aws_secretsmanager_secret_version.{version_address}.secret_string}}"
    assert sut.only("aws_secretsmanager_secret_version")["lifecycle"] == {"ignore_changes": ["secret_string"]}

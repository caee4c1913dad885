import pytest

from environments.errors import ConfigError


def build(sut, **overrides):
    from modules.kafka_cluster import KafkaCluster, KafkaClusterProps

    props = dict(cluster_name="sahab-test-kafka", region="me-central-1", vpc_id="vpc-1", subnet_ids=["s1", "s2"], client_security_group_ids=["sg-clients"],
                 key=sut.keys.kafka, logs_key=sut.keys.logs)
    props.update(overrides)
    return KafkaCluster(sut.stack, "Kafka", props=KafkaClusterProps(**props))


def test_client_traffic_is_tls_only_and_brokers_encrypt_between_themselves(sut):
    build(sut)
    transit = sut.only("aws_msk_cluster")["encryption_info"]["encryption_in_transit"]
    assert transit == {"client_broker": "TLS", "in_cluster": True}


def test_storage_is_encrypted_with_the_kafka_key(sut):
    build(sut)
    assert sut.only("aws_msk_cluster")["encryption_info"]["encryption_at_rest_kms_key_arn"] == sut.key_ref("kafka")


def test_clients_authenticate_with_iam_and_never_anonymously(sut):
    build(sut)
    auth = sut.only("aws_msk_cluster")["client_authentication"]
    assert auth == {"sasl": {"iam": True, "scram": False}, "unauthenticated": False}


def test_broker_logs_go_to_a_log_group_encrypted_with_the_logs_key(sut):
    build(sut)
    group = sut.only("aws_cloudwatch_log_group")
    assert group["kms_key_id"] == sut.key_ref("logs")
    logs = sut.only("aws_msk_cluster")["logging_info"]["broker_logs"]["cloudwatch_logs"]
    assert logs["enabled"] is True


def test_only_the_client_security_group_reaches_the_iam_tls_port(sut):
    build(sut)
    rules = [r for r in sut.resources("aws_vpc_security_group_ingress_rule").values() if r.get("from_port") == 9098]
    assert [r["referenced_security_group_id"] for r in rules] == ["sg-clients"]
    assert not any("cidr_ipv4" in r for r in sut.resources("aws_vpc_security_group_ingress_rule").values())


def test_brokers_are_not_publicly_accessible_and_topics_are_not_auto_created(sut):
    build(sut)
    info = sut.only("aws_msk_cluster")["broker_node_group_info"]
    assert info["connectivity_info"]["public_access"]["type"] == "DISABLED"
    assert "auto.create.topics.enable=false" in sut.only("aws_msk_configuration")["server_properties"]


def test_serverless_is_refused_without_the_explicit_opt_in(sut):
    with pytest.raises(ConfigError, match="'accept_aws_owned_key_at_rest' must be true when 'mode' is 'serverless'"):
        build(sut, mode="serverless")


def test_serverless_with_the_opt_in_uses_iam_auth(sut):
    build(sut, mode="serverless", accept_aws_owned_key_at_rest=True)
    cluster = sut.only("aws_msk_serverless_cluster")
    assert cluster["client_authentication"]["sasl"]["iam"]["enabled"] is True


def test_broker_count_must_be_a_multiple_of_the_subnets(sut):
    with pytest.raises(ConfigError, match=r"'broker_count' \(3\) must be a multiple of the subnet count \(2\)"):
        build(sut, broker_count=3)


def test_grant_client_names_exactly_the_topics_and_group_of_the_role(sut):
    from modules.cdk import iam_role
    from modules.iam import assume_role_policy

    kafka = build(sut)
    role = iam_role.IamRole(sut.stack, "Ingestor", name="ingestor", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
    kafka.grant_client(role, read_topics=("transactions",), write_topics=("transactions.dlq",), consumer_group="sahab-ingestor")
    ((_, found),) = sut.role_policies().items()
    statements = {s["Sid"]: s for s in found}
    assert set(statements) == {"Connect", "ReadTopics", "WriteTopics", "ConsumerGroup"}
    assert statements["ReadTopics"]["Action"] == ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
    account = "${data.aws_caller_identity.CallerIdentity.account_id}"
    assert statements["ReadTopics"]["Resource"] == [f"arn:aws:kafka:me-central-1:{account}:topic/sahab-test-kafka/*/transactions"]
    assert statements["WriteTopics"]["Resource"] == [f"arn:aws:kafka:me-central-1:{account}:topic/sahab-test-kafka/*/transactions.dlq"]
    assert statements["ConsumerGroup"]["Resource"] == [f"arn:aws:kafka:me-central-1:{account}:group/sahab-test-kafka/*/sahab-ingestor"]
    assert "kafka-cluster:WriteData" not in statements["ReadTopics"]["Action"]


def test_the_brokers_default_topic_retention_is_the_given_days_in_milliseconds(sut):
    build(sut, topic_retention_days=3)
    properties = sut.only("aws_msk_configuration")["server_properties"].split("\n")
    assert "log.retention.ms=259200000" in properties
    assert not [p for p in properties if p.startswith(("log.retention.hours", "log.retention.minutes"))]


def test_the_default_topic_retention_is_a_week_made_explicit(sut):
    build(sut)
    assert "log.retention.ms=604800000" in sut.only("aws_msk_configuration")["server_properties"].split("\n")


def test_a_topic_retention_under_a_day_is_refused(sut):
    with pytest.raises(ConfigError, match=r"'topic_retention_days' must be >= 1 \(value: 0\)"):
        build(sut, topic_retention_days=0)

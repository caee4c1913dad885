"""``KafkaCluster``: Amazon MSK for the transaction stream, TLS-only and IAM-authenticated.

Provisioned clusters (the default) take TLS-only client traffic, encrypt traffic between brokers,
encrypt storage with our kafka CMK, authenticate clients with IAM (SASL/IAM on port 9098; no
unauthenticated access), keep broker logs in a CMK-encrypted log group, and admit only the cluster
security group. Topics are created deliberately (auto-create off) with three replicas where possible.
The broker's ``log.retention.ms`` is ``topic_retention_days``: the longest any topic keeps records unless it
sets its own ``retention.ms`` (the platform creates its topics with one), so raw events do not outlive their
retention (UAE PDPL storage limitation; ``CKV_SAHAB_47``).

| mode         | at rest                  | in transit | auth      | allowed by the policy gate            |
|--------------|--------------------------|------------|-----------|---------------------------------------|
| provisioned  | our kafka CMK            | TLS only   | IAM       | yes                                   |
| serverless   | AWS-owned key (no CMK)   | TLS only   | IAM       | no: needs ``accept_aws_owned_key_at_rest`` and still fails CKV_SAHAB encryption-at-rest |
"""

from __future__ import annotations

from dataclasses import dataclass, field

from environments.errors import ConfigError
from environments.privacy_section import PrivacyConfig
from environments.rules import kafka_mode_problems
from modules.cdk import (
    Construct,
    iam_role,
    iam_role_policy,
    kms_key,
    msk_cluster,
    msk_configuration,
    msk_serverless_cluster,
    security_group,
    vpc_security_group_egress_rule,
    vpc_security_group_ingress_rule,
)
from modules.context import PARTITION, account_id
from modules.grants import grant
from modules.iam import Statement
from modules.log_group import EncryptedLogGroup, EncryptedLogGroupProps

IAM_TLS_PORT = 9098


@dataclass(frozen=True, kw_only=True)
class KafkaClusterProps:
    """Props of ``KafkaCluster``."""

    cluster_name: str
    """Cluster name, e.g. ``sahab-prod-kafka``."""
    region: str
    """Region of the cluster: its topic and group ARNs (``grant_client``) name it."""
    vpc_id: str
    """VPC of the brokers."""
    subnet_ids: list[str]
    """Private subnets, one per AZ; broker_count must be a multiple of their number."""
    client_security_group_ids: list[str]
    """Security groups whose members may connect (the EKS cluster security group)."""
    key: kms_key.KmsKey
    """The kafka CMK (storage encryption)."""
    logs_key: kms_key.KmsKey
    """The logs CMK (broker log group)."""
    mode: str = "provisioned"
    """``provisioned`` or ``serverless`` (see the module table). Default: provisioned."""
    accept_aws_owned_key_at_rest: bool = False
    """Required to build ``serverless``, which cannot use a CMK. Default: false."""
    broker_instance_type: str = "kafka.m7g.large"
    """Broker size (provisioned). Default: kafka.m7g.large."""
    broker_count: int = 2
    """Brokers (provisioned). Default: 2."""
    storage_gib: int = 100
    """EBS storage per broker in GiB (provisioned). Default: 100."""
    kafka_version: str = "3.8.x"
    """Kafka version (provisioned). Default: 3.8.x."""
    log_retention_days: int = 365
    """Retention of the brokers' own logs in CloudWatch. Default: 365."""
    topic_retention_days: int = 7
    """Broker default ``log.retention.ms``: how long a topic without its own ``retention.ms`` keeps records.
    Default: 7 (Kafka's own default, made explicit)."""
    server_properties: dict[str, str] = field(default_factory=dict)
    """Extra broker settings, merged over the defaults. Default: none."""


class KafkaCluster(Construct):
    def __init__(self, scope: Construct, id: str, *, props: KafkaClusterProps) -> None:
        super().__init__(scope, id)
        problems = kafka_mode_problems(mode=props.mode, accept_aws_owned_key_at_rest=props.accept_aws_owned_key_at_rest)
        if props.mode not in ("provisioned", "serverless"):
            problems.append(f"'mode' must be 'provisioned' or 'serverless' (value: {props.mode!r})")
        if props.topic_retention_days < 1:
            problems.append(f"'topic_retention_days' must be >= 1 (value: {props.topic_retention_days})")
        if props.mode == "provisioned" and props.broker_count % len(props.subnet_ids):
            problems.append(
                f"'broker_count' ({props.broker_count}) must be a multiple of the subnet count ({len(props.subnet_ids)})"
            )
        if problems:
            raise ConfigError(problems, source=f"KafkaCluster {props.cluster_name!r}")
        self.props = props
        self.security_group = self._security_group()
        if props.mode == "serverless":
            self.cluster = msk_serverless_cluster.MskServerlessCluster(
                self, "Cluster", cluster_name=props.cluster_name,
                client_authentication=msk_serverless_cluster.MskServerlessClusterClientAuthentication(
                    sasl=msk_serverless_cluster.MskServerlessClusterClientAuthenticationSasl(
                        iam=msk_serverless_cluster.MskServerlessClusterClientAuthenticationSaslIam(enabled=True)
                    )
                ),
                vpc_config=[
                    msk_serverless_cluster.MskServerlessClusterVpcConfig(
                        subnet_ids=props.subnet_ids, security_group_ids=[self.security_group.id]
                    )
                ],
            )
            return
        self.log_group = EncryptedLogGroup(
            self, "BrokerLogs",
            props=EncryptedLogGroupProps(
                name=f"/sahab/{props.cluster_name}/brokers", key=props.logs_key, retention_days=props.log_retention_days
            ),
        )
        replication = min(3, props.broker_count)
        settings = {
            "auto.create.topics.enable": "false",
            "default.replication.factor": str(replication),
            "min.insync.replicas": str(max(1, replication - 1)),
            "unclean.leader.election.enable": "false",
            "log.retention.ms": str(PrivacyConfig.days_ms(props.topic_retention_days)),
            **props.server_properties,
        }
        configuration = msk_configuration.MskConfiguration(
            self, "Configuration", name=f"{props.cluster_name}-config", kafka_versions=[props.kafka_version],
            server_properties="\n".join(f"{k}={v}" for k, v in sorted(settings.items())),
        )
        self.cluster = msk_cluster.MskCluster(
            self,
            "Cluster",
            cluster_name=props.cluster_name,
            kafka_version=props.kafka_version,
            number_of_broker_nodes=props.broker_count,
            broker_node_group_info=msk_cluster.MskClusterBrokerNodeGroupInfo(
                client_subnets=props.subnet_ids,
                instance_type=props.broker_instance_type,
                security_groups=[self.security_group.id],
                storage_info=msk_cluster.MskClusterBrokerNodeGroupInfoStorageInfo(
                    ebs_storage_info=msk_cluster.MskClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfo(
                        volume_size=props.storage_gib
                    )
                ),
                connectivity_info=msk_cluster.MskClusterBrokerNodeGroupInfoConnectivityInfo(
                    public_access=msk_cluster.MskClusterBrokerNodeGroupInfoConnectivityInfoPublicAccess(type="DISABLED")
                ),
            ),
            encryption_info=msk_cluster.MskClusterEncryptionInfo(
                encryption_at_rest_kms_key_arn=props.key.arn,
                encryption_in_transit=msk_cluster.MskClusterEncryptionInfoEncryptionInTransit(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            client_authentication=msk_cluster.MskClusterClientAuthentication(
                sasl=msk_cluster.MskClusterClientAuthenticationSasl(iam=True, scram=False), unauthenticated=False
            ),
            configuration_info=msk_cluster.MskClusterConfigurationInfo(arn=configuration.arn, revision=configuration.latest_revision),
            logging_info=msk_cluster.MskClusterLoggingInfo(
                broker_logs=msk_cluster.MskClusterLoggingInfoBrokerLogs(
                    cloudwatch_logs=msk_cluster.MskClusterLoggingInfoBrokerLogsCloudwatchLogs(
                        enabled=True, log_group=self.log_group.name
                    )
                )
            ),
            enhanced_monitoring="PER_TOPIC_PER_BROKER",
        )

    @property
    def bootstrap_brokers(self) -> str:
        """SASL/IAM over TLS bootstrap string, the only listener clients may use."""
        return self.cluster.bootstrap_brokers_sasl_iam

    # ---- grants: MSK IAM authorisation, per topic and consumer group ----------------------------
    def grant_client(
        self,
        role: iam_role.IamRole,
        *,
        read_topics: tuple[str, ...] = (),
        write_topics: tuple[str, ...] = (),
        consumer_group: str | None = None,
        id: str = "GrantKafka",
    ) -> iam_role_policy.IamRolePolicy:
        """Let ``role`` connect over IAM and read or write the named topics (as ``consumer_group``) only.

        MSK's IAM resources are ``arn:aws:kafka:<region>:<account>:topic|group/<cluster name>/<cluster uuid>/<name>``;
        the uuid is matched with ``*`` (it is known only after apply, and a function call inside a JSON policy
        string would need quotes that break the document for static readers such as the gate).
        """
        arn = self.cluster.arn
        prefix = f"arn:{PARTITION}:kafka:{self.props.region}:{account_id(self)}"
        topic = lambda name: f"{prefix}:topic/{self.props.cluster_name}/*/{name}"  # noqa: E731
        statements = [Statement(sid="Connect", actions=("kafka-cluster:Connect", "kafka-cluster:DescribeCluster"),
                                resources=(arn,))]
        if read_topics:
            statements.append(Statement(
                sid="ReadTopics", actions=("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"),
                resources=tuple(topic(t) for t in read_topics)))
        if write_topics:
            statements.append(Statement(
                sid="WriteTopics", actions=("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"),
                resources=tuple(topic(t) for t in write_topics)))
        if consumer_group:
            statements.append(Statement(
                sid="ConsumerGroup", actions=("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"),
                resources=(f"{prefix}:group/{self.props.cluster_name}/*/{consumer_group}",)))
        return grant(role, id, self, statements)

    def _security_group(self) -> security_group.SecurityGroup:
        group = security_group.SecurityGroup(
            self, "SecurityGroup", name=f"{self.props.cluster_name}-brokers", vpc_id=self.props.vpc_id,
            description="MSK brokers: SASL/IAM over TLS from the EKS cluster security group only",
        )
        for i, client in enumerate(self.props.client_security_group_ids):
            vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
                self, f"ClientsIamTls{i}", security_group_id=group.id, ip_protocol="tcp", from_port=IAM_TLS_PORT,
                to_port=IAM_TLS_PORT, referenced_security_group_id=client, description="Kafka clients (SASL/IAM, TLS)",
            )
        vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            self, "BrokersFromSelf", security_group_id=group.id, ip_protocol="-1",
            referenced_security_group_id=group.id, description="Broker-to-broker replication",
        )
        vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
            self, "BrokersToSelf", security_group_id=group.id, ip_protocol="-1",
            referenced_security_group_id=group.id, description="Broker-to-broker replication",
        )
        return group

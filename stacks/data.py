"""``<env>-data``: object storage, its backups, the Kafka cluster and the Feast online store."""

from __future__ import annotations

from environments import Environment, KafkaMode, PrivacyConfig, names
from modules.cdk import Construct
from modules.backup import BackupPlan, BackupPlanProps, BackupVault, BackupVaultProps
from modules.context import account_id
from modules.encrypted_bucket import EncryptedBucket, EncryptedBucketProps, PrefixExpiration
from modules.feature_online_store import FeatureOnlineStore, FeatureOnlineStoreProps
from modules.keys import Keys
from modules.kafka_cluster import KafkaCluster, KafkaClusterProps
from stacks.base import LayerStack
from stacks.compute import ComputeStack
from stacks.network import NetworkStack
from stacks.security import AUDIT_BUCKET, SecurityStack

#: The bucket whose prefixes hold personal data (pseudonymous behaviour per customer).
PERSONAL_DATA_BUCKET = "data"


def personal_data_expirations(privacy: PrivacyConfig) -> tuple[PrefixExpiration, ...]:
    """The data bucket's personal-data prefixes, each with its retention from the environment's ``privacy`` section:
    the prediction log (``predictions/``) and the offline feature tables and training data (``offline/``,
    ``features.store``)."""
    return (
        PrefixExpiration(prefix=names.PREDICTIONS_PREFIX, days=privacy.prediction_log_days),
        PrefixExpiration(prefix=names.OFFLINE_PREFIX, days=privacy.offline_days),
    )


class DataStack(LayerStack):
    layer = "data"

    def __init__(
        self, scope: Construct, env: Environment, *, security: SecurityStack, network: NetworkStack, compute: ComputeStack
    ) -> None:
        super().__init__(scope, env)
        keys, net = security.keys, network.network
        # EKS attaches its cluster security group to every node: data services admit that group only.
        clients = [compute.cluster.cluster_security_group_id]

        self.buckets: dict[str, EncryptedBucket] = {}
        for purpose, bucket in env.buckets.items():
            if purpose == AUDIT_BUCKET:
                continue  # the audit bucket belongs to the security layer's trail
            self.buckets[purpose] = EncryptedBucket(
                self,
                f"{purpose.capitalize()}Bucket",
                props=EncryptedBucketProps(
                    bucket_name=names.account_scoped(env.resource_name(purpose), account_id(self)),
                    key=keys.key(bucket.key),
                    noncurrent_version_expiration_days=bucket.noncurrent_version_expiration_days,
                    object_lock_retention_days=bucket.object_lock_retention_days,
                    expirations=personal_data_expirations(env.privacy) if purpose == PERSONAL_DATA_BUCKET else (),
                ),
            )
            self.output(f"{purpose}_bucket", self.buckets[purpose].name, f"Name of the {purpose} bucket")

        self._backups(env, keys)

        self.kafka: KafkaCluster | None = None
        if env.kafka.mode is not KafkaMode.none:
            self.kafka = KafkaCluster(
                self,
                "Kafka",
                props=KafkaClusterProps(
                    cluster_name=env.resource_name("kafka"),
                    region=env.region,
                    vpc_id=net.vpc.id,
                    subnet_ids=net.private_subnet_ids,
                    client_security_group_ids=clients,
                    key=keys.kafka,
                    logs_key=keys.logs,
                    mode=env.kafka.mode.value,
                    accept_aws_owned_key_at_rest=env.kafka.accept_aws_owned_key_at_rest,
                    broker_instance_type=env.kafka.broker_instance_type,
                    broker_count=env.kafka.broker_count,
                    storage_gib=env.kafka.storage_gib,
                    kafka_version=env.kafka.kafka_version,
                    log_retention_days=env.log_retention_days,
                    topic_retention_days=env.privacy.stream_days,
                ),
            )
            if env.kafka.mode is KafkaMode.provisioned:
                self.output("kafka_bootstrap_brokers", self.kafka.bootstrap_brokers, "MSK bootstrap (SASL/IAM over TLS)")

        store = env.online_store
        self.online_store = FeatureOnlineStore(
            self,
            "OnlineStore",
            props=FeatureOnlineStoreProps(
                store_name=env.resource_name(names.ONLINE_STORE),
                vpc_id=net.vpc.id,
                subnet_ids=net.private_subnet_ids,
                client_security_group_ids=clients,
                key=keys.data,
                logs_key=keys.logs,
                node_type=store.node_type,
                replicas=store.replicas,
                multi_az=store.multi_az,
                engine_version=store.engine_version,
                log_retention_days=env.log_retention_days,
            ),
        )
        self.output("online_store_endpoint", self.online_store.endpoint, "Redis primary endpoint (TLS) for Feast")
        self.output("online_store_auth_secret_arn", self.online_store.auth_secret_arn, "Secret holding the Redis AUTH token")

    def _backups(self, env: Environment, keys: Keys) -> None:
        """Every data bucket into a locked vault daily, copied to the backup account's vault where there is one.

        The online store is not in the plan (AWS Backup does not cover ElastiCache): it keeps its own daily
        snapshots under the data key, and Feast can rebuild it from the offline store in the data bucket.
        """
        backup = env.backup
        self.backup_vault = BackupVault(self, "BackupVault", props=BackupVaultProps(
            vault_name=env.resource_name(names.BACKUP_VAULT), key=keys.backup,
            min_retention_days=backup.retention_days, cooling_off_days=backup.lock_cooling_off_days,
        ))
        self.backup_plan = BackupPlan(self, "BackupPlan", props=BackupPlanProps(
            plan_name=env.resource_name("backup"), vault=self.backup_vault,
            resource_arns=tuple(bucket.arn for bucket in self.buckets.values()),
            schedule=backup.schedule, retention_days=backup.retention_days,
            copy_to_vault_arn=env.backup_copy_vault_arn,
        ))
        self.output("backup_vault", self.backup_vault.name, "The locked vault holding the data buckets' recovery points")

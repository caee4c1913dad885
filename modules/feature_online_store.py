"""``FeatureOnlineStore``: the ElastiCache Redis replication group behind Feast's online store.

Encrypted at rest with our data CMK and in transit (TLS required), protected by an AUTH token that
lives in Secrets Manager under the same CMK (Feast reads it from there), reachable only from the
cluster's security group, with daily snapshots and slow logs in a CMK-encrypted log group. With
``multi_az`` the group fails over automatically to a replica in another AZ.

The AUTH token is generated once by Secrets Manager's random-password API; later plans ignore the
changing data source value, so the token is stable until it is rotated on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments import names
from environments.errors import ConfigError
from environments.rules import failover_problems
from modules.cdk import (
    Construct,
    TerraformResourceLifecycle,
    data_aws_secretsmanager_random_password as random_password,
    elasticache_replication_group as replication_group,
    elasticache_subnet_group,
    iam_role,
    iam_role_policy,
    kms_key,
    secretsmanager_secret,
    secretsmanager_secret_version,
    security_group,
    vpc_security_group_ingress_rule,
)
from modules.grants import grant
from modules.iam import Statement
from modules.log_group import EncryptedLogGroup, EncryptedLogGroupProps

REDIS_PORT = 6379


@dataclass(frozen=True, kw_only=True)
class FeatureOnlineStoreProps:
    """Props of ``FeatureOnlineStore``."""

    store_name: str
    """Replication group id (at most 40 characters), e.g. ``sahab-prod-online``."""
    vpc_id: str
    """VPC of the store."""
    subnet_ids: list[str]
    """Private subnets, one per AZ."""
    client_security_group_ids: list[str]
    """Security groups whose members may connect (the EKS cluster security group)."""
    key: kms_key.KmsKey
    """The data CMK: encrypts the store at rest and its AUTH token secret."""
    logs_key: kms_key.KmsKey
    """The logs CMK: encrypts the slow-log group."""
    node_type: str = "cache.t4g.small"
    """Node size. Default: cache.t4g.small."""
    replicas: int = 0
    """Read replicas beside the primary. Default: 0."""
    multi_az: bool = False
    """Automatic failover to a replica in another AZ; needs replicas >= 1. Default: false."""
    engine_version: str = "7.1"
    """Redis engine version. Default: 7.1."""
    snapshot_retention_days: int = 7
    """Daily snapshots kept. Default: 7."""
    log_retention_days: int = 365
    """Slow-log retention. Default: 365."""


class FeatureOnlineStore(Construct):
    def __init__(self, scope: Construct, id: str, *, props: FeatureOnlineStoreProps) -> None:
        super().__init__(scope, id)
        problems = failover_problems(multi_az=props.multi_az, replicas=props.replicas)
        if len(props.store_name) > 40:
            problems.append(f"'store_name' must be at most 40 characters (value: {props.store_name!r})")
        if problems:
            raise ConfigError(problems, source=f"FeatureOnlineStore {props.store_name!r}")
        self.props = props

        self.security_group = security_group.SecurityGroup(
            self, "SecurityGroup", name=f"{props.store_name}-redis", vpc_id=props.vpc_id,
            description="Feast online store (Redis, TLS) from the EKS cluster security group only",
        )
        for i, client in enumerate(props.client_security_group_ids):
            vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
                self, f"ClientsTls{i}", security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=REDIS_PORT, to_port=REDIS_PORT, referenced_security_group_id=client,
                description="Feast clients (Redis over TLS)",
            )
        subnet_group = elasticache_subnet_group.ElasticacheSubnetGroup(
            self, "SubnetGroup", name=f"{props.store_name}-subnets", subnet_ids=props.subnet_ids
        )
        token = random_password.DataAwsSecretsmanagerRandomPassword(
            self, "AuthTokenValue", password_length=64, exclude_punctuation=True
        )
        self.auth_secret = secretsmanager_secret.SecretsmanagerSecret(
            self, "AuthToken", name=names.auth_token_secret(props.store_name), kms_key_id=props.key.arn,
            description="AUTH token of the Feast online store (Redis)", recovery_window_in_days=7,
        )
        # The data source draws a new password at every plan; the secret keeps the first one for good
        # (ignore_changes), and the replication group takes its value from the secret, never from the data
        # source: a replaced group gets the token the secret holds, which is what every reader uses.
        stored = secretsmanager_secret_version.SecretsmanagerSecretVersion(
            self, "AuthTokenVersion", secret_id=self.auth_secret.id, secret_string=token.random_password,
            lifecycle=TerraformResourceLifecycle(ignore_changes=["secret_string"]),
        )
        slow_log = EncryptedLogGroup(
            self, "SlowLog",
            props=EncryptedLogGroupProps(
                name=f"/sahab/{props.store_name}/slow-log", key=props.logs_key, retention_days=props.log_retention_days
            ),
        )
        self.replication_group = replication_group.ElasticacheReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=props.store_name,
            description="Sahab Feast online store",
            engine="redis",
            engine_version=props.engine_version,
            node_type=props.node_type,
            port=REDIS_PORT,
            num_cache_clusters=1 + props.replicas,
            automatic_failover_enabled=props.multi_az,
            multi_az_enabled=props.multi_az,
            subnet_group_name=subnet_group.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled="true",
            kms_key_id=props.key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=stored.secret_string,
            auto_minor_version_upgrade="true",
            snapshot_retention_limit=props.snapshot_retention_days,
            log_delivery_configuration=[
                replication_group.ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=slow_log.name, destination_type="cloudwatch-logs", log_format="json", log_type="slow-log"
                )
            ],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["auth_token"]),
        )

    @property
    def endpoint(self) -> str:
        return self.replication_group.primary_endpoint_address

    @property
    def auth_secret_arn(self) -> str:
        return self.auth_secret.arn

    # ---- grants --------------------------------------------------------------------------------
    def grant_auth_token_read(self, role: iam_role.IamRole, id: str = "GrantRedisAuth") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` read the AUTH token (``GetSecretValue``) and decrypt it with the data key."""
        return grant(role, id, self, [
            Statement(sid="AuthToken", actions=("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
                      resources=(self.auth_secret.arn,)),
            # the data key's own policy admits its use only through Secrets Manager and the other data services
            Statement(sid="AuthTokenKey", actions=("kms:Decrypt",), resources=(self.props.key.arn,)),
        ])

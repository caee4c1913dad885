"""``EksCluster``: a private EKS control plane with envelope-encrypted secrets and every log type.

Defaults follow CIS EKS: private API endpoint (public only with an explicit CIDR allow-list, never
0.0.0.0/0), Kubernetes Secrets encrypted with our eks-secrets CMK, all five control-plane log types
into a CMK-encrypted log group created before the cluster (so EKS does not create an unencrypted
one), access entries for authentication, and an IAM OIDC provider so pods get AWS roles through IRSA
instead of node credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from environments.errors import ConfigError
from environments.rules import public_endpoint_problems
from modules.cdk import (
    Construct,
    Fn,
    data_aws_iam_policy_document,
    eks_cluster,
    iam_openid_connect_provider,
    iam_role,
    iam_role_policy_attachment,
    kms_key,
)
from modules.context import PARTITION
from modules.iam import Statement, policy_document
from modules.log_group import EncryptedLogGroup, EncryptedLogGroupProps

CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")


@dataclass(frozen=True, kw_only=True)
class EksClusterProps:
    """Props of ``EksCluster``."""

    cluster_name: str
    """Cluster name, e.g. ``sahab-prod-eks``."""
    subnet_ids: list[str]
    """Private subnets for the control plane's network interfaces (one per AZ)."""
    secrets_key: kms_key.KmsKey
    """CMK for envelope encryption of Kubernetes Secrets (the eks-secrets key)."""
    logs_key: kms_key.KmsKey
    """CMK for the control-plane log group (the logs key)."""
    security_group_ids: list[str] = field(default_factory=list)
    """Extra security groups for the control plane's interfaces. Default: none."""
    kubernetes_version: str = "1.33"
    """Kubernetes minor version. Default: 1.33."""
    log_retention_days: int = 365
    """Retention of the control-plane log group. Default: 365."""
    allow_public_endpoint: bool = False
    """Also expose the API endpoint publicly. Default: false (private only)."""
    public_access_cidrs: list[str] = field(default_factory=list)
    """CIDRs allowed to reach a public endpoint; required with ``allow_public_endpoint``. Default: none."""


class EksCluster(Construct):
    def __init__(self, scope: Construct, id: str, *, props: EksClusterProps) -> None:
        super().__init__(scope, id)
        problems = public_endpoint_problems(
            enabled=props.allow_public_endpoint, enabled_field="allow_public_endpoint", cidrs=props.public_access_cidrs
        )
        if problems:
            raise ConfigError(problems, source=f"EksCluster {props.cluster_name!r}")
        self.props = props

        self.log_group = EncryptedLogGroup(
            self, "ControlPlaneLogs",
            props=EncryptedLogGroupProps(
                name=f"/aws/eks/{props.cluster_name}/cluster", key=props.logs_key, retention_days=props.log_retention_days
            ),
        )
        self.role = iam_role.IamRole(
            self, "ClusterRole", name=f"{props.cluster_name}-cluster",
            assume_role_policy=policy_document(
                [
                    Statement(
                        sid="EksAssumeRole", actions=("sts:AssumeRole", "sts:TagSession"), resources=(),
                        principals={"Service": ("eks.amazonaws.com",)},
                    )
                ]
            ),
        )
        iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "ClusterPolicy", role=self.role.name,
            policy_arn=f"arn:{PARTITION}:iam::aws:policy/AmazonEKSClusterPolicy",
        )
        self.cluster = eks_cluster.EksCluster(
            self,
            "Cluster",
            name=props.cluster_name,
            version=props.kubernetes_version,
            role_arn=self.role.arn,
            vpc_config=eks_cluster.EksClusterVpcConfig(
                subnet_ids=props.subnet_ids,
                security_group_ids=props.security_group_ids or None,
                endpoint_private_access=True,
                endpoint_public_access=props.allow_public_endpoint,
                public_access_cidrs=props.public_access_cidrs if props.allow_public_endpoint else None,
            ),
            encryption_config=eks_cluster.EksClusterEncryptionConfig(
                resources=["secrets"],
                provider=eks_cluster.EksClusterEncryptionConfigProvider(key_arn=props.secrets_key.arn),
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            access_config=eks_cluster.EksClusterAccessConfig(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            depends_on=[self.log_group.resource],
        )
        self.oidc_provider = iam_openid_connect_provider.IamOpenidConnectProvider(
            self, "OidcProvider",
            url=self.cluster.identity.get(0).oidc.get(0).issuer,
            client_id_list=["sts.amazonaws.com"],
        )

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def cluster_security_group_id(self) -> str:
        """The security group EKS creates for control plane ↔ node traffic."""
        return self.cluster.vpc_config.cluster_security_group_id

    def service_account_role(
        self, id: str, *, role_name: str, namespace: str, service_account: str, scope: Construct | None = None
    ) -> iam_role.IamRole:
        """An IAM role that exactly one Kubernetes service account may assume through IRSA.

        The trust policy is a ``aws_iam_policy_document`` because its condition keys contain the
        cluster's issuer (a Terraform expression), which a JSON string literal cannot carry safely.
        ``scope`` is where the role lives (default: this construct): a workloads stack that grants the
        role access to data-layer resources must hold the role itself, or the layers would depend in a circle.
        """
        scope = scope or self
        issuer_path = Fn.replace(self.cluster.identity.get(0).oidc.get(0).issuer, "https://", "")
        doc = data_aws_iam_policy_document
        trust = doc.DataAwsIamPolicyDocument(
            scope, f"{id}Trust",
            statement=[
                doc.DataAwsIamPolicyDocumentStatement(
                    sid="IrsaAssumeRole",
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[doc.DataAwsIamPolicyDocumentStatementPrincipals(type="Federated", identifiers=[self.oidc_provider.arn])],
                    condition=[
                        doc.DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable=f"{issuer_path}:sub",
                            values=[f"system:serviceaccount:{namespace}:{service_account}"],
                        ),
                        doc.DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable=f"{issuer_path}:aud", values=["sts.amazonaws.com"]
                        ),
                    ],
                )
            ],
        )
        return iam_role.IamRole(scope, id, name=role_name, assume_role_policy=trust.json)

"""``<env>-compute``: the EKS cluster, its node pools (CPU for serving, GPU for training) and the ECR
repositories its workloads' images come from (created before any workload, so images can be pushed first)."""

from __future__ import annotations

from environments import Environment, names
from modules.container_registry import ContainerRegistry, ContainerRegistryProps
from modules.image_push_role import ImagePushRole, ImagePushRoleProps
from modules.cdk import Construct
from modules.eks_cluster import EksCluster, EksClusterProps
from modules.node_pool import NodePool, NodePoolProps
from stacks.base import LayerStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack


class ComputeStack(LayerStack):
    layer = "compute"

    def __init__(self, scope: Construct, env: Environment, *, security: SecurityStack, network: NetworkStack) -> None:
        super().__init__(scope, env)
        keys, net = security.keys, network.network
        self.cluster = EksCluster(
            self,
            "Cluster",
            props=EksClusterProps(
                cluster_name=env.resource_name("eks"),
                subnet_ids=net.private_subnet_ids,
                secrets_key=keys.eks_secrets,
                logs_key=keys.logs,
                kubernetes_version=env.eks.version,
                log_retention_days=env.log_retention_days,
                allow_public_endpoint=env.eks.endpoint_public_access,
                public_access_cidrs=list(env.eks.public_access_cidrs),
            ),
        )
        self.node_pools: dict[str, NodePool] = {}
        for pool_name, pool in env.node_pools.items():
            self.node_pools[pool_name] = NodePool(
                self,
                f"{pool_name.capitalize()}Pool",
                props=NodePoolProps(
                    pool_name=pool_name,
                    cluster=self.cluster,
                    subnet_ids=net.private_subnet_ids,
                    volume_key=keys.ebs,
                    instance_types=list(pool.instance_types),
                    min_size=pool.min_size,
                    desired_size=pool.desired_size,
                    max_size=pool.max_size,
                    kind=pool.kind.value,
                    spot=pool.spot,
                    disk_size_gib=pool.disk_size_gib,
                    taints=list(pool.taints),
                    labels=dict(pool.labels),
                    tags=dict(env.tags),
                ),
            )
        self.registry = ContainerRegistry(
            self, "Registry",
            props=ContainerRegistryProps(
                repository_names=tuple(names.ecr_repository(env.name, r) for r in env.workloads.repositories()),
                key=keys.models,
            ),
        )
        ci = env.workloads.images_ci
        if ci.github_repository:
            pusher = ImagePushRole(self, "ImagePushRole", props=ImagePushRoleProps(
                role_name=env.resource_name("images-ci"), github_repository=ci.github_repository,
                github_environment=env.name, repositories=list(self.registry.repositories.values()),
            ))
            self.output("images_ci_role_arn", pusher.role.arn, "Role the images workflow assumes (vars.SAHAB_IMAGES_ROLE_ARN)")
        for name, repository in self.registry.repositories.items():
            self.output(f"ecr_{name.rsplit('/', 1)[1].replace('-', '_')}_url", repository.repository_url,
                        f"ECR repository {name} (push the workload image here)")
        self.output("cluster_name", self.cluster.name, "EKS cluster name")
        self.output("oidc_provider_arn", self.cluster.oidc_provider.arn, "IAM OIDC provider for IRSA")
        self.output("cluster_security_group_id", self.cluster.cluster_security_group_id, "Security group of the cluster's nodes")

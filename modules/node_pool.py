"""``NodePool``: one EKS managed node group with a hardened launch template.

Every pool gets a launch template that requires IMDSv2 (hop limit 1, so pods cannot borrow node
credentials; they use IRSA) and encrypts the root volume with our EBS CMK. GPU pools are tainted so
only pods that tolerate ``nvidia.com/gpu`` land on expensive nodes.

AMI type by pool kind and CPU architecture (arm64 = Graviton families such as m7g, c7gn, t4g):

| kind | architecture | ami_type                 | default taint                   | default labels                     |
|------|--------------|--------------------------|---------------------------------|------------------------------------|
| cpu  | x86_64       | AL2023_x86_64_STANDARD   | none                            | sahab.io/pool=<name>               |
| cpu  | arm64        | AL2023_ARM_64_STANDARD   | none                            | sahab.io/pool=<name>               |
| gpu  | x86_64       | AL2023_x86_64_NVIDIA     | nvidia.com/gpu=true:NoSchedule  | + nvidia.com/gpu.present=true      |
| gpu  | arm64        | AL2023_ARM_64_NVIDIA     | nvidia.com/gpu=true:NoSchedule  | + nvidia.com/gpu.present=true      |
| any  | mixed        | error: one architecture per pool                                                        |

The pool rules (kind, GPU families, one architecture, sizes) are ``environments.rules.node_pool_problems``: the
schema refuses the same mistakes in the same words before a construct is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from environments import Taint
from environments.errors import ConfigError
from environments.rules import architecture_of, node_pool_problems
from modules.cdk import (
    Construct,
    TerraformResourceLifecycle,
    eks_node_group,
    iam_role,
    iam_role_policy_attachment,
    kms_key,
    launch_template,
)
from modules.context import PARTITION
from modules.eks_cluster import EksCluster
from modules.iam import assume_role_policy

GPU_TAINT = ("nvidia.com/gpu", "true", "NO_SCHEDULE")
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
AMI_TYPES = {
    ("cpu", "x86_64"): "AL2023_x86_64_STANDARD",
    ("cpu", "arm64"): "AL2023_ARM_64_STANDARD",
    ("gpu", "x86_64"): "AL2023_x86_64_NVIDIA",
    ("gpu", "arm64"): "AL2023_ARM_64_NVIDIA",
}
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy")


@dataclass(frozen=True, kw_only=True)
class NodePoolProps:
    """Props of ``NodePool``."""

    pool_name: str
    """Short pool name, e.g. ``cpu`` or ``gpu``; labels nodes ``sahab.io/pool=<name>``."""
    cluster: EksCluster
    """The cluster the pool joins."""
    subnet_ids: list[str]
    """Private subnets for the nodes."""
    volume_key: kms_key.KmsKey
    """CMK for the root EBS volume (the ebs key)."""
    instance_types: list[str]
    """EC2 instance types; one CPU architecture per pool."""
    min_size: int
    """Smallest node count (0 lets a pool scale to zero)."""
    max_size: int
    """Largest node count."""
    desired_size: int | None = None
    """Node count at creation; later changes come from the autoscaler and are ignored. Default: min_size."""
    kind: str = "cpu"
    """``cpu`` or ``gpu`` (see the module table). Default: cpu."""
    spot: bool = False
    """Spot capacity. Default: false (on-demand)."""
    disk_size_gib: int = 50
    """Root volume size in GiB (gp3, encrypted). Default: 50."""
    security_group_ids: list[str] = field(default_factory=list)
    """Security groups of the nodes, beside the cluster's own. Default: only the cluster's."""
    taints: list[Taint] = field(default_factory=list)
    """Extra taints (the environment schema's ``Taint``). Default: none (GPU pools always get the nvidia.com/gpu taint)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra Kubernetes labels. Default: none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for instances and volumes launched by the pool (default_tags do not reach them). Default: none."""


class NodePool(Construct):
    def __init__(self, scope: Construct, id: str, *, props: NodePoolProps) -> None:
        super().__init__(scope, id)
        self.props = props
        desired = props.min_size if props.desired_size is None else props.desired_size
        problems = node_pool_problems(
            kind=props.kind, instance_types=props.instance_types, min_size=props.min_size, desired_size=desired,
            max_size=props.max_size,
        )
        if problems:
            raise ConfigError(problems, source=f"NodePool {props.pool_name!r}")
        self.ami_type = AMI_TYPES[(props.kind, architecture_of(props.instance_types[0]))]
        name = f"{props.cluster.props.cluster_name}-{props.pool_name}"

        self.role = iam_role.IamRole(self, "NodeRole", name=f"{name}-node", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
        for policy in NODE_POLICIES:
            iam_role_policy_attachment.IamRolePolicyAttachment(
                self, policy, role=self.role.name, policy_arn=f"arn:{PARTITION}:iam::aws:policy/{policy}"
            )
        self.launch_template = launch_template.LaunchTemplate(
            self,
            "LaunchTemplate",
            name=f"{name}-nodes",
            update_default_version=True,
            metadata_options=launch_template.LaunchTemplateMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                launch_template.LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    ebs=launch_template.LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=props.disk_size_gib, volume_type="gp3", encrypted="true",
                        kms_key_id=props.volume_key.arn, delete_on_termination="true",
                    ),
                )
            ],
            vpc_security_group_ids=[props.cluster.cluster_security_group_id, *props.security_group_ids],
            tag_specifications=[
                launch_template.LaunchTemplateTagSpecifications(resource_type=kind, tags={**props.tags, "Name": name})
                for kind in ("instance", "volume", "network-interface")
            ],
        )
        self.node_group = eks_node_group.EksNodeGroup(
            self,
            "NodeGroup",
            cluster_name=props.cluster.name,
            node_group_name=name,
            node_role_arn=self.role.arn,
            subnet_ids=props.subnet_ids,
            instance_types=props.instance_types,
            ami_type=self.ami_type,
            capacity_type="SPOT" if props.spot else "ON_DEMAND",
            scaling_config=eks_node_group.EksNodeGroupScalingConfig(
                min_size=props.min_size, desired_size=desired, max_size=props.max_size
            ),
            update_config=eks_node_group.EksNodeGroupUpdateConfig(max_unavailable=1),
            launch_template=eks_node_group.EksNodeGroupLaunchTemplate(
                id=self.launch_template.id, version=f"{self.launch_template.latest_version}"
            ),
            labels=self.labels,
            taint=[
                eks_node_group.EksNodeGroupTaint(key=key, value=value, effect=effect) for key, value, effect in self.taints
            ],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["scaling_config[0].desired_size"]),
        )

    @property
    def labels(self) -> dict[str, str]:
        base = {"sahab.io/pool": self.props.pool_name}
        if self.props.kind == "gpu":
            base["nvidia.com/gpu.present"] = "true"
        return {**base, **self.props.labels}

    @property
    def taints(self) -> list[tuple[str, str, str]]:
        extra = [(t.key, t.value, TAINT_EFFECTS[t.effect.value]) for t in self.props.taints]
        return ([GPU_TAINT] if self.props.kind == "gpu" else []) + [t for t in extra if t[0] != GPU_TAINT[0]]

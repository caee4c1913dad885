import pytest

from environments.errors import ConfigError


def build(sut, **overrides):
    from modules.eks_cluster import EksCluster, EksClusterProps
    from modules.node_pool import NodePool, NodePoolProps

    cluster = EksCluster(
        sut.stack, "Cluster",
        props=EksClusterProps(cluster_name="c", subnet_ids=["s1", "s2"], secrets_key=sut.keys.eks_secrets, logs_key=sut.keys.logs),
    )
    props = dict(pool_name="cpu", cluster=cluster, subnet_ids=["s1", "s2"], volume_key=sut.keys.ebs,
                 instance_types=["m7i.large"], min_size=1, max_size=3)
    props.update(overrides)
    return NodePool(sut.stack, "Pool", props=NodePoolProps(**props))


def test_a_gpu_pool_is_tainted_labelled_and_uses_the_nvidia_ami(sut):
    build(sut, pool_name="gpu", kind="gpu", instance_types=["g5.xlarge"], min_size=0, max_size=2)
    group = sut.only("aws_eks_node_group")
    assert group["ami_type"] == "AL2023_x86_64_NVIDIA"
    assert group["taint"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group["labels"]["nvidia.com/gpu.present"] == "true"
    assert group["scaling_config"] == {"min_size": 0, "desired_size": 0, "max_size": 2}


def test_a_cpu_pool_has_no_gpu_taint(sut):
    build(sut)
    group = sut.only("aws_eks_node_group")
    assert group["ami_type"] == "AL2023_x86_64_STANDARD" and group["taint"] == []


def test_graviton_instances_get_the_arm_ami(sut):
    build(sut, instance_types=["m7g.large", "c7gn.large"])
    assert sut.only("aws_eks_node_group")["ami_type"] == "AL2023_ARM_64_STANDARD"


def test_mixing_cpu_architectures_in_one_pool_is_refused(sut):
    with pytest.raises(ConfigError, match=r"NodePool 'cpu': 'instance_types' must share one CPU architecture.*"
                                          r"arm64 \(m7g.large\) and x86_64 \(m7i.large\)"):
        build(sut, instance_types=["m7g.large", "m7i.large"])


def test_the_launch_template_requires_imdsv2_with_hop_limit_one(sut):
    build(sut)
    metadata = sut.only("aws_launch_template")["metadata_options"]
    assert metadata["http_tokens"] == "required" and metadata["http_put_response_hop_limit"] == 1


def test_the_root_volume_is_encrypted_with_the_ebs_key(sut):
    build(sut, disk_size_gib=200)
    (mapping,) = sut.only("aws_launch_template")["block_device_mappings"]
    assert mapping["ebs"]["encrypted"] == "true" and mapping["ebs"]["kms_key_id"] == sut.key_ref("ebs")
    assert mapping["ebs"]["volume_size"] == 200


def test_spot_pools_ask_for_spot_capacity(sut):
    build(sut, spot=True)
    assert sut.only("aws_eks_node_group")["capacity_type"] == "SPOT"


def test_extra_taints_and_labels_are_added(sut):
    from environments import Taint

    build(sut, taints=[Taint(key="dedicated", value="serving", effect="NoExecute")], labels={"team": "ml"})
    group = sut.only("aws_eks_node_group")
    assert group["taint"] == [{"key": "dedicated", "value": "serving", "effect": "NO_EXECUTE"}]
    assert group["labels"] == {"sahab.io/pool": "cpu", "team": "ml"}


def test_desired_size_outside_the_bounds_is_refused(sut):
    with pytest.raises(ConfigError, match=r"'desired_size' \(5\) must lie between 'min_size' \(1\) and 'max_size' \(3\)"):
        build(sut, desired_size=5)


def test_the_construct_refuses_a_mixed_pool_in_the_words_of_the_schema(sut):
    from environments.rules import node_pool_problems

    with pytest.raises(ConfigError) as refused:
        build(sut, instance_types=["m7g.large", "m7i.large"], desired_size=9)
    expected = node_pool_problems(kind="cpu", instance_types=["m7g.large", "m7i.large"], min_size=1, desired_size=9, max_size=3)
    assert refused.value.problems == expected and len(expected) == 2

import pytest

from environments.errors import ConfigError


def build(sut, **overrides):
    from modules.eks_cluster import EksCluster, EksClusterProps

    props = dict(cluster_name="sahab-test-eks", subnet_ids=["subnet-a", "subnet-b"], secrets_key=sut.keys.eks_secrets, logs_key=sut.keys.logs)
    props.update(overrides)
    return EksCluster(sut.stack, "Cluster", props=EksClusterProps(**props))


def test_the_api_endpoint_is_private_by_default(sut):
    build(sut)
    vpc_config = sut.only("aws_eks_cluster")["vpc_config"]
    assert vpc_config["endpoint_private_access"] is True and vpc_config["endpoint_public_access"] is False
    assert "public_access_cidrs" not in vpc_config


def test_a_public_endpoint_is_limited_to_the_given_cidrs(sut):
    build(sut, allow_public_endpoint=True, public_access_cidrs=["94.200.0.0/24"])
    assert sut.only("aws_eks_cluster")["vpc_config"]["public_access_cidrs"] == ["94.200.0.0/24"]


def test_a_public_endpoint_without_cidrs_is_refused(sut):
    with pytest.raises(ConfigError, match="'public_access_cidrs' must list CIDRs when 'allow_public_endpoint' is true"):
        build(sut, allow_public_endpoint=True)


@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["::/0"]])
def test_a_public_endpoint_open_to_the_internet_is_refused_however_the_ranges_are_split(sut, cidrs):
    with pytest.raises(ConfigError, match=r"'public_access_cidrs' entry '.*' admits .* addresses: each entry must be /(16|48) or narrower"):
        build(sut, allow_public_endpoint=True, public_access_cidrs=cidrs)


def test_a_public_endpoint_allow_list_of_private_ranges_is_refused(sut):
    with pytest.raises(ConfigError, match=r"'public_access_cidrs' entry '10.0.0.0/24' is not an internet range"):
        build(sut, allow_public_endpoint=True, public_access_cidrs=["10.0.0.0/24"])


def test_secrets_are_envelope_encrypted_with_the_eks_secrets_key(sut):
    build(sut)
    encryption = sut.only("aws_eks_cluster")["encryption_config"]
    assert encryption == {"resources": ["secrets"], "provider": {"key_arn": sut.key_ref("eks-secrets")}}


def test_every_control_plane_log_type_is_enabled(sut):
    build(sut)
    assert sorted(sut.only("aws_eks_cluster")["enabled_cluster_log_types"]) == [
        "api", "audit", "authenticator", "controllerManager", "scheduler"
    ]


def test_the_control_plane_log_group_exists_first_and_uses_the_logs_key(sut):
    build(sut)
    (address, group), = sut.resources("aws_cloudwatch_log_group").items()
    assert group["name"] == "/aws/eks/sahab-test-eks/cluster" and group["kms_key_id"] == sut.key_ref("logs")
    assert f"aws_cloudwatch_log_group.{address}" in sut.only("aws_eks_cluster")["depends_on"]


def test_an_oidc_provider_for_irsa_trusts_sts(sut):
    build(sut)
    assert sut.only("aws_iam_openid_connect_provider")["client_id_list"] == ["sts.amazonaws.com"]


def test_a_service_account_role_trusts_exactly_that_service_account(sut):
    cluster = build(sut)
    cluster.service_account_role("Serving", role_name="serving", namespace="ml", service_account="fraud-scoring")
    role = next(r for r in sut.resources("aws_iam_role").values() if r["name"] == "serving")
    document = next(iter(sut.synth()["data"]["aws_iam_policy_document"].values()))
    assert role["assume_role_policy"].startswith("${data.aws_iam_policy_document.") and role["assume_role_policy"].endswith(".json}")
    (statement,) = document["statement"]
    subject = next(c for c in statement["condition"] if c["variable"].endswith(":sub"))
    assert subject["values"] == ["system:serviceaccount:ml:fraud-scoring"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]

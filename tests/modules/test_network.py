import ipaddress

import pytest

from environments.errors import ConfigError

REGION = "me-central-1"


def build(sut, **overrides):
    from modules.network import Network, NetworkProps

    props = dict(name_prefix="sahab-test", region=REGION, vpc_cidr="10.50.0.0/16", flow_log_key=sut.keys.logs)
    props.update(overrides)
    return Network(sut.stack, "Network", props=NetworkProps(**props))


@pytest.mark.parametrize(("strategy", "az_count", "expected"), [("none", 2, 0), ("single", 3, 1), ("per_az", 3, 3), ("per_az", 2, 2)])
def test_nat_gateway_count_follows_the_strategy(sut, strategy, az_count, expected):
    build(sut, nat_strategy=strategy, az_count=az_count)
    assert len(sut.resources("aws_nat_gateway")) == expected
    private_defaults = [r for r in sut.resources("aws_route").values() if "nat_gateway_id" in r]
    assert len(private_defaults) == (az_count if expected else 0)


def test_each_private_subnet_routes_through_the_nat_gateway_of_its_own_az_with_per_az(sut):
    build(sut, nat_strategy="per_az", az_count=3)
    nat_ids = {r["nat_gateway_id"] for r in sut.resources("aws_route").values() if "nat_gateway_id" in r}
    assert len(nat_ids) == 3


def test_subnets_never_assign_public_ips_and_spread_over_the_azs(sut):
    build(sut, az_count=3)
    subnets = list(sut.resources("aws_subnet").values())
    assert len(subnets) == 6
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    assert sorted({s["availability_zone"] for s in subnets}) == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]


def test_subnets_lie_inside_the_vpc_and_never_overlap(sut):
    from modules.network import plan_subnets

    private, public = plan_subnets("10.50.0.0/16", 3)
    networks = [ipaddress.IPv4Network(c) for c in private + public]
    assert all(n.subnet_of(ipaddress.IPv4Network("10.50.0.0/16")) for n in networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_flow_logs_capture_all_traffic_into_a_log_group_encrypted_with_the_logs_key(sut):
    build(sut)
    flow = sut.only("aws_flow_log")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    group = sut.only("aws_cloudwatch_log_group")
    assert group["kms_key_id"] == sut.key_ref("logs") and group["retention_in_days"] == 365


def test_the_default_security_group_is_stripped_of_every_rule(sut):
    build(sut)
    default = sut.only("aws_default_security_group")
    assert default["ingress"] == [] and default["egress"] == []


def test_endpoints_cover_s3_as_gateway_and_the_cluster_apis_as_private_interfaces(sut):
    build(sut)
    endpoints = {e["service_name"].removeprefix(f"com.amazonaws.{REGION}."): e for e in sut.resources("aws_vpc_endpoint").values()}
    assert sorted(endpoints) == ["ecr.api", "ecr.dkr", "kms", "logs", "s3", "sts"]
    assert endpoints["s3"]["vpc_endpoint_type"] == "Gateway"
    assert all(e["private_dns_enabled"] for name, e in endpoints.items() if name != "s3")


def test_interface_endpoints_admit_https_from_the_vpc_only(sut):
    build(sut)
    (rule,) = sut.resources("aws_vpc_security_group_ingress_rule").values()
    assert (rule["cidr_ipv4"], rule["from_port"], rule["to_port"]) == ("10.50.0.0/16", 443, 443)


def test_an_unknown_nat_strategy_is_refused_naming_the_prop(sut):
    with pytest.raises(ConfigError, match=r"'nat_strategy' must be one of .* \(value: 'double'\)"):
        build(sut, nat_strategy="double")

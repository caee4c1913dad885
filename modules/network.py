"""``Network``: a VPC with private and public subnets per AZ, NAT per strategy, flow logs and endpoints.

Workloads live in private subnets; public subnets hold only NAT gateways and load balancers and never
assign public IPs on launch. Flow logs go to a CMK-encrypted log group. AWS APIs the cluster needs
(S3, KMS, STS, ECR, CloudWatch Logs) are reached through VPC endpoints, so that traffic stays inside
the region's network even with ``nat_strategy="none"``.

Subnet plan (for a /16; smaller VPCs scale the same way):

| tier    | size      | where                                    |
|---------|-----------|------------------------------------------|
| private | /18 each  | first three quarters of the VPC, one per AZ (room for pod IPs) |
| public  | /20 each  | the last quarter, one per AZ             |

NAT strategy → gateways: ``none`` 0, ``single`` 1 (in the first AZ), ``per_az`` one per AZ.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from environments.errors import ConfigError
from modules.cdk import (
    Construct,
    default_security_group,
    eip,
    flow_log,
    iam_role,
    internet_gateway,
    kms_key,
    nat_gateway,
    route,
    route_table,
    route_table_association,
    security_group,
    subnet,
    vpc,
    vpc_endpoint,
    vpc_security_group_ingress_rule,
)
from modules.grants import role_policy
from modules.iam import Statement, assume_role_policy
from modules.log_group import EncryptedLogGroup, EncryptedLogGroupProps

NAT_STRATEGIES = ("none", "single", "per_az")

#: Interface endpoints every private cluster needs (image pulls, keys, IRSA tokens, logs).
INTERFACE_ENDPOINT_SERVICES: tuple[str, ...] = ("kms", "sts", "ecr.api", "ecr.dkr", "logs")


@dataclass(frozen=True, kw_only=True)
class NetworkProps:
    """Props of ``Network``."""

    name_prefix: str
    """Prefix of every Name tag, e.g. ``sahab-prod``."""
    region: str
    """Region; AZ names are ``<region>a``, ``<region>b``, ..."""
    vpc_cidr: str
    """IPv4 CIDR of the VPC, /16 to /24."""
    flow_log_key: kms_key.KmsKey
    """CMK for the flow log group (the logs key)."""
    az_count: int = 2
    """Availability zones, 2 or 3. Default: 2."""
    nat_strategy: str = "single"
    """``none``, ``single`` or ``per_az`` (see the module table). Default: single."""
    log_retention_days: int = 365
    """Flow log retention. Default: 365."""
    interface_endpoints: tuple[str, ...] = INTERFACE_ENDPOINT_SERVICES
    """Interface endpoint services. Default: kms, sts, ecr.api, ecr.dkr, logs (S3 is always a gateway endpoint)."""


def plan_subnets(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Private and public subnet CIDRs, one each per AZ (see the module table)."""
    network = ipaddress.IPv4Network(vpc_cidr)
    quarters = list(network.subnets(prefixlen_diff=2))
    private = [str(q) for q in quarters[:az_count]]
    public = [str(s) for s in list(quarters[3].subnets(prefixlen_diff=2))[:az_count]]
    return private, public


class Network(Construct):
    def __init__(self, scope: Construct, id: str, *, props: NetworkProps) -> None:
        super().__init__(scope, id)
        problems = []
        if props.nat_strategy not in NAT_STRATEGIES:
            problems.append(f"'nat_strategy' must be one of {NAT_STRATEGIES} (value: {props.nat_strategy!r})")
        if not 2 <= props.az_count <= 3:
            problems.append(f"'az_count' must be 2 or 3 (value: {props.az_count})")
        if problems:
            raise ConfigError(problems, source=f"Network {props.name_prefix!r}")
        self.props = props
        self.availability_zones = [f"{props.region}{letter}" for letter in "abc"[: props.az_count]]
        name = props.name_prefix

        self.vpc = vpc.Vpc(
            self, "Vpc", cidr_block=props.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
        )
        # The default security group allows all traffic between its members: strip every rule from it.
        default_security_group.DefaultSecurityGroup(self, "DefaultSecurityGroup", vpc_id=self.vpc.id, ingress=[], egress=[])

        private_cidrs, public_cidrs = plan_subnets(props.vpc_cidr, props.az_count)
        # EKS places internal load balancers by the internal-elb tag, internet-facing ones by the elb tag.
        self.private_subnets = self._subnets("private", private_cidrs, elb_role_tag="kubernetes.io/role/internal-elb")
        self.public_subnets = self._subnets("public", public_cidrs, elb_role_tag="kubernetes.io/role/elb")
        self._routing()
        self.flow_log_group = self._flow_logs()
        self.endpoint_security_group = self._endpoints()

    # ---- derived values -------------------------------------------------------------------------
    @property
    def private_subnet_ids(self) -> list[str]:
        return [s.id for s in self.private_subnets]

    @property
    def public_subnet_ids(self) -> list[str]:
        return [s.id for s in self.public_subnets]

    @property
    def nat_gateway_count(self) -> int:
        return {"none": 0, "single": 1, "per_az": self.props.az_count}[self.props.nat_strategy]

    # ---- construction ---------------------------------------------------------------------------
    def _subnets(self, tier: str, cidrs: list[str], *, elb_role_tag: str) -> list[subnet.Subnet]:
        """One subnet of ``tier`` per AZ, with EKS's load balancer role tag; none gives instances public IPs."""
        return [
            subnet.Subnet(
                self, f"{tier.capitalize()}{i}", vpc_id=self.vpc.id, cidr_block=cidr, availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{self.props.name_prefix}-{tier}-{az}", elb_role_tag: "1"},
            )
            for i, (cidr, az) in enumerate(zip(cidrs, self.availability_zones))
        ]

    def _routing(self) -> None:
        name = self.props.name_prefix
        igw = internet_gateway.InternetGateway(self, "InternetGateway", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"})
        public_rt = route_table.RouteTable(self, "PublicRoutes", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"})
        route.Route(self, "PublicDefault", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id)
        for i, public in enumerate(self.public_subnets):
            route_table_association.RouteTableAssociation(self, f"PublicAssoc{i}", subnet_id=public.id, route_table_id=public_rt.id)

        self.nat_gateways = []
        for i in range(self.nat_gateway_count):
            address = eip.Eip(self, f"NatAddress{i}", domain="vpc", tags={"Name": f"{name}-nat-{i}"})
            self.nat_gateways.append(
                nat_gateway.NatGateway(
                    self, f"Nat{i}", allocation_id=address.id, subnet_id=self.public_subnets[i].id,
                    tags={"Name": f"{name}-nat-{self.availability_zones[i]}"}, depends_on=[igw],
                )
            )
        self.private_route_tables = []
        for i, private in enumerate(self.private_subnets):
            table = route_table.RouteTable(
                self, f"PrivateRoutes{i}", vpc_id=self.vpc.id, tags={"Name": f"{name}-private-{self.availability_zones[i]}"}
            )
            if self.nat_gateways:
                nat = self.nat_gateways[i if len(self.nat_gateways) > 1 else 0]
                route.Route(self, f"PrivateDefault{i}", route_table_id=table.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)
            route_table_association.RouteTableAssociation(self, f"PrivateAssoc{i}", subnet_id=private.id, route_table_id=table.id)
            self.private_route_tables.append(table)

    def _flow_logs(self) -> EncryptedLogGroup:
        group = EncryptedLogGroup(
            self,
            "FlowLogGroup",
            props=EncryptedLogGroupProps(
                name=f"/sahab/{self.props.name_prefix}/vpc-flow-logs",
                key=self.props.flow_log_key,
                retention_days=self.props.log_retention_days,
            ),
        )
        role = iam_role.IamRole(
            self, "FlowLogRole", name=f"{self.props.name_prefix}-flow-logs",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"),
        )
        role_policy(self, "FlowLogDelivery", role, [
            Statement(sid="DeliverFlowLogs", actions=("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
                      resources=(group.arn, f"{group.arn}:*")),
        ])
        flow_log.FlowLog(
            self, "FlowLog", vpc_id=self.vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
            log_destination=group.arn, iam_role_arn=role.arn, max_aggregation_interval=60,
        )
        return group

    def _endpoints(self) -> security_group.SecurityGroup:
        name = self.props.name_prefix
        vpc_endpoint.VpcEndpoint(
            self, "S3Endpoint", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{self.props.region}.s3",
            vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in self.private_route_tables],
            tags={"Name": f"{name}-s3"},
        )
        endpoint_sg = security_group.SecurityGroup(
            self, "EndpointSecurityGroup", name=f"{name}-endpoints", vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to the AWS service interface endpoints",
        )
        vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            self, "EndpointHttpsFromVpc", security_group_id=endpoint_sg.id, ip_protocol="tcp", from_port=443,
            to_port=443, cidr_ipv4=self.props.vpc_cidr, description="HTTPS from the VPC",
        )
        for service in self.props.interface_endpoints:
            vpc_endpoint.VpcEndpoint(
                self, "Endpoint" + "".join(p.capitalize() for p in service.split(".")),
                vpc_id=self.vpc.id, service_name=f"com.amazonaws.{self.props.region}.{service}",
                vpc_endpoint_type="Interface", private_dns_enabled=True, subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_sg.id], tags={"Name": f"{name}-{service}"},
            )
        return endpoint_sg

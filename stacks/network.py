"""``<env>-network``: the VPC, its subnets, NAT, flow logs and the AWS service endpoints."""

from __future__ import annotations

from environments import Environment
from modules.cdk import Construct
from modules.network import Network, NetworkProps
from stacks.base import LayerStack
from stacks.security import SecurityStack


class NetworkStack(LayerStack):
    layer = "network"

    def __init__(self, scope: Construct, env: Environment, *, security: SecurityStack) -> None:
        super().__init__(scope, env)
        assert env.network is not None, "the schema requires 'network' for cloud environments"
        self.network = Network(
            self,
            "Network",
            props=NetworkProps(
                name_prefix=self.name_prefix,
                region=env.region,
                vpc_cidr=env.network.vpc_cidr,
                az_count=env.network.az_count,
                nat_strategy=env.network.nat_strategy.value,
                flow_log_key=security.keys.logs,
                log_retention_days=env.log_retention_days,
            ),
        )
        self.output("vpc_id", self.network.vpc.id, "VPC id")
        self.output("private_subnet_ids", self.network.private_subnet_ids, "Private subnets, one per AZ")

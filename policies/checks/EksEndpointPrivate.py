from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import allow_list_problems, as_list, attr, blocks


class EksEndpointPrivate(SahabResourceCheck):
    """The Kubernetes API is reachable privately; public access only from an explicit CIDR list.

    The provider's defaults are public access from 0.0.0.0/0 and no private access: both fail
    unless overridden. CIDRs are parsed, not matched: ``0.0.0.0/1`` + ``128.0.0.0/1`` is the whole internet too.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure the EKS API endpoint is private, or public only to an explicit CIDR allow-list",
            id="CKV_SAHAB_29",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["aws_eks_cluster"],
            rationale="CIS EKS 5.4.1-5.4.2, AWS FSBP EKS.1: the control plane is not open to the internet.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        vpc = (blocks(conf, "vpc_config") or [{}])[0]
        problems = []
        if attr(vpc, "endpoint_private_access") not in (True, "true"):
            problems.append("'vpc_config.endpoint_private_access' must be true")
        if attr(vpc, "endpoint_public_access", True) not in (False, "false"):  # unresolved counts as public
            cidrs = [str(c) for c in as_list(attr(vpc, "public_access_cidrs"))]
            if not cidrs:
                problems.append("public endpoint without 'public_access_cidrs' is open to 0.0.0.0/0: list CIDRs or disable it")
            problems += allow_list_problems(cidrs, "vpc_config.public_access_cidrs", public=True)
        return self.verdict(problems, ["vpc_config/[0]/endpoint_private_access", "vpc_config/[0]/endpoint_public_access",
                                       "vpc_config/[0]/public_access_cidrs"])


check = EksEndpointPrivate()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import as_list, attr, blocks, is_wider_than_allowed
#: The one sanctioned exception: HTTPS on a public load balancer, declared by this tag.
EXPOSURE_TAG = ("exposure", "public-load-balancer")


def _open_cidrs(rule: dict, *keys: str) -> list[str]:
    """CIDRs wider than an allow-list may be (parsed: ``0.0.0.0/1`` is as open as ``0.0.0.0/0``)."""
    return [c for key in keys for c in as_list(attr(rule, key)) if is_wider_than_allowed(c)]


def _is_https_only(rule: dict, protocol_key: str) -> bool:
    protocol = str(attr(rule, protocol_key, "")).lower()
    return protocol in ("tcp", "6") and str(attr(rule, "from_port")) == "443" and str(attr(rule, "to_port")) == "443"


class SecurityGroupIngressRestricted(SahabResourceCheck):
    """No ingress from 0.0.0.0/0, ::/0 or any range wider than a /16 (/48), except TCP 443 on a security group
    (or ingress rule) tagged ``exposure = public-load-balancer``.

    The exception is an explicit, reviewable opt-in; ``aws_security_group_rule`` cannot carry tags,
    so open rules there always fail (use ``aws_vpc_security_group_ingress_rule``).
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure no security group allows ingress from 0.0.0.0/0 or ::/0 except 443 on public load balancers",
            id="CKV_SAHAB_33",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"],
            rationale="AWS FSBP EC2.18-EC2.19, CIS AWS Foundations 5.2-5.3, ISO 27001 A.8.20 (network security).",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        tags = attr(conf, "tags") or {}
        exposed = isinstance(tags, dict) and tags.get(EXPOSURE_TAG[0]) == EXPOSURE_TAG[1]
        if self.entity_type == "aws_security_group":
            rules = [(f"ingress[{i}]", r, ("cidr_blocks", "ipv6_cidr_blocks"), "protocol") for i, r in enumerate(blocks(conf, "ingress"))]
        elif self.entity_type == "aws_security_group_rule":
            if attr(conf, "type") != "ingress":
                return self.verdict([], ["type"])
            exposed = False
            rules = [("rule", conf, ("cidr_blocks", "ipv6_cidr_blocks"), "protocol")]
        else:
            rules = [("rule", conf, ("cidr_ipv4", "cidr_ipv6"), "ip_protocol")]
        problems = []
        for where, rule, cidr_keys, protocol_key in rules:
            for cidr in _open_cidrs(rule, *cidr_keys):
                if exposed and _is_https_only(rule, protocol_key):
                    continue
                protocol = str(attr(rule, protocol_key))
                ports = "all traffic" if protocol == "-1" else f"{attr(rule, 'from_port')}-{attr(rule, 'to_port')}/{protocol}"
                hint = "" if exposed else f" (443/tcp is allowed only with tag {EXPOSURE_TAG[0]}={EXPOSURE_TAG[1]})"
                problems.append(f"{where} allows {ports} from {cidr}{hint}")
        return self.verdict(problems, ["ingress", "cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6", "tags"])


check = SecurityGroupIngressRestricted()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks

#: Listener security policies that allow nothing older than TLS 1.2.
TLS12_POLICY_MARKERS = ("TLS13-1-2", "TLS-1-2", "FS-1-2", "TLS13-1-3")


def _redirects_to_https(action: dict) -> bool:
    redirects = blocks(action, "redirect")
    return attr(action, "type") == "redirect" and any(attr(r, "protocol") == "HTTPS" for r in redirects)


class LoadBalancerListenerTlsOnly(SahabResourceCheck):
    """Load balancer listeners serve TLS 1.2+ only; a plain HTTP listener may only redirect to HTTPS."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure load balancer listeners use TLS 1.2 or later, or only redirect HTTP to HTTPS",
            id="CKV_SAHAB_24",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_lb_listener", "aws_alb_listener"],
            rationale="ISO 27001 A.8.24, AWS FSBP ELB.1: scoring requests are encrypted in transit.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        protocol = attr(conf, "protocol")
        problems = []
        if protocol in ("HTTPS", "TLS"):
            policy = attr(conf, "ssl_policy") or ""
            if not any(marker in policy for marker in TLS12_POLICY_MARKERS):
                problems.append(f"'ssl_policy' must allow TLS 1.2+ only, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06 (value: {policy!r})")
        elif protocol == "HTTP":
            actions = blocks(conf, "default_action")
            if not actions or not all(_redirects_to_https(a) for a in actions):
                problems.append("an HTTP listener must only redirect to HTTPS (default_action type 'redirect', protocol 'HTTPS')")
        else:
            problems.append(f"'protocol' must be HTTPS or TLS, or HTTP that redirects to HTTPS (value: {protocol!r})")
        return self.verdict(problems, ["protocol", "ssl_policy", "default_action"])


check = LoadBalancerListenerTlsOnly()

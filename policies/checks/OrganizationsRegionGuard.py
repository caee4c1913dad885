from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, policy_statements, region_guard_problems


class OrganizationsRegionGuard(SahabResourceCheck):
    """A service control policy Sahab ships denies every action in every region outside the allow-list, except the
    reviewed global services, and nothing narrows whom it denies. An exemption outside the table, a missing or wider
    region list, or an extra condition (a principal excluded) fails, naming it. Other policy types pass."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure the region guard (an SCP) denies every region outside the UAE, exempting only the reviewed "
            "global services",
            id="CKV_SAHAB_42",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_organizations_policy"],
            rationale="UAE PDPL (cross-border transfer), ISO 27001 A.5.23 (cloud services): AWS itself refuses to create "
            "anything outside the UAE in the account, whoever asks and however.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        if attr(conf, "type") not in (None, "SERVICE_CONTROL_POLICY"):
            return self.verdict([], ["type"])  # a tag or backup policy: not a guard
        statements = policy_statements(attr(conf, "content"))
        if statements is None:
            return self.verdict(["'content' is not literal JSON, so it cannot be proven before apply"], ["content"])
        return self.verdict(region_guard_problems(statements), ["content"])


check = OrganizationsRegionGuard()

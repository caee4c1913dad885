from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks


class EksNodeGroupUsesLaunchTemplate(SahabResourceCheck):
    """Managed node groups launch from our launch template, where IMDSv2, CMK-encrypted volumes
    and instance tags are set (CKV_SAHAB_10, 31, 35); without one EKS uses its own defaults."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure EKS node groups use a launch template (IMDSv2, CMK volumes, tags)",
            id="CKV_SAHAB_32",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["aws_eks_node_group"],
            rationale="CIS EKS 3.x worker node configuration, ISO 27001 A.8.9 (configuration management).",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        templates = blocks(conf, "launch_template")
        ok = any(attr(t, "id") or attr(t, "name") for t in templates)
        problem = None if ok else "no 'launch_template' (id or name) is set"
        return self.verdict([problem], ["launch_template"])


check = EksNodeGroupUsesLaunchTemplate()

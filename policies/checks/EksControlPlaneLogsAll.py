from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, string_items

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


class EksControlPlaneLogsAll(SahabResourceCheck):
    """All five control plane log types go to CloudWatch (audit alone misses auth failures)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure EKS sends every control plane log type (api, audit, authenticator, controllerManager, scheduler)",
            id="CKV_SAHAB_30",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["aws_eks_cluster"],
            rationale="CIS EKS 2.1.1, AWS FSBP EKS.8, ISO 27001 A.8.15 (logging): control plane activity is auditable.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        enabled = set(string_items(attr(conf, "enabled_cluster_log_types")))
        missing = [t for t in LOG_TYPES if t not in enabled]
        problem = f"'enabled_cluster_log_types' lacks {missing}" if missing else None
        return self.verdict([problem], ["enabled_cluster_log_types"])


check = EksControlPlaneLogsAll()

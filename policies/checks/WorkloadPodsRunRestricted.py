from typing import Any

from checkov.common.models.enums import CheckCategories

from sahab_base import SahabPodCheck
from sahab_policy import restricted_pod_problems


class WorkloadPodsRunRestricted(SahabPodCheck):
    """Pods meet Pod Security ``restricted`` and run on an immutable root filesystem with limits.

    One check for the whole profile (non-root, no privilege escalation, all capabilities dropped, no
    privileged container, no host namespaces or hostPath, read-only root, CPU and memory limits), so the
    profile cannot be weakened by skipping one built-in check.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure workload pods run restricted: non-root, no escalation, no capabilities, read-only root, limits",
            id="CKV_SAHAB_37",
            categories=[CheckCategories.KUBERNETES],
            rationale="CIS EKS 4.2 (pod security standards) and ISO 27001 A.8.9 (configuration management): a "
            "compromised process gets no root, no host and no unbounded resources.",
        )

    def pod_problems(self, pod: dict[str, Any]) -> list[str]:
        return restricted_pod_problems(pod)

    def evaluated_pod_keys(self) -> list[str]:
        return ["securityContext", "containers/[*]/securityContext", "containers/[*]/resources/limits", "volumes",
                "hostNetwork", "hostPID", "hostIPC"]


check = WorkloadPodsRunRestricted()

from typing import Any

from checkov.common.models.enums import CheckCategories

from sahab_base import SahabPodCheck
from sahab_policy import containers_of, image_problem


class WorkloadImagesFromResidentEcr(SahabPodCheck):
    """Every container image comes from an ECR registry in a resident region, pinned by tag or digest.

    A public registry, an ECR in another region, an untagged image and a floating tag (``latest``) all
    fail: each would pull code from outside the UAE or code nobody reviewed.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure workload images come from a UAE-resident ECR, pinned by an immutable tag or digest",
            id="CKV_SAHAB_36",
            categories=[CheckCategories.SUPPLY_CHAIN],
            rationale="UAE PDPL residency and ISO 27001 A.8.19 (installation of software): only reviewed images "
            "from registries in the UAE run on the cluster.",
        )

    def pod_problems(self, pod: dict[str, Any]) -> list[str]:
        return [p for where, c in containers_of(pod) if (p := image_problem(c.get("image"), where))]

    def evaluated_pod_keys(self) -> list[str]:
        return ["containers/[*]/image", "initContainers/[*]/image"]


check = WorkloadImagesFromResidentEcr()

from typing import Any

from checkov.common.models.enums import CheckCategories

from sahab_base import SahabPodCheck
from sahab_policy import gpu_placement_problems


class GpuRequestsOnGpuNodes(SahabPodCheck):
    """A pod that asks for ``nvidia.com/gpu`` selects GPU nodes; a pod that tolerates their taint asks for one.

    GPU nodes carry ``nvidia.com/gpu.present=true`` and the ``nvidia.com/gpu`` NoSchedule taint
    (``modules/node_pool.py``): a GPU request elsewhere never schedules, a tolerating CPU pod wastes a GPU node.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure GPUs are requested only on GPU nodes, and GPU nodes are used only by pods that request GPUs",
            id="CKV_SAHAB_38",
            categories=[CheckCategories.KUBERNETES],
            rationale="ISO 27001 A.8.6 (capacity management): the scarce, costly GPU pool serves only GPU workloads.",
        )

    def pod_problems(self, pod: dict[str, Any]) -> list[str]:
        return gpu_placement_problems(pod)

    def evaluated_pod_keys(self) -> list[str]:
        return ["containers/[*]/resources", "nodeSelector", "tolerations"]


check = GpuRequestsOnGpuNodes()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import iter_keyed, region_problem

#: Attributes that place (part of) a resource in a region: AWS provider v6's per-resource
#: ``region``, replicas (Secrets Manager, DynamoDB), copy/replication targets (ECR) and zones.
REGION_ATTRIBUTES = frozenset(
    {"region", "region_name", "destination_region", "source_region", "replica_region", "availability_zone",
     "availability_zones"}
)


class ResourceRegionResident(SahabResourceCheck):
    """No resource argument moves a resource, a replica or a copy out of the resident regions.

    AWS provider v6 accepts ``region`` on every resource, so an escape hatch can create one resource
    abroad under a resident provider; replicas and replication rules do the same for copies.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure resource-level regions, replicas and zones stay in the UAE residency allow-list",
            id="CKV_SAHAB_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_*"],
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): no resource, replica or copy outside the UAE.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        found = list(iter_keyed(conf, REGION_ATTRIBUTES))
        keys = [path for path, _ in found] or sorted(REGION_ATTRIBUTES)  # what was looked for, when absent
        return self.verdict((region_problem(value, path) for path, value in found), keys)


check = ResourceRegionResident()

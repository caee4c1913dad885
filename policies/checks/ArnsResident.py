from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import foreign_arn_regions, iter_strings


class ArnsResident(SahabResourceCheck):
    """No attribute, policy document included, names an ARN in a region outside the allow-list.

    Literal ARNs are how an escape hatch points a resident resource at a foreign one (a log
    destination, a key, a topic); region-less ARNs (IAM, S3) and wildcards name no region.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure every ARN a resource names is in the UAE residency allow-list",
            id="CKV_SAHAB_3",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_*"],
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): no data flows to ARNs outside the UAE.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        problems, keys = [], ["*"]  # every string attribute, policy documents included
        for path, text in iter_strings(conf):
            for region in foreign_arn_regions(text):
                problems.append(f"'{path}' names an ARN in region {region!r}")
                keys.append(path)
        return self.verdict(problems, keys)


check = ArnsResident()

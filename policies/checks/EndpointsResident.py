from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import foreign_endpoint_regions, iter_strings


class EndpointsResident(SahabResourceCheck):
    """No attribute names an AWS endpoint (``s3.eu-west-1.amazonaws.com``) or VPC endpoint service
    (``com.amazonaws.eu-west-1.s3``) of a region outside the allow-list."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure every AWS endpoint and service name a resource uses is in the UAE residency allow-list",
            id="CKV_SAHAB_4",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_*"],
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): traffic reaches only UAE service endpoints.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        problems, keys = [], ["*"]  # every string attribute, policy documents included
        for path, text in iter_strings(conf):
            for region in foreign_endpoint_regions(text):
                problems.append(f"'{path}' names an endpoint in region {region!r}")
                keys.append(path)
        return self.verdict(problems, keys)


check = EndpointsResident()

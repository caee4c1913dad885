from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabProviderCheck
from sahab_policy import attr, blocks, foreign_endpoint_regions, iter_strings, region_problem


class AwsProviderRegionResident(SahabProviderCheck):
    """Every AWS provider (aliases included) deploys into a resident region.

    A provider without ``region`` takes it from the deployer's environment (``AWS_REGION``), which
    cannot be proven before apply, so it fails. Custom ``endpoints`` must not point abroad either.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure every AWS provider's region is in the UAE residency allow-list",
            id="CKV_SAHAB_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): resources are created only in UAE regions.",
        )

    def scan_provider_conf(self, conf: dict[str, list]) -> CheckResult:
        problems = [region_problem(attr(conf, "region"), "region")]
        for path, text in iter_strings(blocks(conf, "endpoints"), "endpoints"):
            problems += [f"'{path}' is an endpoint in region {r!r}" for r in foreign_endpoint_regions(text)]
        return self.verdict(problems, ["region", "endpoints"])


check = AwsProviderRegionResident()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabProviderCheck
from sahab_policy import attr, blocks, tag_problems


class AwsProviderDefaultTags(SahabProviderCheck):
    """Every AWS provider stamps the mandatory tags on every taggable resource through
    ``default_tags`` (resources need not, and should not, repeat them)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure every AWS provider sets default tags owner, cost-centre, data-classification and environment",
            id="CKV_SAHAB_34",
            categories=[CheckCategories.CONVENTION],
            rationale="ISO 27001 A.5.9 (asset inventory), A.5.12 (classification): every resource has an owner and class.",
        )

    def scan_provider_conf(self, conf: dict[str, list]) -> CheckResult:
        defaults = blocks(conf, "default_tags")
        tags = attr(defaults[0], "tags") if defaults else None
        return self.verdict(tag_problems(tags, "default_tags.tags"), ["default_tags/[0]/tags"])


check = AwsProviderDefaultTags()

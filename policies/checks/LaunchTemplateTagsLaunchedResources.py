from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, tag_problems

TAGGED_AT_LAUNCH = ("instance", "volume")


class LaunchTemplateTagsLaunchedResources(SahabResourceCheck):
    """Instances and volumes that node groups launch carry the mandatory tags.

    The provider's ``default_tags`` reach only resources Terraform creates; what an Auto Scaling
    group launches is tagged only through the template's ``tag_specifications``.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch templates tag launched instances and volumes with the mandatory tags",
            id="CKV_SAHAB_35",
            categories=[CheckCategories.CONVENTION],
            supported_resources=["aws_launch_template"],
            rationale="ISO 27001 A.5.9 (asset inventory), A.5.12 (classification): nodes and disks have an owner and class.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        by_type = {attr(spec, "resource_type"): attr(spec, "tags") for spec in blocks(conf, "tag_specifications")}
        problems = []
        for resource_type in TAGGED_AT_LAUNCH:
            if resource_type not in by_type:
                problems.append(f"no 'tag_specifications' for resource_type {resource_type!r}")
            else:
                problems += tag_problems(by_type[resource_type], f"tag_specifications[{resource_type}]")
        return self.verdict(problems, ["tag_specifications"])


check = LaunchTemplateTagsLaunchedResources()

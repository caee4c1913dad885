from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import blocks, holds_personal_data, lifecycle_rule_problems


class PersonalDataExpiryCoversVersions(SahabResourceCheck):
    """Lifecycle rules that hold personal data delete it, current and noncurrent versions alike.

    A rule holds personal data when it expires objects or is filtered on one of the platform's personal-data
    prefixes (``predictions/``, ``offline/``). In a versioned bucket an expiry only hides the object behind a
    delete marker: without ``noncurrent_version_expiration`` the data stays, as a version, for good. A
    configuration with no such rule is out of scope (UNKNOWN); ``CKV_SAHAB_46`` makes a personal-data bucket have one.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure lifecycle rules that hold personal data expire its current and noncurrent versions",
            id="CKV_SAHAB_47",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_s3_bucket_lifecycle_configuration"],
            rationale="UAE PDPL Art. 5 (storage limitation), ISO 27001 A.8.10 (information deletion): personal data is "
            "deleted when its retention ends, versions included.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        rules = blocks(conf, "rule")
        if not any(holds_personal_data(rule) for rule in rules):
            self.evaluated_keys = ["rule"]
            return CheckResult.UNKNOWN
        return self.verdict([p for index, rule in enumerate(rules) for p in lifecycle_rule_problems(rule, index)], ["rule"])


check = PersonalDataExpiryCoversVersions()

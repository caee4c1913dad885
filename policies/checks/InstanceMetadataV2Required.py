from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks


class InstanceMetadataV2Required(SahabResourceCheck):
    """Nodes and instances require IMDSv2 session tokens (IMDSv1 lets SSRF read node credentials)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch templates and instances require IMDSv2 (http_tokens = required)",
            id="CKV_SAHAB_31",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_launch_template", "aws_instance"],
            rationale="CIS EKS 4.x node hardening, AWS FSBP EC2.8 and EC2.170: instance credentials need IMDSv2.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        options = (blocks(conf, "metadata_options") or [{}])[0]
        tokens = attr(options, "http_tokens")
        if attr(options, "http_endpoint") == "disabled":
            problem = None  # no metadata service at all is stricter still
        elif tokens != "required":
            problem = f"'metadata_options.http_tokens' must be 'required' (value: {tokens!r})"
        else:
            problem = None
        return self.verdict([problem], ["metadata_options/[0]/http_tokens", "metadata_options/[0]/http_endpoint"])


check = InstanceMetadataV2Required()

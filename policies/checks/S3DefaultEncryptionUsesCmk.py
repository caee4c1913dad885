from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, customer_managed_key_problem

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


class S3DefaultEncryptionUsesCmk(SahabResourceCheck):
    """A bucket's default encryption is SSE-KMS with one of our keys, never SSE-S3 or ``aws/s3``."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure S3 default encryption uses SSE-KMS with our customer-managed key",
            id="CKV_SAHAB_8",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_s3_bucket_server_side_encryption_configuration"],
            rationale="ISO 27001 A.8.24 (use of cryptography), AWS FSBP S3.17: objects at rest under keys we control.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        rules = blocks(conf, "rule")
        problems = [] if rules else ["no 'rule' block: the bucket falls back to SSE-S3 (an AWS-owned key)"]
        for index, rule in enumerate(rules):
            defaults = blocks(rule, "apply_server_side_encryption_by_default")
            if not defaults:
                problems.append(f"rule[{index}] has no 'apply_server_side_encryption_by_default'")
            for default in defaults:
                algorithm = attr(default, "sse_algorithm")
                if algorithm not in KMS_ALGORITHMS:
                    problems.append(f"rule[{index}].sse_algorithm is {algorithm!r}; it must be one of {list(KMS_ALGORITHMS)}")
                key = attr(default, "kms_master_key_id")
                problems.append(customer_managed_key_problem(key, f"rule[{index}].kms_master_key_id"))
        keys = ["rule/[*]/apply_server_side_encryption_by_default/[*]/sse_algorithm",
                "rule/[*]/apply_server_side_encryption_by_default/[*]/kms_master_key_id"]
        return self.verdict(problems, keys)


check = S3DefaultEncryptionUsesCmk()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, customer_managed_key_problem


class MskAtRestUsesCmk(SahabResourceCheck):
    """Kafka broker storage is encrypted with one of our keys (MSK defaults to ``aws/kafka``).

    MSK Serverless has no key option (AWS-owned keys only), so a serverless cluster always fails.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure MSK encrypts broker storage with our customer-managed key",
            id="CKV_SAHAB_13",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_msk_cluster", "aws_msk_serverless_cluster"],
            rationale="ISO 27001 A.8.24 (use of cryptography): streamed transactions at rest under keys we control.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        if self.entity_type == "aws_msk_serverless_cluster":
            problem = "MSK Serverless encrypts at rest only with an AWS-owned key: use a provisioned cluster with our kafka CMK"
            return self.verdict([problem], ["encryption_info"])  # the block serverless cannot have
        info = (blocks(conf, "encryption_info") or [{}])[0]
        key = attr(info, "encryption_at_rest_kms_key_arn")
        problems = [customer_managed_key_problem(key, "encryption_info.encryption_at_rest_kms_key_arn")]
        return self.verdict(problems, ["encryption_info/[0]/encryption_at_rest_kms_key_arn"])


check = MskAtRestUsesCmk()

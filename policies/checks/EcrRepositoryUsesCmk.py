from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, customer_managed_key_problem


class EcrRepositoryUsesCmk(SahabResourceCheck):
    """Image repositories are KMS-encrypted with one of our keys.

    ECR defaults to AES256 with an AWS-owned key; ``encryption_type = KMS`` without a key uses
    ``aws/ecr``. Both fail.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure ECR repositories are encrypted with our customer-managed key",
            id="CKV_SAHAB_19",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_ecr_repository"],
            rationale="ISO 27001 A.8.24 (use of cryptography): serving images, which embed models, under keys we control.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        encryption = (blocks(conf, "encryption_configuration") or [{}])[0]
        kind = attr(encryption, "encryption_type")
        problems = [] if kind == "KMS" else [f"'encryption_configuration.encryption_type' must be 'KMS' (value: {kind!r})"]
        problems.append(customer_managed_key_problem(attr(encryption, "kms_key"), "encryption_configuration.kms_key"))
        return self.verdict(problems, ["encryption_configuration/[0]/encryption_type", "encryption_configuration/[0]/kms_key"])


check = EcrRepositoryUsesCmk()

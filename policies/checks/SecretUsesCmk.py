from checkov.common.models.enums import CheckCategories

from sahab_base import CustomerManagedKeyCheck


class SecretUsesCmk(CustomerManagedKeyCheck):
    """Secrets Manager secrets are encrypted with one of our keys. Without ``kms_key_id`` a secret uses the AWS-managed ``aws/secretsmanager`` key."""

    key_attribute = "kms_key_id"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Secrets Manager secrets are encrypted with our customer-managed key",
            id="CKV_SAHAB_16",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_secretsmanager_secret"],
            rationale="ISO 27001 A.8.24 (use of cryptography): secrets at rest under keys we control, not aws/secretsmanager.",
        )


check = SecretUsesCmk()

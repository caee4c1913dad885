from checkov.common.models.enums import CheckCategories

from sahab_base import CustomerManagedKeyCheck


class LogGroupUsesCmk(CustomerManagedKeyCheck):
    """CloudWatch log groups are encrypted with one of our keys. Logs hold request payloads and identifiers; without ``kms_key_id`` CloudWatch uses its own key."""

    key_attribute = "kms_key_id"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure CloudWatch log groups are encrypted with our customer-managed key",
            id="CKV_SAHAB_15",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_cloudwatch_log_group"],
            rationale="ISO 27001 A.8.24 (use of cryptography), A.8.15 (logging): logs at rest under keys we control.",
        )


check = LogGroupUsesCmk()

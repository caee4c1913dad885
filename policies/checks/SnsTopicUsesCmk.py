from checkov.common.models.enums import CheckCategories

from sahab_base import CustomerManagedKeyCheck


class SnsTopicUsesCmk(CustomerManagedKeyCheck):
    """SNS topics are encrypted with one of our keys. Without ``kms_master_key_id`` (or with ``alias/aws/sns``) topics use an AWS-managed key."""

    key_attribute = "kms_master_key_id"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure SNS topics are encrypted with our customer-managed key",
            id="CKV_SAHAB_17",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_sns_topic"],
            rationale="ISO 27001 A.8.24, AWS FSBP SNS.1: messages at rest under keys we control, not alias/aws/sns.",
        )


check = SnsTopicUsesCmk()

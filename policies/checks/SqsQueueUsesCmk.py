from checkov.common.models.enums import CheckCategories

from sahab_base import CustomerManagedKeyCheck


class SqsQueueUsesCmk(CustomerManagedKeyCheck):
    """SQS queues are encrypted with one of our keys. SQS-managed SSE (``sqs_managed_sse_enabled``) and ``alias/aws/sqs`` are AWS keys: they fail."""

    key_attribute = "kms_master_key_id"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure SQS queues are encrypted with our customer-managed key",
            id="CKV_SAHAB_18",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_sqs_queue"],
            rationale="ISO 27001 A.8.24, AWS FSBP SQS.1: messages at rest under keys we control, not SQS-managed SSE.",
        )


check = SqsQueueUsesCmk()

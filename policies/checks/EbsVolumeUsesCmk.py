from typing import Any

from checkov.common.models.enums import CheckCategories

from sahab_base import CustomerManagedKeyCheck
from sahab_policy import attr


class EbsVolumeUsesCmk(CustomerManagedKeyCheck):
    """Standalone EBS volumes are encrypted, with one of our keys rather than ``aws/ebs``."""

    key_attribute = "kms_key_id"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure EBS volumes are encrypted with our customer-managed key",
            id="CKV_SAHAB_11",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_ebs_volume"],
            rationale="ISO 27001 A.8.24 (use of cryptography), AWS FSBP EC2.3: volumes at rest under keys we control.",
        )

    def encryption_problems(self, conf: dict[str, list[Any]]) -> list[str]:
        encrypted = attr(conf, "encrypted")
        return [] if encrypted in (True, "true") else [f"'encrypted' must be true (value: {encrypted!r})"]

    def extra_evaluated_keys(self) -> list[str]:
        return ["encrypted"]


check = EbsVolumeUsesCmk()

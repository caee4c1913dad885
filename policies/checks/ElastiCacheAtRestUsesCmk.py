from typing import Any

from checkov.common.models.enums import CheckCategories

from sahab_base import CustomerManagedKeyCheck
from sahab_policy import attr


class ElastiCacheAtRestUsesCmk(CustomerManagedKeyCheck):
    """The online feature store (Redis) is encrypted at rest with one of our keys."""

    key_attribute = "kms_key_id"

    def __init__(self) -> None:
        super().__init__(
            name="Ensure ElastiCache encrypts data at rest with our customer-managed key",
            id="CKV_SAHAB_14",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_elasticache_replication_group", "aws_elasticache_serverless_cache"],
            rationale="ISO 27001 A.8.24, AWS FSBP ElastiCache.4: online features at rest under keys we control.",
        )

    def encryption_problems(self, conf: dict[str, list[Any]]) -> list[str]:
        if self.entity_type != "aws_elasticache_replication_group":
            return []  # serverless caches are always encrypted at rest; the key is what matters
        enabled = attr(conf, "at_rest_encryption_enabled")
        return [] if enabled in (True, "true") else [f"'at_rest_encryption_enabled' must be true (value: {enabled!r})"]

    def extra_evaluated_keys(self) -> list[str]:
        return ["at_rest_encryption_enabled"]


check = ElastiCacheAtRestUsesCmk()

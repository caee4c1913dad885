from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr


class ElastiCacheTransitEncryption(SahabResourceCheck):
    """Redis accepts TLS connections only (``preferred`` mode still admits plaintext clients)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure ElastiCache requires TLS for every connection",
            id="CKV_SAHAB_21",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_elasticache_replication_group"],
            rationale="ISO 27001 A.8.24, AWS FSBP ElastiCache.5: online features are encrypted in transit.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        enabled = attr(conf, "transit_encryption_enabled")
        mode = attr(conf, "transit_encryption_mode", "required")
        problems = []
        if enabled not in (True, "true"):
            problems.append(f"'transit_encryption_enabled' must be true (value: {enabled!r})")
        if mode != "required":
            problems.append(f"'transit_encryption_mode' must be 'required' (value: {mode!r})")
        return self.verdict(problems, ["transit_encryption_enabled", "transit_encryption_mode"])


check = ElastiCacheTransitEncryption()

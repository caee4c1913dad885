from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import as_list, attr


class ElastiCacheAuthentication(SahabResourceCheck):
    """Redis clients authenticate with an AUTH token or RBAC user group."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure ElastiCache Redis requires authentication (AUTH token or user groups)",
            id="CKV_SAHAB_26",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_elasticache_replication_group"],
            rationale="ISO 27001 A.8.5 (secure authentication), AWS FSBP ElastiCache.6: only the feature server reads features.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        token = attr(conf, "auth_token")
        groups = [g for g in as_list(attr(conf, "user_group_ids")) if g]
        ok = bool(token) or bool(groups)
        return self.verdict([None if ok else "set 'auth_token' (from a secret) or 'user_group_ids'"], ["auth_token", "user_group_ids"])


check = ElastiCacheAuthentication()

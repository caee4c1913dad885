from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr


class OnlineStoreKeepsSnapshots(SahabResourceCheck):
    """Redis (the Feast online store) keeps automatic daily snapshots.

    AWS Backup does not cover ElastiCache, so the store's own snapshots are its backups: they are encrypted with
    the store's at-rest key (our CMK, ``CKV_SAHAB_14``) and stay in its region. A retention of 0 turns them off.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure the online store (ElastiCache Redis) keeps automatic snapshots",
            id="CKV_SAHAB_45",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_elasticache_replication_group", "aws_elasticache_serverless_cache"],
            rationale="ISO 27001 A.8.13 (information backup): the online store can be restored from a snapshot "
            "kept in the UAE under our key.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        days = attr(conf, "snapshot_retention_limit", 0)
        try:
            kept = int(days)
        except (TypeError, ValueError):
            kept = 0
        problem = None if kept >= 1 else (
            f"'snapshot_retention_limit' must be at least 1 day (value: {days!r}): without it Redis keeps no "
            "snapshot and the online store has no backup"
        )
        return self.verdict([problem], ["snapshot_retention_limit"])


check = OnlineStoreKeepsSnapshots()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, own_resource_problem

#: Where each resource type sends logs or backup copies: (path to the attribute, resource it names).
DESTINATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "aws_backup_plan": (("rule/copy_action/destination_vault_arn", "backup_vault"),),
    "aws_flow_log": (("log_destination", ""),),
    "aws_cloudtrail": (("s3_bucket_name", "s3_bucket"), ("cloud_watch_logs_group_arn", "cloudwatch_log_group")),
    "aws_s3_bucket_logging": (("target_bucket", "s3_bucket"),),
    "aws_cloudwatch_log_subscription_filter": (("destination_arn", ""),),
    "aws_lb": (("access_logs/bucket", "s3_bucket"),),
    "aws_msk_cluster": (
        ("logging_info/broker_logs/cloudwatch_logs/log_group", "cloudwatch_log_group"),
        ("logging_info/broker_logs/s3/bucket", "s3_bucket"),
        ("logging_info/broker_logs/firehose/delivery_stream", "kinesis_firehose_delivery_stream"),
    ),
}


def _values_at(conf: dict, path: str) -> list:
    """Values of a slash path through nested blocks (each step may hold several blocks)."""
    *steps, leaf = path.split("/")
    level = [conf]
    for step in steps:
        level = [child for parent in level for child in blocks(parent, step)]
    return [attr(node, leaf) for node in level if leaf in node]


class LogAndBackupDestinationsResident(SahabResourceCheck):
    """Logs and backup copies go only to resources of our own stacks (or ARNs in allowed regions).

    Audit logs and backups are copies of the data: a literal bucket name or a foreign vault would
    move them out of the UAE where no other check can see it.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure log and backup destinations are UAE-resident resources of our stacks",
            id="CKV_SAHAB_6",
            categories=[CheckCategories.LOGGING],
            supported_resources=list(DESTINATIONS),
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): audit logs and backups stay restorable in the UAE.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        problems = []
        for path, hint in DESTINATIONS[self.entity_type]:
            problems += [own_resource_problem(value, path, hint) for value in _values_at(conf, path)]
        return self.verdict(problems, [path for path, _ in DESTINATIONS[self.entity_type]])


check = LogAndBackupDestinationsResident()

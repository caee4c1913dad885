from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, customer_managed_key_problem, own_resource_problem


class S3ReplicationStaysInUae(SahabResourceCheck):
    """S3 replication writes only to buckets of our own (resident) stacks, encrypted with our keys.

    A bucket ARN carries no region (``arn:aws:s3:::name``), so a literal destination cannot be
    proven resident: the destination must reference an ``aws_s3_bucket`` we declare.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure S3 replication targets only UAE buckets of our stacks, encrypted with our keys",
            id="CKV_SAHAB_5",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_s3_bucket_replication_configuration"],
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): replicas of personal data stay in the UAE.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        problems = []
        for index, rule in enumerate(blocks(conf, "rule")):
            for destination in blocks(rule, "destination"):
                where = f"rule[{index}].destination"
                problems.append(own_resource_problem(attr(destination, "bucket"), f"{where}.bucket", "s3_bucket"))
                for encryption in blocks(destination, "encryption_configuration"):
                    key = attr(encryption, "replica_kms_key_id")
                    problems.append(customer_managed_key_problem(key, f"{where}.encryption_configuration.replica_kms_key_id"))
        return self.verdict(problems, ["rule/[*]/destination/[*]/bucket", "rule/[*]/destination/[*]/encryption_configuration"])


check = S3ReplicationStaysInUae()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import MAX_TOPIC_RETENTION_DAYS, attr, server_properties, topic_retention_problem


class MskTopicRetentionBounded(SahabResourceCheck):
    """The brokers' default topic retention is set and bounded: the ceiling for every topic that sets none itself.

    The platform creates its topics with their own ``retention.ms`` (``privacy.stream_days``, ``dlq_days``); a topic
    made any other way falls back to the broker's ``log.retention.ms``, which must not be Kafka's default (a week,
    silently) nor ``-1`` (forever). Properties that are not a literal string cannot be read before apply: they fail.
    """

    def __init__(self) -> None:
        super().__init__(
            name=f"Ensure every MSK configuration sets log.retention.ms to at most {MAX_TOPIC_RETENTION_DAYS} days",
            id="CKV_SAHAB_48",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_msk_configuration"],
            rationale="UAE PDPL Art. 5 (storage limitation): raw events on a topic are deleted when their retention "
            "ends, whoever created the topic.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        properties = server_properties(attr(conf, "server_properties"))
        if properties is None:
            return self.verdict(["'server_properties' is not a literal string, so the retention cannot be proven "
                                 "before apply"], ["server_properties"])
        return self.verdict([topic_retention_problem(properties)], ["server_properties"])


check = MskTopicRetentionBounded()

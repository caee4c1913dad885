"""The ``privacy`` section of an environment file: how long each store keeps personal data (UAE PDPL).

Customer ids never reach a store: they are replaced by keyed pseudonyms at the two edges (an incoming
event, an incoming scoring request; ``features.pseudonyms``). What remains personal is the pseudonymous
behaviour kept under each pseudonym, so each store holding it has a retention here, and the platform
enforces it: S3 lifecycle rules and topic ``retention.ms`` in the cloud stacks, an event-time TTL on the
ingestor's state, and ``sahab data prune`` on this machine. ``docs/privacy.md`` maps every store.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from environments.cloud_sections import role_names
from environments.names import PSEUDONYM_KEY, kms_alias, name_prefix
from environments.settings_model import SettingsModel

#: Days a customer's stream history must cover: the longest feature window plus a day of late events
#: (``features.ingest.rolling.RETENTION``); the ingestor's state may not expire sooner.
STREAM_HISTORY_DAYS = 15


class PrivacyConfig(SettingsModel):
    """Retention per data class, in days, and the key that makes customer pseudonyms."""

    prediction_log_days: int = Field(
        default=90, ge=1,
        description="Prediction log (jsonl files locally, the prediction topic and predictions/ in the data bucket in "
        "the cloud): records older than this are deleted. Default: 90.",
    )
    offline_days: int = Field(
        default=1825, ge=1,
        description="Offline feature tables and training data (rows by event time): the record-keeping horizon of a "
        "card issuer. Default: 1825 (5 years).",
    )
    ingestor_state_days: int = Field(
        default=30, ge=STREAM_HISTORY_DAYS,
        description=f"A customer's history in the stream ingestor's state expires this long after their latest event "
        f"(event time). At least {STREAM_HISTORY_DAYS}, the windows' span. Default: 30.",
    )
    stream_days: int = Field(
        default=7, ge=1, le=30,
        description="The transactions topic (raw events as the producers send them), and the brokers' default for "
        "any topic (MSK's log.retention.ms; the gate allows at most 30 days, CKV_SAHAB_48). Default: 7.",
    )
    dlq_days: int = Field(
        default=7, ge=1,
        description="The dead-letter topic: refused events are kept raw (they may not even carry a valid id), so "
        "briefly. Default: 7.",
    )
    pseudonym_key: str | None = Field(
        default=None,
        description="KMS HMAC_256 key (alias, id or ARN) that makes customer pseudonyms in cloud environments. "
        "Default: alias/sahab-<env>-customer-pseudonym (the security stack's). Locally: <data>/keys/pseudonym.key, "
        "created on first use.",
    )

    erasure_roles: list[str] = Field(
        default_factory=list,
        description="IAM role names in 'account_id' that run `sahab data erase` (a data-protection officer's role): "
        "the pseudonym key's policy lets them compute pseudonyms (kms:GenerateMac); their own IAM policy must allow "
        "it too. Default: none (only the scoring and ingestor workloads).",
    )

    @field_validator("erasure_roles")
    @classmethod
    def _role_names(cls, value: list[str]) -> list[str]:
        return role_names(value)

    @model_validator(mode="after")
    def _dlq_not_longer_than_stream(self) -> PrivacyConfig:
        if self.dlq_days > self.stream_days:
            raise ValueError(
                f"'dlq_days' ({self.dlq_days}) may not exceed 'stream_days' ({self.stream_days}): dead letters are raw "
                "events and must not outlive the topic they came from"
            )
        return self

    def pseudonym_key_id(self, env_name: str) -> str:
        """The configured key, else the security stack's ``alias/sahab-<env>-customer-pseudonym``."""
        return self.pseudonym_key or kms_alias(name_prefix(env_name), PSEUDONYM_KEY)

    @staticmethod
    def days_ms(days: int) -> int:
        """``days`` in milliseconds, as Kafka's ``retention.ms`` takes it."""
        return days * 24 * 3600 * 1000

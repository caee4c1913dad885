"""``<env>-security``: the environment's CMKs and its audit trail. Deployed first: every other layer encrypts with these keys."""

from __future__ import annotations

from environments import Environment, names
from modules.audit_trail import AuditTrail, AuditTrailProps
from modules.cdk import Construct
from modules.context import account_id
from modules.keys import DATA_CLASS_SERVICES, Keys, KeysProps
from stacks.base import LayerStack

AUDIT_BUCKET = "audit"
#: The data class whose key encrypts the audit trail (bucket and log group); ``sahab down`` never destroys it.
AUDIT_KEY = "logs"
#: The workloads at the two edges where raw customer ids arrive (a scoring request, a stream event): the only ones
#: that may compute pseudonyms. Training, Feast and drift read pseudonymised data and never hold the key.
PSEUDONYMISING_WORKLOADS: tuple[str, ...] = ("scoring", "ingestor")


class SecurityStack(LayerStack):
    layer = "security"

    def __init__(self, scope: Construct, env: Environment) -> None:
        super().__init__(scope, env)
        self.keys = Keys(self, "Keys", props=KeysProps(
            name_prefix=self.name_prefix, region=env.region,
            administrator_roles=tuple(env.security.key_administrator_roles),
            # the workloads layer creates these IRSA roles; the key policy names them ahead, by ARN condition
            signer_roles=(names.workload_role_name(env.name, "training"),),
            verifier_roles=tuple(names.workload_role_name(env.name, account) for account in ("scoring", "drift")),
            pseudonym_key_id=env.privacy.pseudonym_key_id(env.name),
            pseudonym_roles=(*(names.workload_role_name(env.name, account) for account in PSEUDONYMISING_WORKLOADS),
                             *env.privacy.erasure_roles),
        ))
        audit = env.buckets.get(AUDIT_BUCKET)
        self.audit_trail = AuditTrail(
            self,
            "AuditTrail",
            props=AuditTrailProps(
                trail_name=env.resource_name(AUDIT_BUCKET),
                bucket_name=names.account_scoped(env.resource_name(AUDIT_BUCKET), account_id(self)),
                region=env.region,
                key=self.keys.key(AUDIT_KEY),
                object_lock_retention_days=(audit.object_lock_retention_days if audit else None) or 365,
                log_retention_days=env.log_retention_days,
            ),
        )
        for data_class in DATA_CLASS_SERVICES:
            self.output(
                f"key_{data_class.replace('-', '_')}_arn", self.keys.key(data_class).arn, f"ARN of the {data_class} CMK"
            )
        self.output("signing_key_arn", self.keys.signing.arn, "ARN of the asymmetric key that signs model manifests")
        self.output("pseudonym_key_arn", self.keys.pseudonym_arn, "ARN of the HMAC key that makes customer pseudonyms")
        self.output("audit_bucket", self.audit_trail.bucket.name, "Object-locked bucket of the CloudTrail audit trail")

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks


class MskClientAuthentication(SahabResourceCheck):
    """Every Kafka client authenticates (IAM, SASL/SCRAM or mutual TLS); unauthenticated access is off."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure MSK requires client authentication and disallows unauthenticated access",
            id="CKV_SAHAB_25",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_msk_cluster"],
            rationale="ISO 27001 A.8.5 (secure authentication): only known producers write card transactions.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        auth = (blocks(conf, "client_authentication") or [{}])[0]
        sasl = (blocks(auth, "sasl") or [{}])[0]
        methods = [m for m in ("iam", "scram") if attr(sasl, m) in (True, "true")]
        if blocks(auth, "tls"):
            methods.append("tls")
        problems = []
        if not methods:
            problems.append("no client authentication: set client_authentication.sasl.iam (or scram, or tls)")
        if attr(auth, "unauthenticated") in (True, "true"):
            problems.append("'client_authentication.unauthenticated' must be false")
        return self.verdict(problems, ["client_authentication"])


check = MskClientAuthentication()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks


class MskClientTrafficTlsOnly(SahabResourceCheck):
    """Clients reach brokers over TLS only, and brokers talk to each other over TLS.

    The provider's defaults (``client_broker = "TLS"``, ``in_cluster = true``) are accepted when
    the attributes are absent; ``PLAINTEXT`` and ``TLS_PLAINTEXT`` fail.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure MSK accepts client connections over TLS only and encrypts broker-to-broker traffic",
            id="CKV_SAHAB_20",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_msk_cluster"],
            rationale="ISO 27001 A.8.24, AWS FSBP MSK.1: card transactions are encrypted in transit.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        info = (blocks(conf, "encryption_info") or [{}])[0]
        transit = (blocks(info, "encryption_in_transit") or [{}])[0]
        client_broker = attr(transit, "client_broker", "TLS")
        in_cluster = attr(transit, "in_cluster", True)
        problems = []
        if client_broker != "TLS":
            problems.append(f"'encryption_in_transit.client_broker' must be 'TLS' (value: {client_broker!r})")
        if in_cluster not in (True, "true"):
            problems.append(f"'encryption_in_transit.in_cluster' must be true (value: {in_cluster!r})")
        return self.verdict(problems, ["encryption_info/[0]/encryption_in_transit/[0]/client_broker",
                                       "encryption_info/[0]/encryption_in_transit/[0]/in_cluster"])


check = MskClientTrafficTlsOnly()

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import as_list, attr, blocks, customer_managed_key_problem


class EksSecretsUseCmk(SahabResourceCheck):
    """Kubernetes Secrets are envelope-encrypted in etcd with one of our keys."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure EKS encrypts Kubernetes secrets with our customer-managed key",
            id="CKV_SAHAB_12",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["aws_eks_cluster"],
            rationale="CIS EKS 5.3.1, AWS FSBP EKS.3, ISO 27001 A.8.24: Secrets encrypted with a CMK we control.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        configs = blocks(conf, "encryption_config")
        secrets = [c for c in configs if "secrets" in as_list(attr(c, "resources"))]
        if not secrets:
            return self.verdict(["no 'encryption_config' covers resources ['secrets']"], ["encryption_config/[*]/resources"])
        problems = []
        for config in secrets:
            providers = blocks(config, "provider")
            key = attr(providers[0], "key_arn") if providers else None
            problems.append(customer_managed_key_problem(key, "encryption_config.provider.key_arn"))
        return self.verdict(problems, ["encryption_config/[*]/resources", "encryption_config/[*]/provider/[*]/key_arn"])


check = EksSecretsUseCmk()

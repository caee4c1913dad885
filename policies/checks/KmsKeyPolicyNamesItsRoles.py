from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, key_policy_role_problems, policy_statements


class KmsKeyPolicyNamesItsRoles(SahabResourceCheck):
    """A key policy gives administration, decryption, signing and grants to named roles or services, never to
    every principal of the account (which is what the account root without a condition means), and never
    ``kms:Create*`` (it includes ``kms:CreateGrant``).

    A key without a policy gets AWS's default, ``kms:*`` for the account root: it fails. A policy that is not
    literal JSON cannot be read before apply: it fails too.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure KMS key policies give administration, decryption, signing and grants to named roles or "
            "services, not to the whole account",
            id="CKV_SAHAB_41",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_kms_key", "aws_kms_key_policy"],
            rationale="ISO 27001 A.8.24 (key management), A.8.2 (privileged access): an IAM mistake elsewhere in the "
            "account cannot decrypt customer data, sign a model or rewrite a key policy.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        document = attr(conf, "policy")
        if document is None:
            return self.verdict(["no 'policy': AWS's default gives kms:* to the whole account"], ["policy"])
        statements = policy_statements(document)
        if statements is None:
            return self.verdict(["'policy' is not literal JSON, so it cannot be proven before apply"], ["policy"])
        return self.verdict(key_policy_role_problems(statements), ["policy"])


check = KmsKeyPolicyNamesItsRoles()

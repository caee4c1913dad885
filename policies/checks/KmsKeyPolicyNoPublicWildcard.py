from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, names_everyone, policy_statements, string_items


def _grants_all_to_everyone(statement: dict) -> bool:
    if statement.get("Effect") != "Allow" or not names_everyone(statement.get("Principal")):
        return False
    return bool({"kms:*", "*"} & set(string_items(statement.get("Action"))))


class KmsKeyPolicyNoPublicWildcard(SahabResourceCheck):
    """No key policy allows ``kms:*`` to the ``*`` principal.

    A key without a ``policy`` gets AWS's default (the account root), which is fine. A policy that
    is not literal JSON cannot be read before apply, so it fails rather than pass unproven.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure no KMS key policy allows kms:* to every principal",
            id="CKV_SAHAB_28",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_kms_key", "aws_kms_key_policy"],
            rationale="ISO 27001 A.8.24 (key management), A.5.15 (access control): only named principals use our keys.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        document = attr(conf, "policy")
        if document is None and self.entity_type == "aws_kms_key":
            return self.verdict([], ["policy"])
        statements = policy_statements(document)
        if statements is None:
            return self.verdict(["'policy' is not literal JSON, so it cannot be proven before apply"], ["policy"])
        bad = [s.get("Sid", f"#{i}") for i, s in enumerate(statements) if _grants_all_to_everyone(s)]
        problems = [f"statement {sid!r} allows kms:* to '*': name the account or a role instead" for sid in bad]
        return self.verdict(problems, ["policy"])


check = KmsKeyPolicyNoPublicWildcard()

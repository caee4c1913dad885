import re

from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, policy_statements, unscoped_data_plane_problems

POLICY_DOCUMENT_REFERENCE = re.compile(r"^\$\{data\.aws_iam_policy_document\.[\w-]+\.json\}$")


class RolePoliciesScopeDataPlaneActions(SahabResourceCheck):
    """Inline and managed IAM policies written as JSON grant data-plane actions on named resources only.

    S3 object reads and writes, ``kms:Decrypt``/``Encrypt``/``Sign``, ``secretsmanager:GetSecretValue``,
    ``iam:PassRole`` and their wildcards on ``Resource "*"`` fail. A policy that is an
    ``aws_iam_policy_document``'s ``json`` passes here: CKV_SAHAB_40 reads that document's statements in the
    same scan. Any other reference cannot be read before apply and fails.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure IAM policies grant data-plane actions (object reads/writes, decrypt, sign, secrets, "
            "PassRole) on named resources, never on Resource \"*\"",
            id="CKV_SAHAB_39",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role_policy", "aws_iam_policy", "aws_iam_user_policy", "aws_iam_group_policy"],
            rationale="ISO 27001 A.8.2-A.8.3 (privileged access, access restriction), AWS FSBP IAM.1: a "
            "compromised role reaches only the data it was meant for.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        policy = attr(conf, "policy")
        if isinstance(policy, str) and POLICY_DOCUMENT_REFERENCE.match(policy):
            return self.verdict([], ["policy"])  # its statements are CKV_SAHAB_40's, in the same scan
        statements = policy_statements(policy)
        if statements is None:
            return self.verdict(["'policy' is neither literal JSON nor an aws_iam_policy_document, so its statements "
                                 "cannot be read before apply"], ["policy"])
        return self.verdict(unscoped_data_plane_problems(statements, "'policy'"), ["policy"])


check = RolePoliciesScopeDataPlaneActions()

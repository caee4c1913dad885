from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabDataCheck
from sahab_policy import document_statements, unscoped_data_plane_problems


class PolicyDocumentsScopeDataPlaneActions(SahabDataCheck):
    """IAM policy documents grant data-plane actions on named resources only (the statement-level twin of
    CKV_SAHAB_39, for policies Sahab renders as ``aws_iam_policy_document``)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure IAM policy documents grant data-plane actions on named resources, never on Resource \"*\"",
            id="CKV_SAHAB_40",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
            rationale="ISO 27001 A.8.2-A.8.3 (privileged access, access restriction), AWS FSBP IAM.1: a "
            "compromised role reaches only the data it was meant for.",
        )

    def scan_data_conf(self, conf: dict[str, list]) -> CheckResult:
        problems = unscoped_data_plane_problems(document_statements(conf), "'statement'")
        return self.verdict(problems, ["statement/[*]/effect", "statement/[*]/actions", "statement/[*]/resources"])


check = PolicyDocumentsScopeDataPlaneActions()

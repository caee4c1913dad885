from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import as_list, attr, names_everyone, policy_statements, string_items


def _denies_plain_http(statement: dict) -> bool:
    """A ``Deny`` of every S3 action to everyone when ``aws:SecureTransport`` is false."""
    if statement.get("Effect") != "Deny" or not names_everyone(statement.get("Principal")):
        return False
    if not {"s3:*", "*"} & set(string_items(statement.get("Action"))):
        return False
    secure = (statement.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")
    return any(str(value).lower() == "false" for value in as_list(secure))


class S3BucketPolicyDeniesInsecureTransport(SahabResourceCheck):
    """A bucket policy denies every request not made over TLS.

    The policy must be literal JSON (as our constructs render it): a policy held in a reference
    cannot be read before apply, so it fails rather than pass unproven.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure S3 bucket policies deny requests that do not use TLS",
            id="CKV_SAHAB_22",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_s3_bucket_policy"],
            rationale="ISO 27001 A.8.24, AWS FSBP S3.5: data in transit to S3 is always encrypted.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        statements = policy_statements(attr(conf, "policy"))
        if statements is None:
            problem = "'policy' is not literal JSON, so its TLS-only statement cannot be proven before apply"
        elif not any(_denies_plain_http(s) for s in statements):
            problem = ("'policy' has no statement denying s3:* to everyone when aws:SecureTransport is false: "
                       "add {Effect: Deny, Principal: *, Action: s3:*, Condition: {Bool: {aws:SecureTransport: false}}}")
        else:
            problem = None
        return self.verdict([problem], ["policy"])


check = S3BucketPolicyDeniesInsecureTransport()

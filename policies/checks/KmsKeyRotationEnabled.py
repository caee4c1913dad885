from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr


class KmsKeyRotationEnabled(SahabResourceCheck):
    """Symmetric encryption keys rotate automatically.

    Asymmetric and HMAC keys (the model-signing key) cannot rotate: the check does not apply.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure automatic rotation is enabled on our symmetric KMS keys",
            id="CKV_SAHAB_27",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_kms_key"],
            rationale="ISO 27001 A.8.24 (key management), AWS FSBP KMS.4: key material is rotated.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        spec = attr(conf, "customer_master_key_spec", "SYMMETRIC_DEFAULT")
        usage = attr(conf, "key_usage", "ENCRYPT_DECRYPT")
        if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
            self.evaluated_keys = ["customer_master_key_spec", "key_usage"]
            return CheckResult.UNKNOWN
        rotation = attr(conf, "enable_key_rotation")
        ok = rotation in (True, "true")
        return self.verdict([None if ok else f"'enable_key_rotation' must be true (value: {rotation!r})"], ["enable_key_rotation"])


check = KmsKeyRotationEnabled()

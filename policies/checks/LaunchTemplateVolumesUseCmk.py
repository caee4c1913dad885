from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabResourceCheck
from sahab_policy import attr, blocks, customer_managed_key_problem


class LaunchTemplateVolumesUseCmk(SahabResourceCheck):
    """Every EBS volume a launch template (EKS nodes) creates is encrypted with one of our keys.

    A template without block device mappings leaves the root volume to the AMI and the account
    default, which may be unencrypted or use ``aws/ebs``: it fails.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure launch template EBS volumes are encrypted with our customer-managed key",
            id="CKV_SAHAB_10",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_launch_template"],
            rationale="ISO 27001 A.8.24 (use of cryptography), AWS FSBP EC2.3: node volumes at rest under keys we control.",
        )

    def scan_resource_conf(self, conf: dict[str, list]) -> CheckResult:
        mappings = blocks(conf, "block_device_mappings")
        problems = [] if mappings else [
            "no 'block_device_mappings': the root volume falls back to the AMI's and account's default encryption"
        ]
        for index, mapping in enumerate(mappings):
            for ebs in blocks(mapping, "ebs"):
                where = f"block_device_mappings[{index}].ebs"
                if attr(ebs, "encrypted") not in (True, "true"):
                    problems.append(f"'{where}.encrypted' must be true (value: {attr(ebs, 'encrypted')!r})")
                problems.append(customer_managed_key_problem(attr(ebs, "kms_key_id"), f"{where}.kms_key_id"))
        return self.verdict(problems, ["block_device_mappings/[*]/ebs/[*]/encrypted", "block_device_mappings/[*]/ebs/[*]/kms_key_id"])


check = LaunchTemplateVolumesUseCmk()

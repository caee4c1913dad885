from checkov.common.models.enums import CheckCategories, CheckResult

from sahab_base import SahabDataCheck
from sahab_policy import attr, blocks, region_problem


class RemoteStateResident(SahabDataCheck):
    """Cross-stack references read Terraform state from a resident S3 backend.

    State holds every attribute of every resource (secrets included): the bucket it is read from
    must be in the UAE too. cdktf writes one ``terraform_remote_state`` per cross-stack reference.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure remote Terraform state is read from an S3 backend in the UAE residency allow-list",
            id="CKV_SAHAB_7",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_data=["terraform_remote_state"],
            rationale="UAE PDPL Arts. 22-23 (cross-border transfer): Terraform state, which holds data, stays in the UAE.",
        )

    def scan_data_conf(self, conf: dict[str, list]) -> CheckResult:
        backend = attr(conf, "backend")
        if backend != "s3":
            self.evaluated_keys = ["backend"]
            self.details.append(f"'backend' is {backend!r}: only the s3 backend in a UAE region can be proven resident")
            return CheckResult.FAILED
        config = (blocks(conf, "config") or [{}])[0]
        return self.verdict([region_problem(attr(config, "region"), "config.region")], ["backend", "config/region"])


check = RemoteStateResident()

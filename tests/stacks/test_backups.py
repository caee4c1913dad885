"""In-country backups on the shipped environments: what the data layer and prod's recovery stack synthesise, and
the gate refusing the two ways a reviewer fears (a bucket left out of the plan, a copy sent abroad)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from environments import load_environment
from environments.errors import ConfigError

BACKUP_KEY_OUTPUT = "cross-stack-output-aws_kms_keyKeys_Backup"


def stack_document(result, name: str) -> dict[str, Any]:
    (stack,) = [s for s in result.stacks if s.name == name]
    return json.loads(stack.path.read_text())


def one(document: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = document["resource"][resource_type]
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def test_every_data_bucket_of_every_cloud_environment_is_in_its_backup_selection(synthesized_all) -> None:
    for stack in [s for s in synthesized_all.stacks if s.layer == "data"]:
        document = json.loads(stack.path.read_text())
        buckets = {f"${{aws_s3_bucket.{address}.arn}}" for address in document["resource"]["aws_s3_bucket"]}
        assert buckets and set(one(document, "aws_backup_selection")["resources"]) == buckets, stack.name


def test_prod_backs_up_daily_into_a_compliance_locked_vault_under_the_backup_key(synthesized_all) -> None:
    env = load_environment("prod")
    document = stack_document(synthesized_all, "prod-data")
    vault = one(document, "aws_backup_vault")
    assert vault["name"] == "sahab-prod-backup" and BACKUP_KEY_OUTPUT in vault["kms_key_arn"]
    lock = one(document, "aws_backup_vault_lock_configuration")
    assert lock["changeable_for_days"] == 3 and lock["min_retention_days"] == env.backup.retention_days == 35
    (rule,) = one(document, "aws_backup_plan")["rule"]
    assert rule["schedule"] == "cron(0 22 * * ? *)" and rule["lifecycle"] == {"delete_after": 35}
    assert rule["target_vault_name"] == "${aws_backup_vault.%s.name}" % next(iter(document["resource"]["aws_backup_vault"]))


def test_prod_copies_every_recovery_point_to_its_backup_account_in_the_same_region(synthesized_all) -> None:
    (rule,) = one(stack_document(synthesized_all, "prod-data"), "aws_backup_plan")["rule"]
    assert rule["copy_action"] == [{
        "destination_vault_arn": "arn:aws:backup:me-central-1:444455556666:backup-vault:sahab-prod-backup-copy",
        "lifecycle": {"delete_after": 35},
    }]


def test_an_environment_without_a_backup_account_keeps_its_recovery_points_in_its_own_vault(synthesized_all) -> None:
    (rule,) = one(stack_document(synthesized_all, "smb-data"), "aws_backup_plan")["rule"]
    assert "copy_action" not in rule
    assert not [s for s in synthesized_all.stacks if s.name == "smb-recovery"]


def test_the_recovery_stack_builds_the_copy_vault_inside_the_backup_account(synthesized_all) -> None:
    document = stack_document(synthesized_all, "prod-recovery")
    (provider,) = document["provider"]["aws"]
    assert provider["region"] == "me-central-1"
    assert provider["assume_role"] == [{"role_arn": "arn:aws:iam::444455556666:role/sahab-deploy",
                                        "session_name": "sahab-prod"}]
    vault = one(document, "aws_backup_vault")
    assert vault["name"] == "sahab-prod-backup-copy" and vault["kms_key_arn"].startswith("${aws_kms_key.Keys_Backup_")
    key = one(document, "aws_kms_key")  # the backup key only: no signing key, no other data class
    assert key["enable_key_rotation"] is True
    (statement,) = json.loads(one(document, "aws_backup_vault_policy")["policy"])["Statement"]
    assert statement["Action"] == ["backup:CopyIntoBackupVault"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert one(document, "aws_backup_vault_lock_configuration")["changeable_for_days"] == 3
    assert "terraform_remote_state" not in document.get("data", {})  # depends on no layer of the environment


def test_a_copy_into_the_same_account_is_refused_naming_the_field() -> None:
    from environments.schema import Environment

    data = load_environment("prod").model_dump(mode="json")
    data["backup"]["copy_account_id"] = data["account_id"]
    with pytest.raises(ValueError, match=r"'backup.copy_account_id' must be another account than 'account_id'"):
        Environment.model_validate(data)


def test_a_plan_keeping_less_than_its_vault_lock_is_refused(sut) -> None:
    from modules.backup import BackupPlan, BackupPlanProps, BackupVault, BackupVaultProps

    vault = BackupVault(sut.stack, "Vault", props=BackupVaultProps(vault_name="v", key=sut.keys.backup,
                                                                   min_retention_days=35))
    with pytest.raises(ConfigError, match=r"'retention_days' \(7\) must be >= the vault lock's minimum \(35\)"):
        BackupPlan(sut.stack, "Plan", props=BackupPlanProps(plan_name="p", vault=vault, resource_arns=("arn",),
                                                            schedule="cron(0 1 * * ? *)", retention_days=7))
    with pytest.raises(ConfigError, match=r"'cooling_off_days' must be >= 3"):
        BackupVault(sut.stack, "Short", props=BackupVaultProps(vault_name="s", key=sut.keys.backup,
                                                               min_retention_days=7, cooling_off_days=1))


@pytest.fixture
def sut():
    """A bare stack with the environment's keys (the construct tests' shape)."""
    from modules.cdk import TerraformStack, Testing, provider
    from modules.keys import Keys, KeysProps

    class Bare:
        app = Testing.app()
        stack = TerraformStack(app, "test")
        provider.AwsProvider(stack, "aws", region="me-central-1")
        keys = Keys(stack, "Keys", props=KeysProps(name_prefix="sahab-test", region="me-central-1",
                                                   administrator_roles=("sahab-deploy",)))

    return Bare


def test_the_gate_fails_a_bucket_left_out_of_the_plan_and_a_copy_sent_abroad(synthesized_all, tmp_path: Path) -> None:
    from infra.gate.check import check_targets, synthesized_targets

    for stack in [s for s in synthesized_all.stacks if s.env == "prod"]:
        shutil.copytree(stack.path.parent, tmp_path / "stacks" / stack.name)
    path = tmp_path / "stacks" / "prod-data" / "cdk.tf.json"
    document = json.loads(path.read_text())
    selection = one(document, "aws_backup_selection")
    left_out = next(r for r in selection["resources"] if "ModelsBucket" in r)
    selection["resources"].remove(left_out)
    (rule,) = one(document, "aws_backup_plan")["rule"]
    rule["copy_action"][0]["destination_vault_arn"] = "arn:aws:backup:eu-west-1:444455556666:backup-vault:dr"
    path.write_text(json.dumps(document))

    report = check_targets(synthesized_targets(tmp_path, ["prod"]), reports_dir=tmp_path / "reports",
                           allowed_regions=["me-central-1"]).report
    failures = {(o.check_id, o.address) for o in report.failures}
    models_bucket = left_out.removeprefix("${").removesuffix(".arn}")
    assert ("CKV_SAHAB_44", models_bucket) in failures
    assert any(check == "CKV_SAHAB_6" and address.startswith("aws_backup_plan.") for check, address in failures)
    # CKV_SAHAB_3 (every ARN resident) sees the foreign vault too; nothing else fails
    assert {check for check, _ in failures} == {"CKV_SAHAB_44", "CKV_SAHAB_6", "CKV_SAHAB_3"}
    copy_failure = next(o for o in report.failures if o.check_id == "CKV_SAHAB_6")
    assert any("eu-west-1" in detail for detail in copy_failure.details)


def test_the_cost_estimate_prices_the_recovery_points_and_their_copies_in_the_backup_account(synthesized_all) -> None:
    from infra.cost.estimate import estimate, load_prices

    prices = load_prices()
    per_copy = prices.monthly_aed("backup_s3_gb", 2 * prices.assumed_monthly_gb["bucket"])  # data + models buckets
    for env, copies in (("prod", 1), ("smb", 0)):
        lines = estimate({f"{env}-data": stack_document(synthesized_all, f"{env}-data")}, prices)
        backups = {line.key.rsplit("#", 1)[1]: line.monthly_aed for line in lines if line.key.split(":", 1)[1].startswith(
            "aws_backup_selection.")}
        assert backups == ({"recovery-points": per_copy, "copies": per_copy} if copies else {"recovery-points": per_copy})

"""Personal data in the cloud stacks (issue 22, UAE PDPL): the HMAC key that makes customer pseudonyms, usable by the
two edge workloads only; lifecycle rules that delete the prediction log and the offline tables after the environment's
retention; the brokers' default topic retention; and the gate refusing each when the JSON loses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from iam_documents import policies_by_role

from environments import PrivacyConfig, load_environment, load_environments

CLOUD_ENVS = [e.name for e in load_environments() if e.is_cloud]
ACCOUNTS = ("scoring", "ingestor", "feast", "training", "drift")


def stack(result, name: str) -> dict[str, Any]:
    (found,) = [s for s in result.stacks if s.name == name]
    return json.loads(found.path.read_text())


def data_lifecycle(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The data bucket's lifecycle rules by id."""
    (configuration,) = [c for c in document["resource"]["aws_s3_bucket_lifecycle_configuration"].values()
                        if c["bucket"].startswith("${aws_s3_bucket.DataBucket_")]
    return {rule["id"]: rule for rule in configuration["rule"]}


def broker_properties(document: dict[str, Any]) -> list[str]:
    (configuration,) = document["resource"]["aws_msk_configuration"].values()
    return configuration["server_properties"].split("\n")


@pytest.mark.parametrize("env", CLOUD_ENVS)
def test_the_security_layer_makes_an_hmac_key_whose_policy_lets_only_scoring_ingestion_and_erasers_generate_macs(
    synthesized_all, env
) -> None:
    """The edges' workload roles, and the environment's ``privacy.erasure_roles`` (prod: its data-protection role)."""
    document = stack(synthesized_all, f"{env}-security")
    (key,) = [k for a, k in document["resource"]["aws_kms_key"].items() if a.startswith("Keys_Pseudonym_")]
    assert (key["customer_master_key_spec"], key["key_usage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert f"alias/sahab-{env}-customer-pseudonym" in {a["name"] for a in document["resource"]["aws_kms_alias"].values()}
    policy = json.loads(key["policy"])["Statement"]
    macs = [s for s in policy if any("Mac" in a for a in s["Action"])]
    role = "arn:aws:iam::${data.aws_caller_identity.CallerIdentity.account_id}:role/"
    assert macs == [{
        "Sid": "GenerateMacByNamedRoles", "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::${data.aws_caller_identity.CallerIdentity.account_id}:root"]},
        "Action": ["kms:GenerateMac"], "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": [
            f"{role}sahab-{env}-wl-scoring", f"{role}sahab-{env}-wl-ingestor",
            *(f"{role}{name}" for name in load_environment(env).privacy.erasure_roles)]}},
    }]
    assert env != "prod" or load_environment(env).privacy.erasure_roles == ["sahab-data-protection"]
    assert "pseudonym_key_arn" in document["output"]


def test_only_the_scoring_and_ingestor_roles_hold_generate_mac_and_only_on_the_pseudonym_key(synthesized_all) -> None:
    document = stack(synthesized_all, "smb-workloads")
    roles = {r["name"].rsplit("-wl-", 1)[1]: a for a, r in document["resource"]["aws_iam_role"].items() if "-wl-" in r["name"]}
    by_role = policies_by_role(document)
    holders = {}
    for account in ACCOUNTS:
        macs = [s for s in by_role[f"${{aws_iam_role.{roles[account]}.id}}"] if "kms:GenerateMac" in s["Action"]]
        if macs:
            holders[account] = macs
    assert sorted(holders) == ["ingestor", "scoring"]
    for (statement,) in holders.values():
        assert statement["Action"] == ["kms:GenerateMac"]
        (resource,) = statement["Resource"]
        assert "cross-stack-output-aws_kms_keyKeys_Pseudonym_" in resource


@pytest.mark.parametrize("env", CLOUD_ENVS)
def test_the_data_bucket_expires_predictions_and_offline_tables_after_the_environments_retention(synthesized_all, env) -> None:
    privacy = load_environment(env).privacy
    document = stack(synthesized_all, f"{env}-data")
    rules = data_lifecycle(document)
    assert rules["expire-personal-data-predictions"]["expiration"] == [{"days": privacy.prediction_log_days}]
    assert rules["expire-personal-data-offline"]["expiration"] == [{"days": privacy.offline_days}]
    assert {r["noncurrent_version_expiration"][0]["noncurrent_days"] for r in rules.values() if "expiration" in r} == {1}
    assert "expire-noncurrent-versions" in rules  # the bucket-wide rule stays
    (data_bucket,) = [b for a, b in document["resource"]["aws_s3_bucket"].items() if a.startswith("DataBucket_")]
    assert data_bucket["tags"]["personal-data"] == "predictions/ offline/"
    assert f"log.retention.ms={PrivacyConfig.days_ms(privacy.stream_days)}" in broker_properties(document)


def test_other_retention_days_in_the_environment_change_the_rules_and_the_brokers_retention(tmp_path: Path) -> None:
    from infra.synth import synth

    env = load_environment("smb")
    env = env.model_copy(update={"privacy": env.privacy.model_copy(
        update={"prediction_log_days": 30, "offline_days": 400, "stream_days": 3, "dlq_days": 2})})
    (data,) = [s for s in synth([env], tmp_path / "out").stacks if s.layer == "data"]
    document = json.loads(data.path.read_text())
    rules = data_lifecycle(document)
    assert rules["expire-personal-data-predictions"]["expiration"] == [{"days": 30}]
    assert rules["expire-personal-data-offline"]["expiration"] == [{"days": 400}]
    assert "log.retention.ms=259200000" in broker_properties(document)


def test_the_gates_personal_data_prefixes_are_the_data_layers() -> None:
    from policies.checks import sahab_policy
    from stacks.data import personal_data_expirations

    assert sahab_policy.PERSONAL_DATA_PREFIXES == tuple(e.prefix for e in personal_data_expirations(PrivacyConfig()))


def test_the_gate_fails_a_personal_bucket_without_lifecycle_a_rule_keeping_versions_and_an_unbounded_topic(
    synthesized_all, tmp_path: Path
) -> None:
    from infra.gate.check import check_targets
    from infra.gate.scan_copy import ScanTarget

    original = stack(synthesized_all, "prod-data")
    without_lifecycle = json.loads(json.dumps(original))
    configurations = without_lifecycle["resource"]["aws_s3_bucket_lifecycle_configuration"]
    data_config = next(a for a, c in configurations.items() if c["bucket"].startswith("${aws_s3_bucket.DataBucket_"))
    del configurations[data_config]
    (msk,) = without_lifecycle["resource"]["aws_msk_configuration"].values()
    msk["server_properties"] = msk["server_properties"].replace("log.retention.ms=604800000", "log.retention.ms=-1")
    versions_kept = json.loads(json.dumps(original))
    (rule,) = [r for c in versions_kept["resource"]["aws_s3_bucket_lifecycle_configuration"].values() for r in c["rule"]
               if r["id"] == "expire-personal-data-predictions"]
    del rule["noncurrent_version_expiration"]
    targets = []
    for name, document in (("prod-data-nolifecycle", without_lifecycle), ("prod-data-versions", versions_kept)):
        path = tmp_path / name / "cdk.tf.json"
        path.parent.mkdir()
        path.write_text(json.dumps(document))
        targets.append(ScanTarget(name=name, file=path))

    report = check_targets(targets, reports_dir=tmp_path / "reports").report
    failures = {(o.stack, o.check_id, o.address.rsplit("_", 1)[0]) for o in report.failures}
    assert failures == {
        ("prod-data-nolifecycle", "CKV_SAHAB_46", "aws_s3_bucket.DataBucket"),
        ("prod-data-nolifecycle", "CKV2_AWS_61", "aws_s3_bucket.DataBucket"),  # Checkov's own: no lifecycle at all
        ("prod-data-nolifecycle", "CKV_SAHAB_48", "aws_msk_configuration.Kafka_Configuration"),
        ("prod-data-versions", "CKV_SAHAB_47", "aws_s3_bucket_lifecycle_configuration.DataBucket_Lifecycle"),
    }
    (kept,) = [o for o in report.failures if o.check_id == "CKV_SAHAB_47"]
    assert any("expire-personal-data-predictions" in d and "noncurrent_version_expiration" in d for d in kept.details)

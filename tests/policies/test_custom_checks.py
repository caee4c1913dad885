"""Every CKV_SAHAB check, proven on its own fixtures: exact passing and failing addresses.

Each check has ``fixtures/<Check>/pass.tf.json`` (only compliant variants) and ``fail.tf.json``
(one resource per way to violate the rule), cdktf-shaped. All fixtures go through the gate's own
runner in one Checkov run (``fixture_report``), so these tests also exercise address resolution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.gate.model import GateReport

CHECKS_DIR = Path(__file__).resolve().parents[2] / "policies" / "checks"
SSE = "aws_s3_bucket_server_side_encryption_configuration"
REPL = "aws_s3_bucket_replication_configuration"
REDIS = "aws_elasticache_replication_group"
LIFECYCLE = "aws_s3_bucket_lifecycle_configuration"
MSK_CONFIG = "aws_msk_configuration"


@dataclass(frozen=True)
class Expect:
    fixture: str
    passing: frozenset[str]
    failing: frozenset[str]


def expect(fixture: str, passing: set[str], failing: set[str]) -> Expect:
    return Expect(fixture, frozenset(passing), frozenset(failing))


EXPECTED: dict[str, Expect] = {
    "CKV_SAHAB_1": expect("AwsProviderRegionResident", {"provider.aws", "provider.aws.uae_secondary"},
                          {"provider.aws", "provider.aws.frankfurt", "provider.aws.foreign_endpoint"}),
    "CKV_SAHAB_2": expect("ResourceRegionResident",
                          {"aws_s3_bucket.PassNoRegion", "aws_subnet.PassUaeZone", "aws_secretsmanager_secret.PassUaeReplica",
                           "aws_sqs_queue.PassProviderRegionReference"},
                          {"aws_s3_bucket.FailResourceRegion", "aws_secretsmanager_secret.FailForeignReplica",
                           "aws_subnet.FailForeignZone", "aws_dynamodb_table.FailForeignTableReplica",
                           "aws_sqs_queue.FailUnprovableRegion"}),
    "CKV_SAHAB_3": expect("ArnsResident", {"aws_iam_role_policy.PassUaeAndGlobalArns", "aws_sns_topic_subscription.PassUaeQueue"},
                          {"aws_iam_role_policy.FailForeignKeyInPolicy", "aws_sns_topic_subscription.FailForeignQueue"}),
    "CKV_SAHAB_4": expect("EndpointsResident", {"aws_vpc_endpoint.PassUaeService", "aws_iam_role.PassRegionalServicePrincipal"},
                          {"aws_vpc_endpoint.FailForeignService", "aws_sns_topic_subscription.FailForeignHttpsEndpoint",
                           f"{REPL}.FailLegacyS3Endpoint"}),
    "CKV_SAHAB_5": expect("S3ReplicationStaysInUae", {f"{REPL}.PassOwnBucketAndKey", f"{REPL}.PassCrossStackBucket"},
                          {f"{REPL}.FailLiteralBucketArn", f"{REPL}.FailAwsManagedReplicaKey"}),
    "CKV_SAHAB_6": expect("LogAndBackupDestinationsResident",
                          {"aws_flow_log.PassOwnBucket", "aws_cloudtrail.PassOwnDestinations", "aws_backup_plan.PassUaeVaultCopy"},
                          {"aws_flow_log.FailLiteralBucket", "aws_s3_bucket_logging.FailLiteralTargetBucket",
                           "aws_backup_plan.FailForeignVaultCopy", "aws_cloudwatch_log_subscription_filter.FailForeignDestination"}),
    "CKV_SAHAB_7": expect("RemoteStateResident", {"data.terraform_remote_state.PassUaeState"},
                          {"data.terraform_remote_state.FailForeignState", "data.terraform_remote_state.FailNoRegion",
                           "data.terraform_remote_state.FailLocalBackend"}),
    "CKV_SAHAB_8": expect("S3DefaultEncryptionUsesCmk",
                          {f"{SSE}.PassSameStackKey", f"{SSE}.PassCrossStackKey", f"{SSE}.PassUaeKeyArn", f"{SSE}.PassDualLayer"},
                          {f"{SSE}.FailSseS3", f"{SSE}.FailAwsManagedAlias", f"{SSE}.FailKmsWithoutKey",
                           f"{SSE}.FailForeignKeyArn", f"{SSE}.FailBareAlias", f"{SSE}.FailNoRule"}),
    "CKV_SAHAB_9": expect("S3BucketHasDefaultEncryption", {"aws_s3_bucket.PassEncrypted"}, {"aws_s3_bucket.FailUnencrypted"}),
    "CKV_SAHAB_10": expect("LaunchTemplateVolumesUseCmk", {"aws_launch_template.PassCmkVolume"},
                           {"aws_launch_template.FailNoMappings", "aws_launch_template.FailUnencrypted",
                            "aws_launch_template.FailAwsManagedKey", "aws_launch_template.FailDefaultKey"}),
    "CKV_SAHAB_11": expect("EbsVolumeUsesCmk", {"aws_ebs_volume.PassCmk"},
                           {"aws_ebs_volume.FailUnencrypted", "aws_ebs_volume.FailDefaultKey"}),
    "CKV_SAHAB_12": expect("EksSecretsUseCmk", {"aws_eks_cluster.PassCmk"},
                           {"aws_eks_cluster.FailNoEncryption", "aws_eks_cluster.FailForeignKey"}),
    "CKV_SAHAB_13": expect("MskAtRestUsesCmk", {"aws_msk_cluster.PassCmk"},
                           {"aws_msk_cluster.FailDefaultKey", "aws_msk_cluster.FailNoEncryptionInfo",
                            "aws_msk_serverless_cluster.FailServerlessAwsOwnedKey"}),
    "CKV_SAHAB_14": expect("ElastiCacheAtRestUsesCmk", {f"{REDIS}.PassCmk", "aws_elasticache_serverless_cache.PassServerlessCmk"},
                           {f"{REDIS}.FailAtRestDisabled", f"{REDIS}.FailDefaultKey",
                            "aws_elasticache_serverless_cache.FailServerlessDefaultKey"}),
    "CKV_SAHAB_15": expect("LogGroupUsesCmk", {"aws_cloudwatch_log_group.PassCmk", "aws_cloudwatch_log_group.PassCrossStackCmk"},
                           {"aws_cloudwatch_log_group.FailNoKey"}),
    "CKV_SAHAB_16": expect("SecretUsesCmk", {"aws_secretsmanager_secret.PassCmk"},
                           {"aws_secretsmanager_secret.FailDefaultKey", "aws_secretsmanager_secret.FailAwsManagedAlias"}),
    "CKV_SAHAB_17": expect("SnsTopicUsesCmk", {"aws_sns_topic.PassCmk"},
                           {"aws_sns_topic.FailAwsManagedAlias", "aws_sns_topic.FailUnencrypted"}),
    "CKV_SAHAB_18": expect("SqsQueueUsesCmk", {"aws_sqs_queue.PassCmk"},
                           {"aws_sqs_queue.FailSqsManagedSse", "aws_sqs_queue.FailAwsManagedAlias"}),
    "CKV_SAHAB_19": expect("EcrRepositoryUsesCmk", {"aws_ecr_repository.PassCmk"},
                           {"aws_ecr_repository.FailAes256Default", "aws_ecr_repository.FailKmsWithoutKey"}),
    "CKV_SAHAB_20": expect("MskClientTrafficTlsOnly", {"aws_msk_cluster.PassExplicitTls", "aws_msk_cluster.PassProviderDefaults"},
                           {"aws_msk_cluster.FailPlaintext", "aws_msk_cluster.FailTlsOrPlaintext", "aws_msk_cluster.FailInClusterOff"}),
    "CKV_SAHAB_21": expect("ElastiCacheTransitEncryption", {f"{REDIS}.PassRequired", f"{REDIS}.PassExplicitRequiredMode"},
                           {f"{REDIS}.FailDisabled", f"{REDIS}.FailPreferredMode", f"{REDIS}.FailNotSet"}),
    "CKV_SAHAB_22": expect("S3BucketPolicyDeniesInsecureTransport",
                           {"aws_s3_bucket_policy.PassDenyNonTls", "aws_s3_bucket_policy.PassStarPrincipalBoolean"},
                           {"aws_s3_bucket_policy.FailNoTlsStatement", "aws_s3_bucket_policy.FailAllowInsteadOfDeny",
                            "aws_s3_bucket_policy.FailPolicyReference"}),
    "CKV_SAHAB_23": expect("S3BucketHasPolicy", {"aws_s3_bucket.PassWithPolicy"}, {"aws_s3_bucket.FailNoPolicy"}),
    "CKV_SAHAB_24": expect("LoadBalancerListenerTlsOnly",
                           {"aws_lb_listener.PassHttpsTls13", "aws_lb_listener.PassHttpRedirect", "aws_alb_listener.PassNlbTls"},
                           {"aws_lb_listener.FailHttpForward", "aws_lb_listener.FailOldTlsPolicy", "aws_lb_listener.FailPlainTcp"}),
    "CKV_SAHAB_25": expect("MskClientAuthentication", {"aws_msk_cluster.PassIam", "aws_msk_cluster.PassMutualTls"},
                           {"aws_msk_cluster.FailNoClientAuth", "aws_msk_cluster.FailUnauthenticatedAllowed"}),
    "CKV_SAHAB_26": expect("ElastiCacheAuthentication", {f"{REDIS}.PassAuthToken", f"{REDIS}.PassUserGroups"},
                           {f"{REDIS}.FailNoAuth"}),
    # The asymmetric signing key in the pass fixture is out of scope (UNKNOWN): it must not appear.
    "CKV_SAHAB_27": expect("KmsKeyRotationEnabled", {"aws_kms_key.PassRotation"},
                           {"aws_kms_key.FailNoRotation", "aws_kms_key.FailRotationOff"}),
    "CKV_SAHAB_28": expect("KmsKeyPolicyNoPublicWildcard",
                           {"aws_kms_key.PassAccountRootAdmin", "aws_kms_key.PassDefaultPolicy", "aws_kms_key.PassDenyToEveryone",
                            "aws_kms_key_policy.PassSeparatePolicy"},
                           {"aws_kms_key.FailKmsStarToEveryone", "aws_kms_key.FailStarActionToAwsStar",
                            "aws_kms_key_policy.FailPolicyReference"}),
    "CKV_SAHAB_29": expect("EksEndpointPrivate", {"aws_eks_cluster.PassPrivateOnly", "aws_eks_cluster.PassPublicToAllowList"},
                           {"aws_eks_cluster.FailProviderDefaults", "aws_eks_cluster.FailOpenToInternet",
                            "aws_eks_cluster.FailNoPrivateAccess", "aws_eks_cluster.FailSplitInternet"}),
    "CKV_SAHAB_30": expect("EksControlPlaneLogsAll", {"aws_eks_cluster.PassAllLogs"},
                           {"aws_eks_cluster.FailAuditOnly", "aws_eks_cluster.FailNoLogs"}),
    "CKV_SAHAB_31": expect("InstanceMetadataV2Required",
                           {"aws_launch_template.PassTokensRequired", "aws_launch_template.PassMetadataDisabled",
                            "aws_instance.PassInstanceTokensRequired"},
                           {"aws_launch_template.FailNoMetadataOptions", "aws_launch_template.FailTokensOptional",
                            "aws_instance.FailInstanceTokensOptional"}),
    "CKV_SAHAB_32": expect("EksNodeGroupUsesLaunchTemplate", {"aws_eks_node_group.PassWithTemplate"},
                           {"aws_eks_node_group.FailNoTemplate"}),
    "CKV_SAHAB_33": expect("SecurityGroupIngressRestricted",
                           {"aws_security_group.PassInternalOnly", "aws_security_group.PassPublicLbHttps",
                            "aws_vpc_security_group_ingress_rule.PassTaggedLbRule",
                            "aws_vpc_security_group_ingress_rule.PassFromSecurityGroup", "aws_security_group_rule.PassEgressRule"},
                           {"aws_security_group.FailSshFromInternet", "aws_security_group.FailTaggedButHttp",
                            "aws_security_group_rule.FailLegacyRuleOpen443", "aws_vpc_security_group_ingress_rule.FailIpv6AllTraffic",
                            "aws_vpc_security_group_ingress_rule.FailUntagged443",
                            "aws_vpc_security_group_ingress_rule.FailSplitInternetSsh"}),
    "CKV_SAHAB_34": expect("AwsProviderDefaultTags", {"provider.aws"},
                           {"provider.aws", "provider.aws.missing_owner", "provider.aws.bad_classification"}),
    "CKV_SAHAB_35": expect("LaunchTemplateTagsLaunchedResources", {"aws_launch_template.PassTagsInstancesAndVolumes"},
                           {"aws_launch_template.FailNoTagSpecifications", "aws_launch_template.FailInstancesOnly",
                            "aws_launch_template.FailMissingOwner"}),
    "CKV_SAHAB_41": expect("KmsKeyPolicyNamesItsRoles",
                           {"aws_kms_key.PassNamedAdminsAndServiceUse", "aws_kms_key.PassNamedSigner",
                            "aws_kms_key.PassNamedMacRoles"},
                           {"aws_kms_key.FailAccountRootAdministers", "aws_kms_key.FailAccountRootSigns",
                            "aws_kms_key.FailDefaultPolicy", "aws_kms_key_policy.FailBareAccountDecrypts",
                            "aws_kms_key.FailAccountRootMacs"}),
    "CKV_SAHAB_42": expect("OrganizationsRegionGuard",
                           {"aws_organizations_policy.PassGuard", "aws_organizations_policy.PassTagPolicy"},
                           {"aws_organizations_policy.FailForeignRegionAllowed", "aws_organizations_policy.FailWideExemption",
                            "aws_organizations_policy.FailExcludesAPrincipal", "aws_organizations_policy.FailNoDeny",
                            "aws_organizations_policy.FailNotLiteral"}),
    "CKV_SAHAB_43": expect("BackupVaultLocked", {"aws_backup_vault.PassCompliance"},
                           {"aws_backup_vault.FailNoLock", "aws_backup_vault.FailGovernanceLock"}),
    # the fail fixture's selection backs up something else: a selection alone does not cover every bucket
    "CKV_SAHAB_44": expect("S3BucketsBackedUpOrLocked", {"aws_s3_bucket.PassInPlan", "aws_s3_bucket.PassObjectLocked"},
                           {"aws_s3_bucket.FailNotInPlan", "aws_s3_bucket.FailLockDisabled"}),
    "CKV_SAHAB_45": expect("OnlineStoreKeepsSnapshots",
                           {f"{REDIS}.PassDailySnapshots", "aws_elasticache_serverless_cache.PassServerlessSnapshots"},
                           {f"{REDIS}.FailNoSnapshots", f"{REDIS}.FailZeroRetention"}),
    # a lifecycle configuration of some other bucket protects neither fail bucket
    "CKV_SAHAB_46": expect("PersonalDataBucketsExpire",
                           {"aws_s3_bucket.PassTaggedWithLifecycle", "aws_s3_bucket.PassNotPersonal"},
                           {"aws_s3_bucket.FailTaggedWithoutLifecycle", "aws_s3_bucket.FailOtherBucketsLifecycle"}),
    # the pass fixture's noncurrent-only configuration holds no personal data: out of scope, it must not appear
    "CKV_SAHAB_47": expect("PersonalDataExpiryCoversVersions",
                           {f"{LIFECYCLE}.PassPersonalPrefixes", f"{LIFECYCLE}.PassWholeBucketRetention"},
                           {f"{LIFECYCLE}.FailExpiryKeepsVersions", f"{LIFECYCLE}.FailPersonalPrefixNeverExpires",
                            f"{LIFECYCLE}.FailRuleDisabled", f"{LIFECYCLE}.FailVersionsKeptTooLong"}),
    "CKV_SAHAB_48": expect("MskTopicRetentionBounded",
                           {f"{MSK_CONFIG}.PassRetentionMs", f"{MSK_CONFIG}.PassRetentionHours",
                            f"{MSK_CONFIG}.PassMsWinsOverHours"},
                           {f"{MSK_CONFIG}.FailNoRetention", f"{MSK_CONFIG}.FailForever",
                            f"{MSK_CONFIG}.FailNinetyDaysInHours", f"{MSK_CONFIG}.FailNotLiteral"}),
    "CKV_SAHAB_39": expect("RolePoliciesScopeDataPlaneActions",
                           {"aws_iam_role_policy.PassScopedObjects", "aws_iam_role_policy.PassDescribeOnStar",
                            "aws_iam_role_policy.PassDocumentReference"},
                           {"aws_iam_role_policy.FailObjectsOnStar", "aws_iam_role_policy.FailReadWildcardOnStar",
                            "aws_iam_role_policy.FailNotLiteral", "aws_iam_policy.FailDecryptAndPassRoleOnStar"}),
    "CKV_SAHAB_40": expect("PolicyDocumentsScopeDataPlaneActions",
                           {"data.aws_iam_policy_document.PassScopedKey", "data.aws_iam_policy_document.PassDescribeOnStar"},
                           {"data.aws_iam_policy_document.FailSecretsOnStar", "data.aws_iam_policy_document.FailEverythingOnStar",
                            "data.aws_iam_policy_document.FailMacOnStar"}),
    "CKV_SAHAB_36": expect("WorkloadImagesFromResidentEcr",
                           {"Deployment.sahab.pass-tagged", "CronJob.sahab.pass-digest", "Deployment.sahab.pass-init-container"},
                           {"Deployment.sahab.fail-docker-hub", "Deployment.sahab.fail-foreign-ecr", "StatefulSet.sahab.fail-latest",
                            "Pod.sahab.fail-untagged", "Deployment.sahab.fail-init-container"}),
    "CKV_SAHAB_37": expect("WorkloadPodsRunRestricted",
                           {"Deployment.sahab.pass-container-context", "Deployment.sahab.pass-pod-level-non-root"},
                           {"Deployment.sahab.fail-may-run-as-root", "Deployment.sahab.fail-escalation",
                            "Deployment.sahab.fail-writable-root", "Deployment.sahab.fail-capabilities-kept",
                            "Deployment.sahab.fail-privileged", "CronJob.sahab.fail-no-limits",
                            "StatefulSet.sahab.fail-host-network", "Deployment.sahab.fail-host-path"}),
    "CKV_SAHAB_38": expect("GpuRequestsOnGpuNodes",
                           {"Deployment.sahab.pass-gpu-on-gpu-nodes", "Deployment.sahab.pass-cpu-only"},
                           {"Deployment.sahab.fail-gpu-on-cpu-pool", "CronJob.sahab.fail-cpu-pod-tolerating-gpu-taint"}),
}


def results(report: GateReport, check_id: str, kind: str, result: str) -> set[str]:
    stack = report.stack(f"{EXPECTED[check_id].fixture}-{kind}")
    return {o.address for o in stack.outcomes if o.check_id == check_id and o.result == result}


def test_at_least_twenty_custom_checks_exist_and_each_has_expectations(fixture_report: GateReport) -> None:
    loaded = {c.check_id for c in fixture_report.custom_checks}
    assert len(loaded) >= 20
    assert loaded == set(EXPECTED)


def test_each_check_lives_in_a_fixture_folder_named_after_its_file(fixture_report: GateReport) -> None:
    assert {c.check_id: c.source for c in fixture_report.custom_checks} == {k: e.fixture for k, e in EXPECTED.items()}


@pytest.mark.parametrize("check_id", sorted(EXPECTED, key=lambda i: int(i.rsplit("_", 1)[1])))
def test_check_passes_exactly_the_compliant_fixture_resources(fixture_report: GateReport, check_id: str) -> None:
    assert results(fixture_report, check_id, "pass", "PASSED") == EXPECTED[check_id].passing
    assert results(fixture_report, check_id, "pass", "FAILED") == set()


@pytest.mark.parametrize("check_id", sorted(EXPECTED, key=lambda i: int(i.rsplit("_", 1)[1])))
def test_check_fails_exactly_the_violating_fixture_resources(fixture_report: GateReport, check_id: str) -> None:
    assert EXPECTED[check_id].failing, "every check needs a failing fixture"
    assert results(fixture_report, check_id, "fail", "FAILED") == EXPECTED[check_id].failing
    assert results(fixture_report, check_id, "fail", "PASSED") == set()


def test_every_python_check_failure_says_what_to_change(fixture_report: GateReport) -> None:
    python_checks = {c.check_id for c in fixture_report.custom_checks if (CHECKS_DIR / f"{c.source}.py").is_file()}
    silent = [(o.check_id, o.address) for o in fixture_report.failures if o.check_id in python_checks and not o.details]
    assert silent == []


def test_every_python_check_records_the_keys_it_evaluated(fixture_report: GateReport) -> None:
    python_checks = {c.check_id for c in fixture_report.custom_checks if (CHECKS_DIR / f"{c.source}.py").is_file()}
    unrecorded = {o.check_id for o in fixture_report.outcomes if o.check_id in python_checks and not o.evaluated_keys}
    assert unrecorded == set()


def test_every_check_states_its_good_outcome_and_names_its_control(fixture_report: GateReport) -> None:
    controls = re.compile(r"UAE PDPL|ISO 27001 A\.\d|CIS (EKS|AWS)|AWS FSBP")
    for check in fixture_report.custom_checks:
        assert check.name.startswith("Ensure "), check.check_id
        assert controls.search(check.rationale), f"{check.check_id} rationale names no control: {check.rationale!r}"


def test_each_check_file_holds_one_class_named_after_the_file() -> None:
    for path in CHECKS_DIR.glob("*.py"):
        if path.stem in ("__init__", "sahab_policy", "sahab_base"):
            continue
        classes = re.findall(r"^class (\w+)\(", path.read_text(), re.MULTILINE)
        assert classes == [path.stem], path.name

"""The pure rules behind the checks (``policies/checks/sahab_policy.py``), without Checkov."""

from __future__ import annotations

import pytest

from environments import MANDATORY_TAG_KEYS, UAE_RESIDENT_REGIONS
from policies.checks import sahab_policy as rules

OUR_KEY = "${aws_kms_key.Data.arn}"
CROSS_STACK_KEY = "${data.terraform_remote_state.cross-stack-reference-input-smb-security.outputs.cross-stack-output-aws_kms_keyKeys_Data_05AE90F5arn}"


def test_the_policy_allow_list_is_the_config_schemas_allow_list() -> None:
    assert rules.UAE_AWS_REGIONS == UAE_RESIDENT_REGIONS["aws"]


def test_the_policy_mandatory_tags_are_the_config_schemas() -> None:
    assert rules.MANDATORY_TAG_KEYS == MANDATORY_TAG_KEYS


def test_the_scan_may_narrow_the_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(rules.ALLOWED_REGIONS_ENV, "me-central-1")
    assert rules.allowed_regions() == ("me-central-1",)


def test_the_scan_can_never_widen_the_allow_list_beyond_the_uae(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(rules.ALLOWED_REGIONS_ENV, "me-central-1,eu-west-1")
    assert rules.allowed_regions() == ("me-central-1",)
    monkeypatch.setenv(rules.ALLOWED_REGIONS_ENV, "eu-west-1")
    assert rules.allowed_regions() == ()


@pytest.mark.parametrize("value", [OUR_KEY, "${aws_kms_key.Data.key_id}", CROSS_STACK_KEY,
                                   "arn:aws:kms:me-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"])
def test_our_customer_managed_keys_are_accepted(value: str) -> None:
    assert rules.customer_managed_key_problem(value, "kms_key_id") is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "falls back to an AWS-owned or AWS-managed key"),
        ("", "falls back to an AWS-owned or AWS-managed key"),
        ("alias/aws/s3", "AWS-managed key"),
        ("arn:aws:kms:me-central-1:123456789012:alias/aws/ebs", "AWS-managed key"),
        ("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "region 'eu-west-1'"),
        ("${aws_kms_alias.Data.arn}", "not an aws_kms_key"),
        ("${data.terraform_remote_state.s.outputs.cross-stack-output-aws_s3_bucketXarn}", "not an aws_kms_key"),
        ("alias/sahab-smb-data", "cannot be proven customer-managed"),
    ],
)
def test_anything_but_our_key_is_refused_with_the_reason(value: object, reason: str) -> None:
    problem = rules.customer_managed_key_problem(value, "kms_key_id")
    assert problem is not None and reason in problem and "'kms_key_id'" in problem


def test_foreign_arn_regions_ignore_global_and_wildcard_arns() -> None:
    text = '{"R": ["arn:aws:s3:::b/*", "arn:aws:iam::1:root", "arn:aws:logs:*:1:log-group:*", "arn:aws:sqs:us-east-1:1:q"]}'
    assert rules.foreign_arn_regions(text) == ["us-east-1"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("https://s3.eu-west-1.amazonaws.com", ["eu-west-1"]),
        ("bucket.s3-eu-west-1.amazonaws.com", ["eu-west-1"]),
        ("com.amazonaws.us-east-1.s3", ["us-east-1"]),
        ("com.amazonaws.me-central-1.ecr.dkr", []),
        ("logs.me-central-1.amazonaws.com", []),
        ("eks.amazonaws.com", []),
    ],
)
def test_foreign_endpoint_regions_are_found_in_hostnames_and_service_names(text: str, found: list[str]) -> None:
    assert rules.foreign_endpoint_regions(text) == found


@pytest.mark.parametrize("value", ["me-central-1", "me-central-1b", "${data.aws_region.Current.name}"])
def test_resident_regions_zones_and_the_providers_region_are_accepted(value: str) -> None:
    assert rules.region_problem(value, "region") is None


@pytest.mark.parametrize("value", ["eu-west-1", "us-east-1a", "${var.region}", None])
def test_foreign_or_unprovable_regions_are_refused(value: object) -> None:
    assert rules.region_problem(value, "region") is not None


def test_tag_problems_name_missing_keys_and_a_bad_classification() -> None:
    problems = rules.tag_problems({"owner": "x", "data-classification": "secret"}, "tags")
    assert any("['cost-centre', 'environment']" in p for p in problems)
    assert any("'secret'" in p for p in problems)


def test_policy_statements_are_none_for_a_policy_held_in_a_reference() -> None:
    assert rules.policy_statements("${data.aws_iam_policy_document.x.json}") is None
    assert rules.policy_statements('{"Statement": {"Effect": "Deny"}}') == [{"Effect": "Deny"}]


def test_the_policy_floating_tags_are_the_workload_schemas() -> None:
    from environments.workload_sections import FLOATING_TAGS

    assert rules.FLOATING_TAGS == FLOATING_TAGS


@pytest.mark.parametrize(("image", "problem"), [
    ("111122223333.dkr.ecr.me-central-1.amazonaws.com/sahab-smb/scoring:0.1.0", None),
    ("111122223333.dkr.ecr.me-central-1.amazonaws.com/sahab-smb/jobs@sha256:" + "0" * 64, None),
    ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/sahab-smb/scoring:0.1.0", "outside the allow-list"),
    ("111122223333.dkr.ecr.me-central-1.amazonaws.com/sahab-smb/scoring:latest", "is not pinned"),
    ("111122223333.dkr.ecr.me-central-1.amazonaws.com/sahab-smb/scoring", "is not pinned"),
    ("docker.io/library/python:3.11", "is not in an ECR registry"),
    (None, "is not in an ECR registry"),
])
def test_an_image_must_be_pinned_in_a_resident_ecr(image, problem) -> None:
    found = rules.image_problem(image, "containers[app]")
    assert (found is None) if problem is None else (problem in found)


def test_a_pod_spec_is_found_in_every_kind_that_carries_one() -> None:
    pod = {"containers": []}
    assert rules.pod_spec_of({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}) is pod
    assert rules.pod_spec_of({"kind": "Pod", "spec": pod}) is pod
    assert rules.pod_spec_of({"kind": "Service", "spec": {}}) is None
    assert rules.pod_spec_of({"kind": "Deployment", "spec": {"template": None}}) is None


@pytest.mark.parametrize(("cidr", "wide"), [("0.0.0.0/0", True), ("0.0.0.0/1", True), ("10.0.0.0/8", True),
                                            ("10.0.0.0/16", False), ("::/0", True), ("2001:db8::/48", False), ("nonsense", False)])
def test_a_cidr_is_wide_open_by_its_size_not_its_spelling(cidr, wide) -> None:
    assert rules.is_wider_than_allowed(cidr) is wide


def test_split_ranges_and_a_long_list_are_caught_by_the_per_entry_and_total_caps() -> None:
    split = rules.allow_list_problems(["0.0.0.0/1", "128.0.0.0/1"], "cidrs", public=True)
    assert len(split) == 3 and "in all" in split[-1]
    many = rules.allow_list_problems([f"5.{i}.0.0/16" for i in range(5)], "cidrs", public=True)
    assert many == ["'cidrs' admits 327,680 IPv4 addresses in all, more than the 262,144 allowed"]
    assert rules.allow_list_problems(["94.200.0.0/24"], "cidrs", public=True) == []
    assert "is not a CIDR" in rules.allow_list_problems(["94.200.0.1/24"], "cidrs", public=True)[0]  # host bits set


@pytest.mark.parametrize(("properties", "problem"), [
    ("log.retention.ms=604800000", None),
    ("log.retention.minutes=10080", None),
    ("log.retention.hours=720", None),
    ("log.retention.ms=86400000\nlog.retention.hours=100000", None),  # Kafka reads .ms first
    ("auto.create.topics.enable=false", "no 'log.retention.ms'"),
    ("log.retention.ms=-1", "keep records forever"),
    ("log.retention.hours=721", "(30.0417 days), longer than 30 days"),
    ("log.retention.ms=seven days", "keep records forever"),
])
def test_the_brokers_default_topic_retention_must_be_set_and_at_most_thirty_days(properties: str, problem: str | None) -> None:
    found = rules.topic_retention_problem(rules.server_properties(properties) or {})
    assert found is None if problem is None else problem in found


def test_server_properties_that_are_a_reference_cannot_be_read() -> None:
    assert rules.server_properties("${var.properties}") is None
    assert rules.server_properties("# comment\na = b\n") == {"a": "b"}


def rule(prefix: str, *, days: int | None = 90, noncurrent: int | None = 1, status: str = "Enabled") -> dict:
    body: dict = {"id": "r", "status": status, "filter": [{"prefix": prefix}]}
    if days is not None:
        body["expiration"] = [{"days": days}]
    if noncurrent is not None:
        body["noncurrent_version_expiration"] = [{"noncurrent_days": noncurrent}]
    return body


@pytest.mark.parametrize(("body", "problems"), [
    (rule("predictions/"), []),
    (rule("", days=None, noncurrent=90), []),  # the bucket-wide noncurrent rule: no retention, not personal data
    (rule("predictions/", noncurrent=None), ["must set 'noncurrent_version_expiration'"]),
    (rule("offline/", days=None), ["sets no 'expiration' days"]),
    (rule("exports/", noncurrent=31), ["between 1 and 30 (value: 31)"]),
    (rule("predictions/", status="Disabled"), ["must be 'Enabled'"]),
])
def test_a_lifecycle_rule_holding_personal_data_expires_current_and_noncurrent_versions(body: dict, problems: list[str]) -> None:
    found = rules.lifecycle_rule_problems(body, 0)
    assert len(found) == len(problems) and all(p in f for p, f in zip(problems, found)), found

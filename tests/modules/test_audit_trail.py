import json


def build(sut):
    from modules.audit_trail import AuditTrail, AuditTrailProps

    return AuditTrail(
        sut.stack, "Audit",
        props=AuditTrailProps(trail_name="sahab-test-audit", bucket_name="sahab-test-audit-b", region="me-central-1",
                              key=sut.keys.logs, object_lock_retention_days=400),
    )


def test_the_trail_validates_log_files_and_encrypts_them_with_the_logs_key(sut):
    build(sut)
    trail = sut.only("aws_cloudtrail")
    assert trail["enable_log_file_validation"] is True and trail["kms_key_id"] == sut.key_ref("logs")
    assert trail["is_multi_region_trail"] is True


def test_the_trail_records_s3_object_level_events(sut):
    build(sut)
    (selector,) = sut.only("aws_cloudtrail")["event_selector"]
    assert selector["data_resource"] == [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]


def test_the_audit_bucket_is_object_locked_in_compliance_mode(sut):
    build(sut)
    retention = sut.only("aws_s3_bucket_object_lock_configuration")["rule"]["default_retention"]
    assert retention == {"mode": "COMPLIANCE", "days": 400}


def test_only_this_trail_may_write_to_the_audit_bucket(sut):
    build(sut)
    policy = json.loads(sut.only("aws_s3_bucket_policy")["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "CloudTrailWrite")
    assert write["Principal"] == {"Service": ["cloudtrail.amazonaws.com"]}
    assert write["Condition"]["StringEquals"]["aws:SourceArn"].endswith(":trail/sahab-test-audit")


def test_the_trail_is_created_after_the_bucket_policy_that_admits_it(sut):
    build(sut)
    (policy_address,) = sut.resources("aws_s3_bucket_policy")
    assert sut.only("aws_cloudtrail")["depends_on"] == [f"aws_s3_bucket_policy.{policy_address}"]

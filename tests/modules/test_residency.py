"""The synth-time residency guard: an escape hatch cannot slip a foreign region past the schema."""

import pytest

REGION = "me-central-1"


def synth_with_guard(build):
    """Build a stack with the guard, run ``build(stack)``, synthesise; return the guard."""
    import tempfile

    from modules.cdk import App, Aspects, TerraformStack
    from modules.residency import ResidencyGuard

    app = App(outdir=tempfile.mkdtemp())
    stack = TerraformStack(app, "guarded")
    build(stack)
    guard = ResidencyGuard([REGION])
    Aspects.of(stack).add(guard)
    app.synth()
    return guard


def test_a_stack_inside_the_allow_list_synthesises():
    from modules.cdk import provider, s3_bucket

    guard = synth_with_guard(lambda s: (provider.AwsProvider(s, "aws", region=REGION), s3_bucket.S3Bucket(s, "b", bucket="ok")))
    assert guard.violations == []


def test_a_foreign_provider_region_fails_synthesis():
    from modules.cdk import provider

    with pytest.raises(RuntimeError, match=r"residency: AWS provider guarded/aws must set 'region' to one of \['me-central-1'\] \(value: 'eu-west-1'\)"):
        synth_with_guard(lambda s: provider.AwsProvider(s, "aws", region="eu-west-1"))


def test_an_escape_hatch_region_override_on_a_resource_fails_synthesis():
    from modules.cdk import provider, s3_bucket

    def build(stack):
        provider.AwsProvider(stack, "aws", region=REGION)
        s3_bucket.S3Bucket(stack, "b", bucket="x").add_override("region", "us-east-1")

    with pytest.raises(RuntimeError, match=r"guarded/b refers to region\(s\) \['us-east-1'\] outside the UAE allow-list"):
        synth_with_guard(build)


def test_a_foreign_arn_in_any_argument_fails_synthesis():
    from modules.cdk import provider, s3_bucket_server_side_encryption_configuration as sse

    def build(stack):
        provider.AwsProvider(stack, "aws", region=REGION)
        sse.S3BucketServerSideEncryptionConfigurationA(
            stack, "enc", bucket="b",
            rule=[sse.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="aws:kms", kms_master_key_id="arn:aws:kms:eu-central-1:111122223333:key/abc"))],
        )

    with pytest.raises(RuntimeError, match=r"\['eu-central-1'\]"):
        synth_with_guard(build)


@pytest.mark.parametrize(
    ("value", "foreign"),
    [
        ("arn:aws:kms:me-central-1:1:key/x", set()),
        ("https://sts.us-west-2.amazonaws.com", {"us-west-2"}),
        ({"nested": ["ap-southeast-1"]}, {"ap-southeast-1"}),
        ("us-gov-east-1", {"us-gov-east-1"}),
        ("mention of me-south-1 (Bahrain)", {"me-south-1"}),
    ],
)
def test_foreign_regions_are_found_anywhere_in_a_configuration(value, foreign):
    from modules.residency import foreign_regions

    assert foreign_regions(value, [REGION]) == foreign

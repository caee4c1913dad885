def test_mandatory_tags_land_on_every_taggable_resource_and_win_over_a_constructs_own_value(sut):
    from modules.cdk import Aspects, s3_bucket
    from modules.tagging import MandatoryTags

    s3_bucket.S3Bucket(sut.stack, "Mislabelled", bucket="b", tags={"environment": "prod", "Name": "b"})
    tags = {"owner": "ml", "cost-centre": "cc-1", "data-classification": "internal", "environment": "dev"}
    Aspects.of(sut.stack).add(MandatoryTags(tags))
    resources = sut.synth()["resource"]
    bucket = resources["aws_s3_bucket"]["Mislabelled"]
    assert bucket["tags"] == {**tags, "Name": "b"}
    assert all(key["tags"] == tags for key in resources["aws_kms_key"].values())
    assert all("tags" not in alias for alias in resources["aws_kms_alias"].values())  # aliases are not taggable

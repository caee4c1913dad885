import json


def build(sut, **overrides):
    from modules.container_registry import ContainerRegistry, ContainerRegistryProps

    props = dict(repository_names=("sahab-test/scoring", "sahab-test/jobs"), key=sut.keys.models)
    props.update(overrides)
    return ContainerRegistry(sut.stack, "Registry", props=ContainerRegistryProps(**props))


def test_each_repository_refuses_to_overwrite_a_tag_and_scans_on_push(sut):
    build(sut)
    repositories = sut.resources("aws_ecr_repository")
    assert sorted(r["name"] for r in repositories.values()) == ["sahab-test/jobs", "sahab-test/scoring"]
    for repository in repositories.values():
        assert repository["image_tag_mutability"] == "IMMUTABLE"
        assert repository["image_scanning_configuration"] == {"scan_on_push": True}


def test_images_are_encrypted_with_the_given_cmk(sut):
    build(sut)
    for repository in sut.resources("aws_ecr_repository").values():
        assert repository["encryption_configuration"] == [{"encryption_type": "KMS", "kms_key": sut.key_ref("models")}]


def test_untagged_layers_expire_and_the_newest_tagged_images_are_kept(sut):
    build(sut, keep_tagged_images=12, untagged_expiry_days=3)
    policies = [json.loads(p["policy"]) for p in sut.resources("aws_ecr_lifecycle_policy").values()]
    assert len(policies) == 2
    untagged, tagged = policies[0]["rules"]
    assert (untagged["selection"]["tagStatus"], untagged["selection"]["countNumber"]) == ("untagged", 3)
    assert (tagged["selection"]["countType"], tagged["selection"]["countNumber"]) == ("imageCountMoreThan", 12)

def build(sut):
    from modules.container_registry import ContainerRegistry, ContainerRegistryProps
    from modules.image_push_role import ImagePushRole, ImagePushRoleProps

    registry = ContainerRegistry(sut.stack, "Registry", props=ContainerRegistryProps(
        repository_names=("sahab-test/scoring", "sahab-test/jobs"), key=sut.keys.models))
    return ImagePushRole(sut.stack, "Pusher", props=ImagePushRoleProps(
        role_name="sahab-test-images-ci", github_repository="example-org/sahab", github_environment="smb",
        repositories=list(registry.repositories.values())))


def test_only_one_repositorys_workflow_for_one_environment_may_assume_the_role(sut):
    build(sut)
    documents = sut.synth()["data"]["aws_iam_policy_document"]
    (trust,) = [d for d in documents.values() if d["statement"][0]["sid"] == "GithubWorkflowOfOneRepositoryAndEnvironment"]
    conditions = {c["variable"]: c["values"] for c in trust["statement"][0]["condition"]}
    assert conditions == {"token.actions.githubusercontent.com:aud": ["sts.amazonaws.com"],
                          "token.actions.githubusercontent.com:sub": ["repo:example-org/sahab:environment:smb"]}
    assert sut.only("aws_iam_openid_connect_provider")["url"] == "https://token.actions.githubusercontent.com"


def test_the_role_may_push_to_the_environments_repositories_only(sut):
    build(sut)
    (statements,) = sut.role_policies().values()
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["EcrLogin"]["Action"] == ["ecr:GetAuthorizationToken"]
    push = by_sid["PushToTheEnvironmentsRepositories"]
    assert "ecr:PutImage" in push["Action"] and "*" not in push["Resource"]
    assert sorted(push["Resource"]) == sorted(f"${{aws_ecr_repository.{a}.arn}}" for a in sut.resources("aws_ecr_repository"))

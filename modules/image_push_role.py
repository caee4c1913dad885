"""``ImagePushRole``: the one identity that may push the workloads' images, a GitHub workflow through OIDC.

No long-lived AWS key is stored in CI: GitHub's OIDC provider vouches for the workflow run, and the role
trusts exactly one repository running for one GitHub environment (``repo:<owner>/<name>:environment:<env>``,
audience ``sts.amazonaws.com``). It may log in to ECR and push to the environment's repositories only.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import Construct, data_aws_iam_policy_document, ecr_repository, iam_openid_connect_provider, iam_role
from modules.grants import role_policy
from modules.iam import Statement

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
#: What ``docker push`` needs on a repository (``ecr:GetAuthorizationToken`` is account-wide by AWS's design).
PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
    "ecr:PutImage", "ecr:BatchGetImage",
)


@dataclass(frozen=True, kw_only=True)
class ImagePushRoleProps:
    """Props of ``ImagePushRole``."""

    role_name: str
    """Name of the role, e.g. ``sahab-smb-images-ci``."""
    github_repository: str
    """``owner/name`` of the repository whose workflow may assume the role."""
    github_environment: str
    """The GitHub environment the workflow runs in (the images workflow uses the Sahab environment's name)."""
    repositories: list[ecr_repository.EcrRepository]
    """The ECR repositories it may push to."""


class ImagePushRole(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ImagePushRoleProps) -> None:
        super().__init__(scope, id)
        self.provider = iam_openid_connect_provider.IamOpenidConnectProvider(
            self, "GithubOidc", url=f"https://{GITHUB_OIDC_HOST}", client_id_list=["sts.amazonaws.com"],
        )
        doc = data_aws_iam_policy_document
        trust = doc.DataAwsIamPolicyDocument(self, "Trust", statement=[doc.DataAwsIamPolicyDocumentStatement(
            sid="GithubWorkflowOfOneRepositoryAndEnvironment", actions=["sts:AssumeRoleWithWebIdentity"],
            principals=[doc.DataAwsIamPolicyDocumentStatementPrincipals(type="Federated", identifiers=[self.provider.arn])],
            condition=[
                doc.DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable=f"{GITHUB_OIDC_HOST}:aud", values=["sts.amazonaws.com"]),
                doc.DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable=f"{GITHUB_OIDC_HOST}:sub",
                    values=[f"repo:{props.github_repository}:environment:{props.github_environment}"]),
            ],
        )])
        self.role = iam_role.IamRole(self, "Role", name=props.role_name, assume_role_policy=trust.json)
        role_policy(self, "Push", self.role, [
            Statement(sid="EcrLogin", actions=("ecr:GetAuthorizationToken",)),
            Statement(sid="PushToTheEnvironmentsRepositories", actions=PUSH_ACTIONS,
                      resources=tuple(repository.arn for repository in props.repositories)),
        ])

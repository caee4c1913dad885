"""``ServingSecrets``: the scoring service's routing key and API-token digests, in Secrets Manager under the data key.

The service reads both at start (``bento_services.serving_secrets``): the routing key makes variant assignment
unpredictable from outside; the token list holds SHA-256 digests only. The routing key's value is drawn once
and kept (``ignore_changes``: a new key would move every customer to another variant); the token list starts
empty and belongs to operators from then on (they add and revoke digests; the service re-reads it every minute).
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.cdk import (
    Construct,
    TerraformResourceLifecycle,
    data_aws_secretsmanager_random_password as random_password,
    iam_role,
    iam_role_policy,
    kms_key,
    secretsmanager_secret,
    secretsmanager_secret_version,
)
from modules.grants import grant
from modules.iam import Statement


@dataclass(frozen=True)
class ServingSecretsProps:
    routing_key_name: str
    tokens_name: str
    key: kms_key.KmsKey
    """The data key: secrets are customer-linked configuration, encrypted like the data."""


class ServingSecrets(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ServingSecretsProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.routing_key = secretsmanager_secret.SecretsmanagerSecret(
            self, "RoutingKey", name=props.routing_key_name, kms_key_id=props.key.arn, recovery_window_in_days=7,
            description="Routing key of the scoring service (keyed hash of customer ids to variants)",
        )
        value = random_password.DataAwsSecretsmanagerRandomPassword(
            self, "RoutingKeyValue", password_length=64, exclude_punctuation=True
        )
        secretsmanager_secret_version.SecretsmanagerSecretVersion(
            self, "RoutingKeyVersion", secret_id=self.routing_key.id, secret_string=value.random_password,
            lifecycle=TerraformResourceLifecycle(ignore_changes=["secret_string"]),
        )
        self.tokens = secretsmanager_secret.SecretsmanagerSecret(
            self, "ApiTokens", name=props.tokens_name, kms_key_id=props.key.arn, recovery_window_in_days=7,
            description="SHA-256 digests of the scoring service's API tokens",
        )
        secretsmanager_secret_version.SecretsmanagerSecretVersion(
            self, "ApiTokensVersion", secret_id=self.tokens.id, secret_string='{"tokens": []}',
            lifecycle=TerraformResourceLifecycle(ignore_changes=["secret_string"]),
        )

    def grant_read(self, role: iam_role.IamRole, id: str = "GrantServingSecrets") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` read both secrets and decrypt them with the data key."""
        return grant(role, id, self, [
            Statement(sid="ServingSecrets", actions=("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
                      resources=(self.routing_key.arn, self.tokens.arn)),
            Statement(sid="ServingSecretsKey", actions=("kms:Decrypt",), resources=(self.props.key.arn,)),
        ])

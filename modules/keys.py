"""``Keys``: one customer-managed KMS key per data class, rotation on, least-privilege key policies.

One key per data class (rather than one key for everything) limits the blast radius of a grant and
lets auditors see which service may decrypt which data. Key policies never grant ``kms:*`` and never
allow ``*``: administration goes to named roles only (``administrator_roles``, matched on
``aws:PrincipalArn``; ``kms:CreateAlias``, never ``kms:Create*``), use is limited to the AWS services of
the class through ``kms:ViaService``, a grant can be created only for an AWS resource
(``kms:GrantIsForAWSResource``), the signing key signs for ``signer_roles`` and verifies for
``verifier_roles`` alone, and the pseudonym key computes MACs for ``pseudonym_roles`` alone. Roles are
matched by ARN in conditions, so a key policy may name a role that a later layer creates (KMS refuses
principals that do not exist yet).

| data class    | used by                                  | who may use it                              |
|---------------|------------------------------------------|---------------------------------------------|
| data          | data buckets, Redis at rest, secrets      | account via s3/elasticache/secretsmanager/dynamodb |
| models        | model artifact bucket, ECR images         | account via s3/ecr                          |
| logs          | log groups, CloudTrail, audit bucket      | CloudWatch Logs, CloudTrail, account via s3 |
| eks-secrets   | EKS envelope encryption of Secrets        | account via eks                             |
| kafka         | MSK at rest                               | account via kafka                           |
| ebs           | node volumes (launch templates)           | account via ec2, the Auto Scaling role      |
| backup        | AWS Backup vaults (recovery points)       | account via backup                          |
| signing       | model manifest signatures (asymmetric)    | signer_roles sign; verifier_roles verify    |
| pseudonym     | customer pseudonyms (HMAC_256, UAE PDPL)  | pseudonym_roles generate MACs; nobody verifies |

The pseudonym key is an HMAC key: whoever may call ``kms:GenerateMac`` on it can turn a customer id into its
pseudonym, and so re-identify a pseudonymous row by trying ids. So it is its own key, usable only by the
workloads at the two edges where raw ids arrive (scoring, ingestion); training and drift read pseudonymised
tables and never get it. KMS cannot rotate HMAC keys (a new key means new pseudonyms: ``docs/privacy.md``).

A stack in another account that needs only some classes (the backup account's copy vault) asks for them with
``data_classes``, ``signing=False`` and ``pseudonym=False``. An environment that brings its own pseudonym key
names its ARN in ``pseudonym_key_id``: no key is made, and ``grant_generate_mac`` grants on that key.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments import names
from environments.errors import ConfigError
from modules.cdk import Construct, iam_role, iam_role_policy, kms_alias, kms_key
from modules.context import PARTITION, account_id, account_root_arn
from modules.grants import grant
from modules.iam import Statement, policy_document

#: Symmetric data classes and the AWS services that may use their key on the account's behalf.
DATA_CLASS_SERVICES: dict[str, tuple[str, ...]] = {
    "data": ("s3", "elasticache", "secretsmanager", "dynamodb"),
    "models": ("s3", "ecr"),
    "logs": ("s3",),
    "eks-secrets": ("eks",),
    "kafka": ("kafka",),
    "ebs": ("ec2",),
    "backup": ("backup",),
}

ADMIN_ACTIONS = (
    "kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
)
USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
SIGN_ACTIONS = ("kms:Sign", "kms:DescribeKey")
VERIFY_ACTIONS = ("kms:Verify", "kms:GetPublicKey", "kms:DescribeKey")
#: Computing a pseudonym is one ``GenerateMac`` call; nothing needs ``VerifyMac`` (pseudonyms are recomputed).
MAC_ACTIONS = ("kms:GenerateMac",)


def key_construct_id(data_class: str) -> str:
    """The construct id of a data class's key under ``Keys`` (``eks-secrets`` → ``EksSecrets``): its path in the JSON."""
    return "".join(part.capitalize() for part in data_class.split("-"))


@dataclass(frozen=True, kw_only=True)
class KeysProps:
    """Props of ``Keys``."""

    name_prefix: str
    """Prefix of aliases and descriptions, e.g. ``sahab-prod`` → ``alias/sahab-prod-data``."""
    region: str
    """Region of the keys; used in service names and ARN conditions."""
    administrator_roles: tuple[str, ...]
    """IAM role names (this account) that administer the keys: the deploy role and a break-glass role."""
    signer_roles: tuple[str, ...] = ()
    """Role names that may sign model manifests with the signing key. Default: none."""
    verifier_roles: tuple[str, ...] = ()
    """Role names that may verify manifests (and read the public key). Default: none."""
    deletion_window_days: int = 30
    """Waiting period before a deleted key is destroyed. Default: 30 (the maximum)."""
    rotation_period_days: int = 365
    """Automatic rotation period of symmetric keys. Default: 365."""
    data_classes: tuple[str, ...] = tuple(DATA_CLASS_SERVICES)
    """The symmetric keys to create. Default: every data class."""
    signing: bool = True
    """Create the asymmetric key that signs model manifests. Default: true."""
    pseudonym: bool = True
    """Have a key that makes customer pseudonyms (HMAC_256). Default: true."""
    pseudonym_key_id: str | None = None
    """An alias (``alias/...``): the HMAC key is made under it; a key ARN (``arn:aws:kms:<region>:<account>:key/<id>``):
    a key made outside these stacks, which only gets grants. Default: ``alias/<name_prefix>-customer-pseudonym``."""
    pseudonym_roles: tuple[str, ...] = ()
    """Role names that may compute pseudonyms (``kms:GenerateMac``). Default: none."""


class Keys(Construct):
    """The environment's CMKs, one per data class, plus an asymmetric key that signs model manifests."""

    def __init__(self, scope: Construct, id: str, *, props: KeysProps) -> None:
        super().__init__(scope, id)
        problems = []
        if not 7 <= props.deletion_window_days <= 30:
            problems.append(f"'deletion_window_days' must be between 7 and 30 (value: {props.deletion_window_days})")
        if not 90 <= props.rotation_period_days <= 2560:
            problems.append(f"'rotation_period_days' must be between 90 and 2560 (value: {props.rotation_period_days})")
        unknown = sorted(set(props.data_classes) - set(DATA_CLASS_SERVICES))
        if unknown:
            problems.append(f"'data_classes' must be among {list(DATA_CLASS_SERVICES)} (unknown: {unknown})")
        if not props.administrator_roles:
            problems.append("'administrator_roles' must name at least one role: the account root never administers a key alone")
        problems += _pseudonym_key_problems(props.pseudonym_key_id, props.region) if props.pseudonym else []
        if problems:
            raise ConfigError(problems, source=f"Keys {props.name_prefix!r}")
        self.props = props
        self._keys: dict[str, kms_key.KmsKey] = {}
        for data_class in props.data_classes:
            self._keys[data_class] = self._symmetric_key(data_class)
        self._signing = self._signing_key() if props.signing else None
        self._pseudonym: kms_key.KmsKey | None = None
        self._pseudonym_arn: str | None = None
        if props.pseudonym:
            if self.pseudonym_key_id.startswith("alias/"):
                self._pseudonym = self._pseudonym_key()
                self._pseudonym_arn = self._pseudonym.arn
            else:
                self._pseudonym_arn = self.pseudonym_key_id

    # ---- accessors ------------------------------------------------------------------------------
    def key(self, data_class: str) -> kms_key.KmsKey:
        """The key of one data class; raises naming the known classes on a typo."""
        try:
            return self._keys[data_class]
        except KeyError:
            raise ConfigError(f"no key for data class {data_class!r}; known: {sorted(self._keys)}") from None

    @property
    def signing(self) -> kms_key.KmsKey:
        """The asymmetric key that signs model manifests; raises when ``signing=False``."""
        if self._signing is None:
            raise ConfigError(f"Keys {self.props.name_prefix!r} was made without the signing key (signing=False)")
        return self._signing

    @property
    def pseudonym_key_id(self) -> str:
        """The configured pseudonym key (alias or ARN), else ``alias/<name_prefix>-customer-pseudonym``."""
        return self.props.pseudonym_key_id or names.kms_alias(self.props.name_prefix, names.PSEUDONYM_KEY)

    @property
    def pseudonym(self) -> kms_key.KmsKey:
        """The HMAC key made here; raises when ``pseudonym=False`` or the key is brought as an ARN."""
        if self._pseudonym is None:
            raise ConfigError(f"Keys {self.props.name_prefix!r} made no pseudonym key (pseudonym=False, or "
                              f"'pseudonym_key_id' names a key made elsewhere: {self.props.pseudonym_key_id!r})")
        return self._pseudonym

    @property
    def pseudonym_arn(self) -> str:
        """ARN of the pseudonym key, made here or brought; raises when ``pseudonym=False``."""
        if self._pseudonym_arn is None:
            raise ConfigError(f"Keys {self.props.name_prefix!r} was made without a pseudonym key (pseudonym=False)")
        return self._pseudonym_arn

    @property
    def data(self) -> kms_key.KmsKey:
        return self.key("data")

    @property
    def models(self) -> kms_key.KmsKey:
        return self.key("models")

    @property
    def logs(self) -> kms_key.KmsKey:
        return self.key("logs")

    @property
    def eks_secrets(self) -> kms_key.KmsKey:
        return self.key("eks-secrets")

    @property
    def kafka(self) -> kms_key.KmsKey:
        return self.key("kafka")

    @property
    def ebs(self) -> kms_key.KmsKey:
        return self.key("ebs")

    @property
    def backup(self) -> kms_key.KmsKey:
        return self.key("backup")

    # ---- grants on the signing key ---------------------------------------------------------------
    def grant_sign(self, role: iam_role.IamRole, id: str = "GrantSign") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` sign model manifests (training) with the asymmetric key."""
        return grant(role, id, self, [Statement(sid="SignManifests", actions=("kms:Sign", "kms:DescribeKey"),
                                                resources=(self.signing.arn,))])

    def grant_verify(self, role: iam_role.IamRole, id: str = "GrantVerify") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` verify manifests (serving, drift) with the key's public half, never sign."""
        return grant(role, id, self, [Statement(sid="VerifyManifests",
                                                actions=("kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"),
                                                resources=(self.signing.arn,))])

    # ---- grants on the pseudonym key -------------------------------------------------------------
    def grant_generate_mac(self, role: iam_role.IamRole, id: str = "GrantGenerateMac") -> iam_role_policy.IamRolePolicy:
        """Let ``role`` turn customer ids into pseudonyms (scoring, ingestion): ``kms:GenerateMac``, nothing else.

        The role must also be among ``pseudonym_roles`` (the key policy), unless the key is brought.
        """
        return grant(role, id, self, [Statement(sid="PseudonymiseCustomerIds", actions=MAC_ACTIONS,
                                                resources=(self.pseudonym_arn,))])

    # ---- construction ---------------------------------------------------------------------------
    def _symmetric_key(self, data_class: str) -> kms_key.KmsKey:
        region = self.props.region
        services = tuple(f"{svc}.{region}.amazonaws.com" for svc in DATA_CLASS_SERVICES[data_class])
        statements = [
            self._admin_statement(),
            Statement(
                sid="UseThroughServices",
                principals={"AWS": (account_root_arn(self),)},
                actions=(*USE_ACTIONS, "kms:CreateGrant", "kms:ListGrants"),
                conditions={
                    "StringEquals": {"kms:ViaService": list(services), "kms:CallerAccount": account_id(self)}
                },
            ),
            *self._service_principal_statements(data_class),
            self._deny_grants_for_anything_but_aws_resources(),
        ]
        key = kms_key.KmsKey(
            self,
            key_construct_id(data_class),
            description=f"{self.props.name_prefix} {data_class} (customer-managed, data class key)",
            enable_key_rotation=True,
            rotation_period_in_days=self.props.rotation_period_days,
            deletion_window_in_days=self.props.deletion_window_days,
            policy=policy_document(statements),
        )
        kms_alias.KmsAlias(
            self,
            f"{key_construct_id(data_class)}Alias",
            name=names.kms_alias(self.props.name_prefix, data_class),
            target_key_id=key.key_id,
        )
        return key

    def _role_arns(self, names_: tuple[str, ...]) -> list[str]:
        return [names.iam_role_arn(account_id(self), name, PARTITION) for name in names_]

    def _for_roles(self, sid: str, actions: tuple[str, ...], role_names: tuple[str, ...]) -> Statement:
        """``actions`` for the named roles only: the account as principal, narrowed by ``aws:PrincipalArn``."""
        return Statement(sid=sid, principals={"AWS": (account_root_arn(self),)}, actions=actions,
                         conditions={"ArnEquals": {"aws:PrincipalArn": self._role_arns(role_names)}})

    def _admin_statement(self) -> Statement:
        return self._for_roles("AdministerByNamedRoles", ADMIN_ACTIONS, self.props.administrator_roles)

    def _deny_grants_for_anything_but_aws_resources(self) -> Statement:
        """Grants bypass ``kms:ViaService``: only AWS services may create them, for their own resources."""
        return Statement(sid="DenyGrantsExceptForAwsResources", effect="Deny", principals={"AWS": ("*",)},
                         actions=("kms:CreateGrant",), conditions={"Bool": {"kms:GrantIsForAWSResource": "false"}})

    def _service_principal_statements(self, data_class: str) -> list[Statement]:
        """Statements for services that act as themselves (not on a caller's behalf)."""
        region, account = self.props.region, account_id(self)
        if data_class == "logs":
            return [
                Statement(
                    sid="CloudWatchLogs",
                    principals={"Service": (f"logs.{region}.amazonaws.com",)},
                    actions=USE_ACTIONS,
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:{PARTITION}:logs:{region}:{account}:log-group:*"
                        }
                    },
                ),
                Statement(
                    sid="CloudTrail",
                    principals={"Service": ("cloudtrail.amazonaws.com",)},
                    actions=("kms:GenerateDataKey*", "kms:DescribeKey"),
                    conditions={
                        "StringLike": {
                            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{PARTITION}:cloudtrail:*:{account}:trail/*"
                        },
                        "StringEquals": {"aws:SourceAccount": account},
                    },
                ),
            ]
        if data_class == "ebs":
            autoscaling_role = (
                f"arn:{PARTITION}:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/"
                "AWSServiceRoleForAutoScaling"
            )
            return [
                Statement(
                    sid="AutoScalingVolumes",
                    principals={"AWS": (autoscaling_role,)},
                    actions=(*USE_ACTIONS, "kms:CreateGrant"),
                )
            ]
        return []

    def _signing_key(self) -> kms_key.KmsKey:
        key = kms_key.KmsKey(
            self,
            "Signing",
            description=f"{self.props.name_prefix} model manifest signing (asymmetric, ECC_NIST_P256)",
            key_usage="SIGN_VERIFY",
            customer_master_key_spec="ECC_NIST_P256",
            deletion_window_in_days=self.props.deletion_window_days,
            policy=policy_document(
                [
                    self._admin_statement(),
                    *([self._for_roles("SignByNamedRoles", SIGN_ACTIONS, self.props.signer_roles)]
                      if self.props.signer_roles else []),
                    *([self._for_roles("VerifyByNamedRoles", VERIFY_ACTIONS, self.props.verifier_roles)]
                      if self.props.verifier_roles else []),
                    self._deny_grants_for_anything_but_aws_resources(),
                ]
            ),
        )
        kms_alias.KmsAlias(
            self, "SigningAlias", name=names.kms_alias(self.props.name_prefix, names.SIGNING_KEY), target_key_id=key.key_id
        )
        return key

    def _pseudonym_key(self) -> kms_key.KmsKey:
        """HMAC_256 for ``GenerateMac``; no ``enable_key_rotation``: KMS refuses it for HMAC keys."""
        key = kms_key.KmsKey(
            self,
            "Pseudonym",
            description=f"{self.props.name_prefix} {names.PSEUDONYM_KEY} (HMAC_256, keyed pseudonyms of customer ids)",
            key_usage="GENERATE_VERIFY_MAC",
            customer_master_key_spec="HMAC_256",
            deletion_window_in_days=self.props.deletion_window_days,
            policy=policy_document(
                [
                    self._admin_statement(),
                    *([self._for_roles("GenerateMacByNamedRoles", MAC_ACTIONS, self.props.pseudonym_roles)]
                      if self.props.pseudonym_roles else []),
                    self._deny_grants_for_anything_but_aws_resources(),
                ]
            ),
        )
        kms_alias.KmsAlias(self, "PseudonymAlias", name=self.pseudonym_key_id, target_key_id=key.key_id)
        return key


def _pseudonym_key_problems(key_id: str | None, region: str) -> list[str]:
    """An alias to create, or a key's ARN in the keys' region to grant on; anything else cannot be named in a role
    policy (a bare id, an alias ARN) or would send customer ids to another region."""
    if key_id is None or (key_id.startswith("alias/") and not key_id.startswith("alias/aws/")):
        return []
    if key_id.startswith("arn:") and ":key/" in key_id:
        if key_id.split(":")[3:4] != [region]:
            return [f"'pseudonym_key_id' must be a key in {region!r}, the keys' region (value: {key_id!r}): every "
                    "customer id is sent to it"]
        return []
    return [f"'pseudonym_key_id' must be an alias to create ('alias/...', not 'alias/aws/...') or the ARN of a key "
            f"('arn:aws:kms:<region>:<account>:key/<id>') (value: {key_id!r}): a bare key id or an alias ARN cannot "
            "be granted in a role policy"]

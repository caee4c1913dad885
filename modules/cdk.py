"""The one door to cdktf and the AWS provider bindings.

HashiCorp deprecated CDKTF (0.21 is the last release); the maintained fork is CDK Terrain (``cdktn``,
``cdktn-provider-aws``). Every construct and stack imports cdktf, constructs and the provider bindings
from here, so a migration to the fork is a change to this file's imports only.

Importing this module costs ~20-40 s (jsii loads the 480 MB provider assembly): import it lazily,
once per process, and synthesise every environment in that one process.
"""

from __future__ import annotations

import os
import warnings

# jsii's Node runtime prints a boxed deprecation banner for Node 20 on every start unless both variables are
# set; set them before the first jsii import, so every `sahab` command prints the same with or without `make`.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")

import jsii  # noqa: E402

# jsii's generated bindings ask typeguard to check non-runtime protocols and warn on every call.
warnings.filterwarnings("ignore", message="Typeguard cannot check")

from cdktf import (  # noqa: E402
    Annotations,
    App,
    Aspects,
    Fn,
    IAspect,
    LocalBackend,
    S3Backend,
    TerraformDataSource,
    TerraformOutput,
    TerraformProvider,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    Testing,
    Token,
)
from cdktf_cdktf_provider_aws import (  # noqa: E402
    backup_plan,
    backup_selection,
    backup_vault,
    backup_vault_lock_configuration,
    backup_vault_policy,
    cloudtrail,
    cloudwatch_log_group,
    data_aws_availability_zones,
    data_aws_caller_identity,
    data_aws_iam_policy_document,
    data_aws_partition,
    data_aws_secretsmanager_random_password,
    default_security_group,
    ecr_lifecycle_policy,
    ecr_repository,
    eip,
    eks_cluster,
    eks_node_group,
    elasticache_replication_group,
    elasticache_subnet_group,
    flow_log,
    iam_openid_connect_provider,
    iam_role,
    iam_role_policy,
    iam_role_policy_attachment,
    internet_gateway,
    kms_alias,
    kms_key,
    launch_template,
    msk_cluster,
    msk_configuration,
    msk_serverless_cluster,
    nat_gateway,
    organizations_policy,
    organizations_policy_attachment,
    provider,
    route,
    route_table,
    route_table_association,
    s3_bucket,
    s3_bucket_lifecycle_configuration,
    s3_bucket_logging,
    s3_bucket_notification,
    s3_bucket_object_lock_configuration,
    s3_bucket_ownership_controls,
    s3_bucket_policy,
    s3_bucket_public_access_block,
    s3_bucket_server_side_encryption_configuration,
    s3_bucket_versioning,
    secretsmanager_secret,
    secretsmanager_secret_version,
    security_group,
    subnet,
    vpc,
    vpc_endpoint,
    vpc_security_group_egress_rule,
    vpc_security_group_ingress_rule,
)
from cdktf_cdktf_provider_kubernetes import manifest as kubernetes_manifest  # noqa: E402
from cdktf_cdktf_provider_kubernetes import provider as kubernetes_provider  # noqa: E402
from constructs import Construct, IConstruct, IValidation  # noqa: E402

__all__ = [
    "Annotations", "App", "Aspects", "Construct", "Fn", "IAspect", "IConstruct", "IValidation", "LocalBackend",
    "S3Backend", "TerraformDataSource", "TerraformOutput", "TerraformProvider", "TerraformResource",
    "TerraformResourceLifecycle", "TerraformStack", "Testing", "Token", "jsii",
    "backup_plan", "backup_selection", "backup_vault", "backup_vault_lock_configuration", "backup_vault_policy",
    "cloudtrail", "cloudwatch_log_group", "data_aws_availability_zones", "data_aws_caller_identity",
    "data_aws_iam_policy_document", "data_aws_partition", "data_aws_secretsmanager_random_password",
    "default_security_group", "ecr_lifecycle_policy", "ecr_repository", "eip",
    "eks_cluster", "eks_node_group", "elasticache_replication_group", "elasticache_subnet_group", "flow_log",
    "iam_openid_connect_provider", "iam_role", "iam_role_policy", "iam_role_policy_attachment", "internet_gateway",
    "kubernetes_manifest", "kubernetes_provider",
    "kms_alias", "kms_key", "launch_template", "msk_cluster", "msk_configuration", "msk_serverless_cluster",
    "nat_gateway", "organizations_policy", "organizations_policy_attachment", "provider", "route", "route_table", "route_table_association", "s3_bucket",
    "s3_bucket_lifecycle_configuration", "s3_bucket_logging", "s3_bucket_notification", "s3_bucket_object_lock_configuration",
    "s3_bucket_ownership_controls", "s3_bucket_policy", "s3_bucket_public_access_block",
    "s3_bucket_server_side_encryption_configuration", "s3_bucket_versioning", "secretsmanager_secret",
    "secretsmanager_secret_version", "security_group", "subnet", "vpc", "vpc_endpoint",
    "vpc_security_group_egress_rule", "vpc_security_group_ingress_rule",
]

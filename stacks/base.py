"""``LayerStack``: what every ``<env>-<layer>`` stack has in common.

One AWS provider pinned to the environment's UAE region with ``default_tags``; the state backend
(S3 with DynamoDB locking in the same region, or a local file when the environment says so); and the
two Aspects that guard every resource: mandatory tags and the residency guard.
"""

from __future__ import annotations

from environments import Environment, names
from environments.errors import ConfigError
from modules.cdk import Aspects, Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack, provider
from modules.residency import ResidencyGuard
from modules.tagging import MandatoryTags

#: Layers in deploy order: keys first (every other layer encrypts with them), then the network, the
#: cluster (and the registry its images come from), the data services, which admit only the cluster's
#: security group, and last the workloads that use all of them.
LAYERS: tuple[str, ...] = ("security", "network", "compute", "data", "workloads")
#: Stacks applied apart from the environment's own layers, with other credentials: the region guard is an
#: Organizations policy that only the organisation's management account can apply (``stacks/guardrails.py``).
#: The backup account's copy vault belongs to another account, whose owner applies it once (``stacks/recovery.py``).
SEPARATE_LAYERS: tuple[str, ...] = ("guardrails", "recovery")


def stack_name(env: Environment, layer: str) -> str:
    return f"{env.name}-{layer}"


class LayerStack(TerraformStack):
    """Base of the per-layer stacks; subclasses only wire modules and export outputs."""

    layer: str = ""

    def __init__(self, scope: Construct, env: Environment) -> None:
        if self.layer not in LAYERS + SEPARATE_LAYERS:
            raise ConfigError(f"'layer' of {type(self).__name__} must be one of {LAYERS + SEPARATE_LAYERS} "
                              f"(value: {self.layer!r})")
        super().__init__(scope, stack_name(env, self.layer))
        self.env = env
        self.name_prefix = names.name_prefix(env.name)
        role = self.assumed_role_arn()
        provider.AwsProvider(
            self,
            "aws",
            region=env.region,
            default_tags=[provider.AwsProviderDefaultTags(tags=dict(env.tags))],
            assume_role=[provider.AwsProviderAssumeRole(role_arn=role, session_name=f"sahab-{env.name}")] if role else None,
        )
        self._backend()
        Aspects.of(self).add(MandatoryTags(env.tags))
        self.residency_guard = ResidencyGuard(env.allowed_regions)
        Aspects.of(self).add(self.residency_guard)

    def assumed_role_arn(self) -> str | None:
        """A role in another account for this stack's provider to assume; ``None``: the caller's own account."""
        return None

    def _backend(self) -> None:
        backend = self.env.state_backend
        key = f"{backend.key_prefix}/{self.env.name}/{self.layer}.tfstate"
        if backend.kind == "local":
            LocalBackend(self, path=f"terraform.{self.env.name}-{self.layer}.tfstate")
            return
        state = self.env.state_backend_names
        S3Backend(
            self,
            bucket=state.bucket,
            key=key,
            region=self.env.region,
            encrypt=True,
            kms_key_id=state.kms_alias,
            dynamodb_table=state.lock_table,
        )

    def output(self, name: str, value: object, description: str) -> TerraformOutput:
        """Export a value for other stacks, operators and the ML plane's cloud configuration."""
        return TerraformOutput(self, name, value=value, description=description)

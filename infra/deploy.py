"""``sahab deploy`` and ``sahab plan`` as a library: credentials → synth → gate → Terraform per layer.

Deploying never needs the cdktf CLI (deprecated by HashiCorp on 2025-12-10; 0.21 is its last
release): each synthesised ``cdktf.out/stacks/<env>-<layer>`` folder is plain Terraform JSON,
applied with ``terraform -chdir=<folder> init`` then ``apply`` (or ``plan``), one layer after the
other in synthesis order (security, network, compute, data, workloads), with ``--engine tofu`` for OpenTofu.

Nothing is applied unless the policy gate over the whole environment (its stacks and its rendered workload
manifests, where synthesis wrote them) is clean: ``require_clean``
raises ``GateFailed`` before the first Terraform command. The command runner is a parameter (a
seam, not a mock) so tests can prove that no command was ever issued.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from environments import Environment
from environments.errors import CommandFailed, ConfigError
from infra.gate.check import GateRun, check_targets, manifest_targets, require_clean
from infra.gate.scan_copy import ScanTarget
from stacks.base import LAYERS

ENGINES: tuple[str, ...] = ("terraform", "tofu")
#: How many of the engine's last lines a failure quotes (``keep_tail``).
TAIL_LINES = 15
Action = Literal["plan", "apply"]

#: botocore's instance-metadata provider calls 169.254.169.254 over the network; the credential
#: check must stay offline, so it is left out (an EC2 role still works through a profile with
#: ``credential_source = Ec2InstanceMetadata``).
_NETWORK_CREDENTIAL_PROVIDERS = ("iam-role",)


class CommandRunner(Protocol):
    """Runs one engine command (``["-chdir=...", "apply"]``); raises ``CommandFailed`` on failure.

    ``stdout``, when given, is the file the command's output goes to (``terraform show -json``).
    """

    def __call__(self, argv: Sequence[str], stdout: Path | None = None) -> None: ...


class StackLike(Protocol):
    """A synthesised stack (``infra.synth.SynthesizedStack`` or any object with these fields)."""

    @property
    def name(self) -> str: ...

    @property
    def layer(self) -> str: ...

    @property
    def path(self) -> Path: ...


Synthesize = Callable[[Environment, "Path | None"], Sequence[StackLike]]


@dataclass(frozen=True)
class StackCommand:
    stack: str
    layer: str
    argv: tuple[str, ...]
    stdout: Path | None = None
    """Where the command's output is written (the plan as JSON), or ``None`` for the terminal."""


@dataclass(frozen=True)
class DeployResult:
    env: str
    action: Action
    gate: GateRun
    commands: tuple[StackCommand, ...]
    credentials: str
    """How the AWS credentials were found (botocore's method name, e.g. ``env`` or ``sso``)."""


def find_aws_credentials() -> str:
    """The method that supplies AWS credentials, found offline through botocore's chain.

    Raises ``ConfigError`` with the ways to configure credentials when none are found.
    """
    import botocore.session

    session = botocore.session.get_session()
    resolver = session.get_component("credential_provider")
    for method in _NETWORK_CREDENTIAL_PROVIDERS:
        resolver.remove(method)
    credentials = resolver.load_credentials()
    if credentials is None:
        raise ConfigError(
            "no AWS credentials found (looked at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
            "~/.aws/credentials, ~/.aws/config incl. SSO and credential_process): run `aws sso login "
            "--profile <p>` and `export AWS_PROFILE=<p>`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    return str(credentials.method)


def terraform_runner(engine: str, *, keep_tail: bool = False) -> CommandRunner:
    """A runner that executes ``<engine> <argv>`` with this terminal's input and output.

    ``keep_tail``: the output is also read line by line (never prompting: for ``-auto-approve`` runs) and a failure
    names the engine's last lines, so ``sahab up`` can say what broke without the user scrolling back.
    """
    if engine not in ENGINES:
        raise ConfigError(f"'--engine' must be one of {list(ENGINES)}, or pulumi for the workloads layer (value: {engine!r})")
    binary = shutil.which(engine)
    if binary is None:
        install = "https://opentofu.org/docs/intro/install/" if engine == "tofu" else "https://developer.hashicorp.com/terraform/install"
        raise ConfigError(f"'{engine}' is not on PATH: install it ({install}) or choose the other --engine")

    def run(argv: Sequence[str], stdout: Path | None = None) -> None:
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        if stdout is not None:
            with stdout.open("wb") as output:
                code = subprocess.run([binary, *argv], check=False, stdout=output).returncode
        elif keep_tail:
            with subprocess.Popen([binary, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
                for line in process.stdout or ():
                    print(line, end="", flush=True)
                    tail.append(line.rstrip())
            code = process.returncode
        else:
            code = subprocess.run([binary, *argv], check=False).returncode
        if code != 0:
            last = "; its last lines:\n" + "\n".join(tail) if tail else ""
            raise CommandFailed(f"`{engine} {' '.join(argv)}` exited {code}; later layers were not touched{last}")

    return run


def stack_commands(
    stacks: Sequence[StackLike], *, action: Action, auto_approve: bool = False, plan_out: Path | None = None
) -> list[StackCommand]:
    """Engine commands for ``stacks`` in the order given: ``init`` then ``plan`` or ``apply`` each.

    With ``plan_out`` each plan is saved there as ``<stack>.tfplan`` and shown as ``<stack>.plan.json`` (the
    Terraform plan JSON that ``sahab diff --plan`` renders for a pull request).
    """
    commands = []
    for stack in stacks:
        chdir = f"-chdir={stack.path.parent}"
        commands.append(StackCommand(stack.name, stack.layer, (chdir, "init", "-input=false")))
        if action == "plan" and plan_out is not None:
            saved = plan_out.resolve() / f"{stack.name}.tfplan"
            commands.append(StackCommand(stack.name, stack.layer, (chdir, "plan", "-input=false", f"-out={saved}")))
            commands.append(StackCommand(stack.name, stack.layer, (chdir, "show", "-json", str(saved)),
                                         stdout=plan_out.resolve() / f"{stack.name}.plan.json"))
            continue
        if action == "plan":
            step: tuple[str, ...] = (chdir, "plan", "-input=false")
        elif auto_approve:
            step = (chdir, "apply", "-input=false", "-auto-approve")
        else:
            step = (chdir, "apply")  # Terraform shows the plan and asks before changing anything
        commands.append(StackCommand(stack.name, stack.layer, step))
    return commands


def deploy(
    env: Environment,
    *,
    action: Action = "apply",
    layer: str | None = None,
    engine: str = "terraform",
    auto_approve: bool = False,
    outdir: Path | None = None,
    reports_dir: Path | None = None,
    runner: CommandRunner | None = None,
    synthesize: Synthesize | None = None,
    credentials: Callable[[], str] = find_aws_credentials,
    plan_out: Path | None = None,
) -> DeployResult:
    """Synthesise ``env``, gate every one of its stacks, then plan or apply them layer by layer.

    Refuses, before anything slow, when ``env`` is local or no AWS credentials exist; refuses,
    before any Terraform command, when the gate finds a failure (``GateFailed``).
    """
    if not env.is_cloud:
        raise ConfigError(f"{env.name!r} is a local environment with no cloud stacks: use `sahab up local`")
    method = credentials()
    runner = runner or terraform_runner(engine)
    stacks = list((synthesize or _synthesize)(env, outdir))
    layers = [s.layer for s in stacks]
    if layer is not None and layer not in layers:
        raise ConfigError(f"'--layer' must be one of {layers} (value: {layer!r})")
    targets = [ScanTarget(name=s.name, file=s.path) for s in stacks]
    if stacks:
        targets += manifest_targets(stacks[0].path.parents[2], [env.name])  # <outdir>/stacks/<stack>/cdk.tf.json
    gate = check_targets(targets, reports_dir=reports_dir, allowed_regions=env.allowed_regions)
    require_clean(gate)
    chosen = [s for s in stacks if s.layer == layer or (layer is None and s.layer in LAYERS)]
    commands = stack_commands(chosen, action=action, auto_approve=auto_approve, plan_out=plan_out)
    if plan_out is not None:
        plan_out.mkdir(parents=True, exist_ok=True)
    for command in commands:
        if command.stdout is None:
            runner(command.argv)
        else:
            runner(command.argv, stdout=command.stdout)
    return DeployResult(env=env.name, action=action, gate=gate, commands=tuple(commands), credentials=method)


def _synthesize(env: Environment, outdir: Path | None) -> Sequence[StackLike]:
    from infra.synth import synth

    return synth([env], outdir).stacks

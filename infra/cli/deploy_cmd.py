"""``sahab deploy ENV`` and ``sahab plan ENV``: synth → policy gate → Terraform (or OpenTofu) per layer, or,
with ``--engine pulumi``, the gated workloads onto a cluster of the user's own through Pulumi."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from infra.cli.common import console

if TYPE_CHECKING:
    from infra.deploy import CommandRunner

EngineOption = Annotated[str, typer.Option(
    "--engine", help="terraform or tofu (OpenTofu) for every layer; pulumi for the workloads only, onto your own cluster.")]
LayerOption = Annotated[
    Optional[str],
    typer.Option("--layer", help="Only this layer (security, network, compute, data, workloads); the gate still checks all."),
]
KubeconfigOption = Annotated[Optional[Path], typer.Option(help="--engine pulumi: kubeconfig of the cluster. Default: $KUBECONFIG or ~/.kube/config.")]
ContextOption = Annotated[Optional[str], typer.Option(help="--engine pulumi: kubeconfig context. Default: its current context.")]
OutdirOption = Annotated[Path, typer.Option(help="Where to synthesise (cdktf layout).")]
ReportsOption = Annotated[Path, typer.Option(help="Where the gate writes SARIF and JUnit.")]


def deploy_command(
    environment: Annotated[str, typer.Argument(help="The environment to deploy, e.g. smb.")],
    layer: LayerOption = None,
    engine: EngineOption = "terraform",
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Apply without Terraform's prompt (CI).")] = False,
    outdir: OutdirOption = Path("cdktf.out"),
    reports: ReportsOption = Path("reports"),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Synthesise, pass the policy gate, then terraform init + apply each layer in order."""
    if engine == "pulumi":
        _run_pulumi(environment, action="apply", layer=layer, kubeconfig=kubeconfig, context=context, outdir=outdir,
                    reports=reports)
        return
    _run(environment, action="apply", layer=layer, engine=engine, auto_approve=auto_approve, outdir=outdir, reports=reports)


def plan_command(
    environment: Annotated[str, typer.Argument(help="The environment to plan, e.g. smb.")],
    layer: LayerOption = None,
    engine: EngineOption = "terraform",
    outdir: OutdirOption = Path("cdktf.out"),
    reports: ReportsOption = Path("reports"),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Save each layer's plan here as <stack>.tfplan and <stack>.plan.json (for `sahab diff --plan DIR`).")] = None,
) -> None:
    """Synthesise, pass the policy gate, then terraform init + plan each layer in order."""
    if engine == "pulumi":
        _run_pulumi(environment, action="plan", layer=layer, kubeconfig=kubeconfig, context=context, outdir=outdir,
                    reports=reports)
        return
    _run(environment, action="plan", layer=layer, engine=engine, auto_approve=False, outdir=outdir, reports=reports,
         plan_out=out)


def _run(
    environment: str, *, action: str, layer: str | None, engine: str, auto_approve: bool, outdir: Path, reports: Path,
    plan_out: Path | None = None,
) -> None:
    from infra.cli.check_cmd import print_run
    from environments import load_environment
    from infra.deploy import deploy, find_aws_credentials
    from environments.errors import GateFailed

    env = load_environment(environment)
    method = find_aws_credentials()  # refuse before the slow synthesis, and before looking for the engine
    runner = _announcing_runner(engine)
    console.print(f"AWS credentials found ({method}); synthesising {env.name} and running the policy gate...")
    try:
        result = deploy(
            env, action=action,  # type: ignore[arg-type]
            layer=layer, engine=engine, auto_approve=auto_approve, outdir=outdir, reports_dir=reports,
            runner=runner, credentials=lambda: method, plan_out=plan_out,
        )
    except GateFailed:
        console.print(f"[bold red]policy gate failed: nothing was {'planned' if action == 'plan' else 'applied'}[/]")
        raise
    print_run(result.gate)
    console.print(f"[green]{action} finished[/] for {', '.join(dict.fromkeys(c.stack for c in result.commands))}")
    if plan_out is not None:
        console.print(f"plans saved in {plan_out}: render them for review with `sahab diff --plan {plan_out}`")


def _run_pulumi(
    environment: str, *, action: str, layer: str | None, kubeconfig: Path | None, context: str | None, outdir: Path,
    reports: Path,
) -> None:
    from environments import load_environment
    from environments.errors import ConfigError
    from infra.cli.check_cmd import print_run
    from infra.pulumi_deploy import deploy_workloads

    env = load_environment(environment)
    if layer not in (None, "workloads"):
        raise ConfigError(f"'--engine pulumi' deploys the workloads layer only (value of '--layer': {layer!r})")
    result = deploy_workloads(env, action=action, kubeconfig=kubeconfig, context=context,  # type: ignore[arg-type]
                              outdir=outdir, reports_dir=reports)
    print_run(result.gate)
    console.print(f"[green]pulumi {'preview' if action == 'plan' else 'up'} finished[/] for {env.name}: {result.changes}")


def _announcing_runner(engine: str) -> CommandRunner:
    """The real Terraform runner, printing each command before it runs (after the gate passed)."""
    from infra.deploy import terraform_runner

    run = terraform_runner(engine)

    def announce(argv: Sequence[str], stdout: Path | None = None) -> None:
        console.print(f"[bold]$ {engine} {' '.join(argv)}[/]" + (f" > {stdout}" if stdout else ""))
        run(argv, stdout)

    return announce


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy_command)
    app.command("plan")(plan_command)

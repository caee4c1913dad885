"""``sahab bootstrap ENV``, ``sahab cost ENV``, and the cloud half of ``sahab up ENV`` / ``sahab down ENV``.

``infra.cli.local_cmd`` owns ``up`` and ``down`` and hands a cloud environment to ``cloud_up`` / ``cloud_down`` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from environments import Environment, load_environment
from infra.cli.common import console

if TYPE_CHECKING:
    from infra.cost.preview import CostPreview


def bootstrap_command(environment: Annotated[str, typer.Argument(help="The cloud environment, e.g. smb.")]) -> None:
    """Create the Terraform state backend (CMK, versioned TLS-only bucket, KMS-encrypted lock table with
    point-in-time recovery) in the environment's UAE region; a second run changes nothing and says so."""
    from infra.bootstrap import bootstrap
    from infra.deploy import find_aws_credentials

    env = load_environment(environment)
    method = find_aws_credentials()
    console.print(f"AWS credentials found ({method}); bootstrapping the state backend of {env.name} in {env.region}...")
    result = bootstrap(env)
    table = Table(title=f"State backend of {env.name} ({result.region})")
    for column in ("resource or setting", "name", "this run"):
        table.add_column(column)
    for step in result.steps:
        table.add_row(step.what, step.name, step.action if step.action == "unchanged" else f"[green]{step.action}[/]")
    console.print(table)
    console.print("[green]created or completed[/]" if result.changed else "nothing changed: the state backend is in place")


def cost_command(environment: Annotated[str, typer.Argument(help="The cloud environment, e.g. smb.")]) -> None:
    """A monthly estimate in AED and USD per layer, from the dated me-central-1 price table."""
    from environments.errors import ConfigError
    from infra.cost.preview import cost_preview
    from infra.synth import synth

    env = load_environment(environment)
    if not env.is_cloud:
        raise ConfigError(f"{env.name!r} runs on this machine: no cloud cost to estimate")
    with console.status("Synthesising (the AWS bindings import takes ~20-40 s)..."):
        stacks = synth([env]).stacks
    print_cost(cost_preview([s.path for s in stacks]), title=f"Monthly cost of {env.name} (estimate)")


def print_cost(preview: CostPreview, *, title: str) -> None:
    table = Table(title=title)
    for column, justify in (("layer", "left"), ("USD", "right"), ("AED", "right")):
        table.add_column(column, justify=justify)
    for layer in preview.layers:
        table.add_row(layer.stack, f"{layer.usd:,.0f}", f"{layer.aed:,.0f}")
    table.add_row("[bold]total[/]", f"[bold]{preview.usd:,.0f}[/]", f"[bold]{preview.aed:,.0f}[/]")
    console.print(table)
    prices = preview.prices
    for item in preview.unpriced:
        console.print(f"[yellow]unpriced:[/] {item}")
    console.print(f"[dim]Prices for {prices.region} dated {prices.date}: {prices.source}; 1 USD = {prices.aed_per_usd} AED; "
                  f"assumed storage {dict(prices.assumed_monthly_gb)} GB; usage-based charges not included.[/]")


def cloud_up(env: Environment, *, plan: bool, engine: str, outdir: Path, reports: Path) -> None:
    from infra.cloud_stack import up

    result = up(env, plan_only=plan, engine=engine, outdir=outdir, reports_dir=reports,
                say=lambda line: console.print(f"[bold]·[/] {line}", highlight=False))
    table = Table(title=f"Sahab {env.name} in {env.region}" + (" (plan: nothing applied)" if plan else ""), show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    if result.bootstrap is not None:
        b = result.bootstrap
        table.add_row("state backend", f"s3://{b.bucket} + {b.lock_table} ({b.key_alias})"
                      + (", created" if b.changed else ", in place"))
    report = result.gate.report
    table.add_row("policy gate", f"{len(report.stacks)} stacks clean ({report.passed} checks passed); {result.gate.sarif}")
    for layer in result.layers:
        table.add_row(f"layer {layer.layer}", layer.action)
    for workload in result.workloads:
        table.add_row(f"{workload.kind} {workload.name}", workload.state)
    if result.kubeconfig:
        table.add_row("kubeconfig", result.kubeconfig)
    if result.smoke is not None:
        smoke = result.smoke
        table.add_row("scored through the cluster", f"POST {smoke.url}: score {smoke.score:.4f} by {smoke.model_version} "
                      f"(variant {smoke.variant}) in {smoke.latency_ms:.0f} ms")
    table.add_row("cost per month", f"{result.cost.aed:,.0f} AED ({result.cost.usd:,.0f} USD), estimate")
    console.print(table)
    if plan:
        print_cost(result.cost, title=f"Cost preview of {env.name}")
        console.print(f"apply it with: [bold]sahab up {env.name}[/]")
    else:
        console.print(f"see the workloads with [bold]sahab status {env.name}[/]; remove it with [bold]sahab down {env.name}[/]")


def cloud_down(env: Environment, *, yes: bool, destroy_data: bool, engine: str, outdir: Path) -> None:
    from infra.cloud_stack import down
    from stacks.security import AUDIT_BUCKET

    if not yes:
        what = "every layer, data included" if destroy_data else "every layer; buckets with data and their keys stay"
        typed = typer.prompt(f"This destroys {env.name} in {env.region} ({what}). Type the environment's name to go on")
        if typed.strip() != env.name:
            console.print("[yellow]not confirmed: nothing was destroyed[/]")
            raise typer.Exit(1)
    result = down(env, destroy_data=destroy_data, engine=engine, outdir=outdir,
                  say=lambda line: console.print(f"[bold]·[/] {line}", highlight=False))
    console.print(f"[green]destroyed[/]: {', '.join(layer.layer for layer in result.layers)}")
    for kept in result.kept:
        console.print(f"[yellow]kept[/] {kept}")
    audit = env.buckets.get(AUDIT_BUCKET)
    if audit is not None and audit.object_lock_retention_days:
        console.print(f"the audit bucket is never destroyed: its object lock keeps each log {audit.object_lock_retention_days} "
                      "days from when it was written; delete it by hand after that if your regulator allows")
    console.print(f"the state backend stays (s3://{env.state_backend_names.bucket}): Terraform's record of what was destroyed")


def register(app: typer.Typer) -> None:
    app.command("bootstrap")(bootstrap_command)
    app.command("cost")(cost_command)

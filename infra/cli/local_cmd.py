"""``sahab up ENV`` and ``sahab down ENV``: the one-command SMB stack, on this machine (``local``, see
``infra.local.runner``) or in AWS (a cloud environment, handed to ``infra.cli.cloud_cmd``)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from environments import load_environment

console = Console()
EnvArgument = Annotated[str, typer.Argument(
    help="The environment: local (this machine) or a cloud one (smb, dev, ...: AWS, needs credentials).")]
EngineOption = Annotated[str, typer.Option("--engine", help="Cloud: terraform or tofu.")]
OutdirOption = Annotated[Path, typer.Option(help="Cloud: where to synthesise (cdktf layout).")]


def up_command(
    env_name: EnvArgument = "local",
    fresh: Annotated[bool, typer.Option(help="Regenerate the synthetic data even if it exists.")] = False,
    retrain: Annotated[bool, typer.Option(help="Train two new versions even if two exist.")] = False,
    traffic: Annotated[int, typer.Option(min=200, help="Transactions per traffic phase (clean, then drifted).")] = 2000,
    skip_infra: Annotated[
        bool, typer.Option("--skip-infra", help="Skip synthesising and gating the cloud environments (the local stack does not need them).")
    ] = False,
    plan: Annotated[bool, typer.Option("--plan", help="Cloud: show what would be applied and the cost preview; apply nothing.")] = False,
    engine: EngineOption = "terraform",
    outdir: OutdirOption = Path("cdktf.out"),
    reports: Annotated[Path, typer.Option(help="Cloud: where the gate writes SARIF and JUnit.")] = Path("reports"),
) -> None:
    """Locally: data, features, training, signing, serving, A/B traffic and drift report on 127.0.0.1. In AWS: the
    state backend, every layer after the policy gate, the workloads waited for; `--plan` applies nothing."""
    from infra.local.runner import LOCAL_STACK_STEPS, StackRun, check_local

    env = load_environment(env_name)
    if env.is_cloud:
        from infra.cli.cloud_cmd import cloud_up

        cloud_up(env, plan=plan, engine=engine, outdir=outdir, reports=reports)
        return
    if plan:
        from environments.errors import ConfigError

        raise ConfigError(f"'--plan' is for a cloud environment; {env.name!r} runs on this machine")
    check_local(env)
    warnings.simplefilter("ignore", DeprecationWarning)  # third-party notices would break the progress display
    outcomes: list[tuple[str, str, float]] = []
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        overall = progress.add_task("sahab up", total=len(LOCAL_STACK_STEPS))
        run = StackRun(env, environment_ref=env_name, fresh=fresh, retrain=retrain, traffic=traffic, infra=not skip_infra)
        for step in LOCAL_STACK_STEPS:
            progress.update(overall, description=step.title)
            run.say = lambda message, title=step.title: progress.update(overall, description=f"{title}: {message}")
            started = time.perf_counter()
            outcome = step.run(run)
            seconds = time.perf_counter() - started
            outcomes.append((step.title, outcome, seconds))
            progress.console.print(f"[green]✓[/] {step.title} [dim]({seconds:.1f} s)[/]: {outcome}")
            progress.advance(overall)
        progress.update(overall, description="done")
    _print_summary(run, outcomes)


def _print_summary(run, outcomes) -> None:
    server = run.facts["server"]
    table = Table(title="Sahab local stack", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    if "gate" in run.facts:
        gate = run.facts["gate"]
        table.add_row("policy gate", f"{len(gate.report.stacks)} stacks clean ({gate.report.passed} checks passed); {gate.sarif}")
    table.add_row("score", f"POST {server.url}/score")
    table.add_row("routing", f"POST {server.url}/routing")
    table.add_row("metrics", f"{server.url}/metrics")
    table.add_row("API docs", f"{server.url}/  ({server.url}/docs.json)")
    table.add_row("server", f"pid {server.pid}, log {server.log_path}")
    if "broker" in run.facts:
        table.add_row("broker", run.facts["broker"])
    if "stream" in run.facts:
        burst = run.facts["stream"]
        table.add_row("Kafka → online store", f"{burst.applied} events applied, {burst.dead_lettered} dead-lettered")
    table.add_row("model versions", ", ".join(run.facts.get("versions", [])))
    clean = run.facts["clean_traffic"]
    table.add_row("A/B split", ", ".join(f"{v}: {clean.by_variant[v]} ({clean.share(v):.1%})" for v in sorted(clean.by_variant)))
    for key, label in (("clean_drift", "drift, clean traffic"), ("drift", "drift, drifted traffic")):
        result = run.facts[key]
        verdict = f"DRIFT in {len(result.drifted_columns)} columns" if result.drifted else "no drift"
        table.add_row(label, f"{verdict}: {result.report_path}")
    table.add_row("total time", f"{sum(s for _, _, s in outcomes):.0f} s")
    console.print(table)
    console.print(f"stop everything with: [bold]sahab down {run.env.name}[/]")


def down_command(
    env_name: EnvArgument = "local",
    yes: Annotated[bool, typer.Option("--yes", help="Cloud: destroy without asking for the environment's name.")] = False,
    destroy_data: Annotated[bool, typer.Option(
        "--destroy-data", help="Cloud: also destroy the data and models buckets (emptied first) and the keys.")] = False,
    engine: EngineOption = "terraform",
    outdir: OutdirOption = Path("cdktf.out"),
) -> None:
    """Locally: stop what `sahab up` started (BentoML server, local broker), by their pids. In AWS: destroy the layers
    in reverse order, keeping what holds data unless --destroy-data (the audit bucket always stays)."""
    from infra.local.runner import down

    env = load_environment(env_name)
    if env.is_cloud:
        from infra.cli.cloud_cmd import cloud_down

        cloud_down(env, yes=yes, destroy_data=destroy_data, engine=engine, outdir=outdir)
        return
    stopped = down(env)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def register(app: typer.Typer) -> None:
    app.command("up")(up_command)
    app.command("down")(down_command)

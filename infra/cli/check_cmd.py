"""``sahab check [ENV ...|--all] [--from DIR]``: the policy gate over synthesised stacks.

Prints a per-stack summary, every failure with what to change, every skipped built-in check with
its reason, and where the SARIF and JUnit files went; exits 1 on any failure (via ``GateFailed``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from infra.cli.common import console, refuse_names_with_all, select_environments
from infra.gate.check import GateRun


def check_command(
    environments: Annotated[Optional[list[str]], typer.Argument(help="Environments to check, e.g. smb prod.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Check every cloud environment in environments/.")] = False,
    from_: Annotated[
        Optional[Path],
        typer.Option("--from", help="Check stacks already synthesised in this folder (cdktf layout) instead of synthesising."),
    ] = None,
    outdir: Annotated[Path, typer.Option(help="Where to synthesise (cdktf layout).")] = Path("cdktf.out"),
    reports: Annotated[Path, typer.Option(help="Where to write the SARIF and JUnit reports.")] = Path("reports"),
) -> None:
    """Run Checkov's AWS checks and Sahab's CKV_SAHAB policies; exit 1 on any failure."""
    from infra.gate.check import check_environments, check_targets, require_clean, synthesized_targets

    if from_ is not None:
        refuse_names_with_all(environments, all_)
        targets = synthesized_targets(from_, () if all_ else environments or ())
        with console.status(f"Checking {len(targets)} stacks with Checkov..."):
            run = check_targets(targets, reports_dir=reports)
    else:
        envs = select_environments(environments, all_)
        with console.status("Synthesising (the AWS bindings import takes ~20-40 s), then checking with Checkov..."):
            run = check_environments(envs, outdir=outdir, reports_dir=reports)
        local = [e.name for e in envs if not e.is_cloud]
        if local:
            console.print(f"[dim]{', '.join(local)}: no cloud stacks (runs on this machine), nothing to check[/]")
    print_run(run)
    require_clean(run)


def print_run(run: GateRun) -> None:
    """The console report: summary per stack, failures, skips with reasons, notes, report files."""
    report = run.report
    summary = Table(title=f"Policy gate (Checkov {report.checkov_version}, {len(report.custom_checks)} Sahab checks)")
    for column in ("stack", "passed", "failed", "result"):
        summary.add_column(column, justify="right" if column in ("passed", "failed") else "left")
    for stack in report.stacks:
        verdict = "[green]clean[/]" if stack.failed == 0 else "[bold red]FAILED[/]"
        summary.add_row(stack.name, str(stack.passed), str(stack.failed), verdict)
    console.print(summary)
    if report.failures:
        failures = Table(title="Failed checks", show_lines=True)
        for column in ("stack", "check", "resource", "what to change"):
            failures.add_column(column, overflow="fold")
        for outcome in report.failures:
            failures.add_row(outcome.stack, outcome.check_id, outcome.address, "\n".join(outcome.details) or outcome.check_name)
        console.print(failures)
    if report.skips:
        skips = Table(title="Skipped built-in checks (policies/skips.yaml)")
        skips.add_column("check")
        skips.add_column("reason", overflow="fold")
        for skip in report.skips:
            skips.add_row(skip.check_id, skip.reason)
        console.print(skips)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(
        f"{report.passed} passed, {report.failed} failed in {len(report.stacks)} stacks ({report.seconds:.1f} s); "
        f"SARIF {run.sarif}, JUnit {run.junit}"
    )


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)

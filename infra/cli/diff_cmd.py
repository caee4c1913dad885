"""``sahab diff --base REF [ENV ...|--all]``: the infrastructure change of this tree against a git ref, as a
pull-request comment (markdown) and JSON; ``sahab diff --plan FILE ...`` renders Terraform plans the same way.

Exit 0 when the head side passes the gate, 1 when it fails (after the comment is written, so CI still posts it),
2 on bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from infra.cli.common import console, select_environments


def diff_command(
    environments: Annotated[Optional[list[str]], typer.Argument(help="Environments to compare, e.g. smb prod.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every environment in environments/.")] = False,
    base: Annotated[Optional[str], typer.Option("--base", help="The git ref to compare with, e.g. origin/main.")] = None,
    plan: Annotated[
        Optional[list[Path]],
        typer.Option("--plan", help="Render Terraform plan JSON instead (`sahab plan ENV --out DIR` writes "
                                    "<stack>.plan.json files); a folder means every *.plan.json in it."),
    ] = None,
    markdown: Annotated[
        Optional[Path], typer.Option(help="Write the pull-request comment here (default: print it).")] = None,
    json_: Annotated[Optional[Path], typer.Option("--json", help="Write the report as JSON here.")] = None,
    reports: Annotated[Path, typer.Option(help="Where the head side's gate writes SARIF and JUnit.")] = Path("reports"),
) -> None:
    """Show what this tree changes in the infrastructure against --base: resources, replacements, moves, the
    policy delta and the monthly cost delta."""
    from environments.errors import ConfigError, GateFailed
    from infra.diff.render import render_json, render_markdown

    if plan:
        if base or environments or all_:
            raise ConfigError("--plan renders Terraform plans as they are: pass no --base, environment or --all with it")
        from infra.diff.plan_json import read_plans

        report = read_plans(plan)
    else:
        if base is None:
            raise ConfigError(
                "name the git ref to compare with: --base origin/main (or --plan FILE for a Terraform plan)")
        envs = select_environments(environments, all_)
        from infra.diff.run import diff

        with console.status(f"Synthesising and gating {base} (in a temporary worktree) and this tree..."):
            report = diff(base, envs, reports_dir=reports)
    text = render_markdown(report)
    if markdown is None:
        typer.echo(text)
    else:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text)
    if json_ is not None:
        json_.parent.mkdir(parents=True, exist_ok=True)
        json_.write_text(render_json(report))
    typer.echo(report.verdict(), err=True)
    if report.gate_failed:
        raise GateFailed(f"the policy gate fails on this tree ({report.policy.head_failures} failures): see the comment"
                         f" or `sahab check`; reports in {reports}")  # type: ignore[union-attr]


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_command)

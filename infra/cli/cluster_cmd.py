"""``sahab status ENV``: what the environment's workloads are doing on its cluster (kubernetes client)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from infra.cli.common import console


def status_command(
    environment: Annotated[str, typer.Argument(help="A cloud environment, e.g. smb.")],
    kubeconfig: Annotated[Optional[Path], typer.Option(help="Kubeconfig. Default: $KUBECONFIG or ~/.kube/config.")] = None,
    context: Annotated[Optional[str], typer.Option(help="Kubeconfig context. Default: its current one.")] = None,
) -> None:
    """Readiness, images and last runs of every workload, marking what differs from the environment's spec."""
    from environments import load_environment
    from environments.errors import ConfigError
    from infra.cluster import connect, workload_status

    env = load_environment(environment)
    if not env.is_cloud:
        raise ConfigError(f"{env.name!r} runs on this machine: see `sahab serve status --env {env.name}`")
    states = workload_status(env, connect(kubeconfig, context))
    table = Table(title=f"{env.name}: workloads in namespace {env.workloads.namespace}")
    for column in ("kind", "name", "state", "images", "spec"):
        table.add_column(column)
    for state in states:
        table.add_row(state.kind, state.name, state.state, "\n".join(state.images) or "-",
                      "[green]as rendered[/]" if state.matches_spec else "[yellow]differs[/]")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)

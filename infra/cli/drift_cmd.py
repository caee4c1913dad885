"""``sahab drift``: PSI and KS of served traffic against the training reference, an HTML report, exit 3 on drift.

Exit codes: 0 no drift, 3 drift (a threshold of ``env.drift`` was crossed: the hook for retrain or
rollback), 2 too little traffic or a bad flag, 1 a failed command.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from environments import load_environment
from environments.errors import ConfigError

console = Console()


def drift_command(
    env_name: Annotated[str, typer.Option("--env", help="Environment name or a YAML path.")] = "local",
    since: Annotated[Optional[str], typer.Option(help="Only predictions at or after this ISO time (UTC if no zone).")] = None,
    last_minutes: Annotated[Optional[float], typer.Option(min=0.01, help="Only the last N minutes of predictions.")] = None,
    report: Annotated[Optional[str], typer.Option(help="Report path. Default: <data>/reports/drift-<time>.html.")] = None,
) -> None:
    """Compare logged predictions with the training reference; exit 3 when drift is detected."""
    env = load_environment(env_name)
    start = _window_start(since, last_minutes)
    from pathlib import Path

    from bento_services.drift import check_drift

    with console.status("Computing PSI and KS against the training reference..."):
        result = check_drift(env, since=start, report_path=Path(report) if report else None)
    table = Table(title=f"drift: {result.current_rows} predictions vs {result.reference_rows} training rows")
    for column in ("column", "PSI", "KS stat", "KS p", "verdict"):
        table.add_column(column)
    for c in result.columns:
        table.add_row(
            c.name, f"{c.psi:.3f}", "-" if c.ks_statistic is None else f"{c.ks_statistic:.3f}",
            "-" if c.ks_pvalue is None else f"{c.ks_pvalue:.2g}",
            "[bold red]DRIFT[/]" if c.drifted else "[yellow]skew (not gating)[/]" if c.crossed else "stable",
        )
    console.print(table)
    console.print(f"report: {result.report_path}")
    result.raise_if_drifted()
    console.print("[green]no drift[/]")


def _window_start(since: str | None, last_minutes: float | None) -> datetime | None:
    if since and last_minutes:
        raise ConfigError("give either --since or --last-minutes, not both")
    if last_minutes:
        return datetime.now(UTC) - timedelta(minutes=last_minutes)
    if since:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise ConfigError(f"'--since' must be an ISO time such as 2026-11-23T10:00:00Z (value: {since!r})") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def register(app: typer.Typer) -> None:
    app.command("drift")(drift_command)

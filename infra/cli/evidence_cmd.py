"""``sahab evidence ENV``: the compliance evidence pack (HTML and JSON) of one cloud environment.

Synthesises the environment, runs the gate, reads the egress test's last result and writes
``<out>/evidence-<env>.html`` and ``.json``; prints one line per control. Exit 0 when every control row holds and
the residency statement is true, 1 otherwise (after the files are written, so a red pack can still be read),
2 for a local environment or bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from infra.cli.common import console, select_environments


def evidence_command(
    environment: Annotated[str, typer.Argument(help="The cloud environment, e.g. prod.")],
    out: Annotated[Path, typer.Option(help="Where to write evidence-<env>.html and .json.")] = Path("reports"),
    tests_junit: Annotated[
        Path, typer.Option(help="The pytest JUnit file with the egress test's last result (`make test` writes it).")
    ] = Path("reports/pytest.junit.xml"),
    outdir: Annotated[Path, typer.Option(help="Where to synthesise (cdktf layout).")] = Path("cdktf.out"),
) -> None:
    """Map UAE PDPL and ISO/IEC 27001 controls to this environment's resources, checks and results."""
    from environments.errors import GateFailed
    from infra.evidence.build import collect
    from infra.evidence.render_html import write_pack

    (env,) = select_environments([environment], False)
    with console.status("Synthesising (the AWS bindings import takes ~20-40 s), then checking with Checkov..."):
        pack = collect(env, outdir=outdir, reports_dir=out, tests_junit=tests_junit)
    html_path, json_path = write_pack(pack, out)

    table = Table(title=f"Evidence pack: {env.name} ({pack.header.commit[:12]}{', dirty' if pack.header.dirty else ''})")
    for column in ("control", "status", "resources", "checks passed on them", "why red"):
        table.add_column(column, overflow="fold", no_wrap=column == "control")
    for row in pack.controls:
        proving = sum(1 for c in row.checks if c.passed_on_resources)
        table.add_row(
            row.control_id, "[green]PASS[/]" if row.status == "pass" else "[bold red]FAIL[/]", str(len(row.resources)),
            f"{proving} of {len(row.checks)}", "\n".join(row.reasons),
        )
    console.print(table)
    residency = pack.residency
    console.print(("[green]" if residency.status == "pass" else "[bold red]") + "residency:[/] ", residency.statement,
                  highlight=False)
    console.print(f"egress test: {pack.egress.state} ({pack.egress.note})", highlight=False)
    console.print(f"HTML {html_path}\nJSON {json_path}", highlight=False)
    if not pack.ok:
        raise GateFailed(f"evidence pack of {env.name}: {len(pack.red)} red: {', '.join(pack.red)}; see {html_path}")


def register(app: typer.Typer) -> None:
    app.command("evidence")(evidence_command)

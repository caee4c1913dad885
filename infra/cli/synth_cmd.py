"""``sahab synth [ENV ...|--all]``: write Terraform JSON for environments and print what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from infra.cli.common import console, select_environments


def synth_command(
    environments: Annotated[Optional[list[str]], typer.Argument(help="Environments to synthesise, e.g. smb prod.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Synthesise every environment in environments/.")] = False,
    outdir: Annotated[Path, typer.Option(help="Output folder (cdktf layout).")] = Path("cdktf.out"),
) -> None:
    """Synthesise environments into cdktf.out/stacks/<env>-<layer>/cdk.tf.json, and render their workloads into
    cdktf.out/manifests/<env>/workloads.yaml."""
    envs = select_environments(environments, all_)  # bad config: exit 2 before the slow import, nothing written
    from infra.synth import synth

    with console.status("Synthesising (importing the AWS provider bindings takes ~20-40 s)..."):
        result = synth(envs, outdir)
    table = Table(title=f"Synthesised stacks → {result.outdir}/stacks")
    for column in ("stack", "layer", "resources", "file"):
        table.add_column(column, justify="right" if column == "resources" else "left")
    for stack in result.stacks:
        table.add_row(stack.name, stack.layer, str(stack.resource_count), str(stack.path.relative_to(result.outdir)))
    for manifests in result.manifests:
        table.add_row(manifests.name, "workloads", f"{manifests.object_count} objects",
                      str(manifests.path.relative_to(result.outdir)))
    for name in result.local_only:
        table.add_row(name, "-", "0", "no cloud stacks: runs on this machine (sahab up local)")
    console.print(table)
    console.print(
        f"{len(result.stacks)} stacks, {sum(s.resource_count for s in result.stacks)} resources; "
        f"import {result.seconds_import:.1f} s, synth {result.seconds_synth:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth_command)

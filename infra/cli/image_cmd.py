"""``sahab image build ENV``: the build contexts of the workloads' images and the list CI builds and pushes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from infra.cli.common import console

image_app = typer.Typer(help="Container images of the workloads: build contexts for CI.", no_args_is_help=True)


@image_app.command("build")
def build_command(
    environment: Annotated[str, typer.Argument(help="A cloud environment, e.g. smb.")],
    outdir: Annotated[Optional[Path], typer.Option(help="Where the contexts go. Default: build/images/<env>.")] = None,
) -> None:
    """Build the scoring bento and the jobs context; no container engine needed (CI builds and pushes)."""
    from environments import load_environment
    from infra.images import IMAGES_FILE, build_images

    env = load_environment(environment)
    target = outdir or Path("build") / "images" / env.name
    with console.status("Building image contexts (bentoml build)...") as status:
        contexts = build_images(env, target, say=status.update)
    table = Table(title=f"Image contexts for {env.name} → {target / IMAGES_FILE}")
    for column in ("repository", "pushes as", "context", "Dockerfile"):
        table.add_column(column)
    for context in contexts:
        table.add_row(context.repository, "\n".join(context.images), context.context, context.dockerfile)
    console.print(table)
    console.print("No container engine runs here: `docker build -f <Dockerfile> <context>` and push each image "
                  "(the images workflow does it in CI).")


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")

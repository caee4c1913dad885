"""Entry point of the ``sahab`` command.

Each command group lives in its own module with a ``register(app)`` function, so the CLI stays a
thin adapter: commands parse flags, call library functions that return values, and render them
with rich. Library errors (``SahabError``) become exit codes here and only here:
2 bad config or usage, 1 a failed gate or command, 3 a crossed drift threshold.
Heavy imports (the AWS bindings, torch, Feast) happen inside commands, never at import time.
"""

from __future__ import annotations

import importlib

import typer
from rich.console import Console

from environments.errors import SahabError

#: Command modules, each exposing ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "infra.cli.synth_cmd",
    "infra.cli.check_cmd",
    "infra.cli.evidence_cmd",
    "infra.cli.diff_cmd",
    "infra.cli.deploy_cmd",
    "infra.cli.ml_cmd",
    "infra.cli.privacy_cmd",
    "infra.cli.stream_cmd",
    "infra.cli.models_cmd",
    "infra.cli.serve_cmd",
    "infra.cli.drift_cmd",
    "infra.cli.local_cmd",
    "infra.cli.cloud_cmd",
    "infra.cli.cluster_cmd",
    "infra.cli.image_cmd",
)

app = typer.Typer(
    name="sahab",
    help="Sahab: a UAE-resident AI/ML platform. Synthesise, check and deploy the infrastructure; "
    "train, sign and serve models; run the whole SMB stack locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

@app.callback()
def _root() -> None:
    """Keep ``sahab`` a command group even while only one command is registered."""

for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)

err_console = Console(stderr=True)

def main() -> None:
    """Run the CLI, turning library errors into one clear message and the documented exit code."""
    try:
        app()
    except SahabError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(exc.exit_code) from None

if __name__ == "__main__":
    main()

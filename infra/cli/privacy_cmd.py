"""``sahab data erase`` and ``sahab data prune``: personal data on request and by the clock (``infra.privacy``).

The raw customer id is read once, from ``--customer`` or, better, from a hidden prompt (an option lands in the
shell's history and the process list), turned into the pseudonym, and neither printed nor recorded.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Optional

import typer
from rich.table import Table

from environments import load_environment
from infra.cli.common import console
from infra.cli.ml_cmd import EnvOption, OutputsOption, cloud_settings_option, data_app


def register(_app: typer.Typer) -> None:
    """The commands join ``sahab data`` (``infra.cli.ml_cmd``)."""
    data_app.command("erase")(erase_command)
    data_app.command("prune")(prune_command)


def erase_command(
    env_name: EnvOption = "local",
    customer: Annotated[Optional[str], typer.Option(
        "--customer", help="The raw customer id. Default: asked without echo (keeps it out of the shell history).")] = None,
    reference: Annotated[Optional[str], typer.Option(help="The request's ticket or case number, for the record.")] = None,
    requested_by: Annotated[Optional[str], typer.Option(help="Who asked. Default: this machine's user name.")] = None,
    wait: Annotated[float, typer.Option(min=0, help="Cloud: seconds to wait for the running ingestor to read the "
                                        "erasure requests.")] = 60.0,
    outputs: OutputsOption = None,
) -> None:
    """Erase one customer from every store (stream state, online, offline, prediction log) and record it."""
    from infra.privacy.erasure import erase_customer

    env = load_environment(env_name)
    settings = cloud_settings_option(env, outputs)
    raw = customer if customer is not None else typer.prompt("customer id", hide_input=True)
    with console.status("erasing") as status:
        record, audit = erase_customer(env, raw.strip(), requested_by=requested_by or getpass.getuser(), reference=reference,
                                       cloud=settings, stream_wait_s=wait, say=lambda step: status.update(f"erasing: {step}"))
    table = Table(title=f"Erasure {record.record_id} in '{env.name}' (pseudonym {record.pseudonym})")
    for column in ("store", "removed", "state", "detail"):
        table.add_column(column, overflow="fold")
    for store in record.stores:
        table.add_row(store.store, str(store.removed), "pending" if store.pending else "done", store.detail)
    console.print(table)
    versions = ", ".join(record.models_trained_before) or "none"
    console.print(f"model versions trained before this erasure (their training data held the customer): {versions}")
    console.print(f"recorded in {audit}" + ("" if record.complete else "; some stores are pending (see above)"))


def prune_command(env_name: EnvOption = "local", outputs: OutputsOption = None) -> None:
    """Remove personal data older than the environment's 'privacy' retention (run it daily, e.g. from cron)."""
    from infra.privacy.retention import prune

    env = load_environment(env_name)
    stores, audit = prune(env, requested_by=getpass.getuser(), cloud=cloud_settings_option(env, outputs))
    for store in stores:
        console.print(f"{store.store}: {store.removed} removed ({store.detail})")
    console.print(f"recorded in {audit}")

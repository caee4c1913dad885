"""``sahab data generate``, ``sahab features apply|materialize`` and ``sahab train``: the ML plane's data side.

Thin adapters over ``training.data.offline``, ``features.store`` and ``training.pipeline``: parse
flags, call the library, render with rich. torch and Feast are imported inside the commands so that
``sahab --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from environments import Environment, load_environment
from environments.errors import ConfigError

if TYPE_CHECKING:
    from features.store import CloudStoreSettings

console = Console()
data_app = typer.Typer(help="The offline store's data: generate it; erase a customer, prune by retention (personal data).", no_args_is_help=True)
features_app = typer.Typer(help="The Feast feature repository: register it, load the online store.", no_args_is_help=True)

EnvOption = Annotated[str, typer.Option("--env", help="Environment name (environments/<env>.yaml) or a YAML path.")]
OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--outputs",
        help="Cloud only: JSON of the data stack's outputs ('terraform output -json'), for the bucket and "
        "Redis endpoint. Default: SAHAB_DATA_BUCKET and SAHAB_ONLINE_STORE_ENDPOINT from the environment.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
    app.add_typer(features_app, name="features")
    app.command("train")(train_command)


@data_app.command("generate")
def generate_command(
    env_name: EnvOption = "local",
    drift: Annotated[
        bool, typer.Option("--drift", help="Write a drifted set (transactions_drift.parquet) for the drift monitor instead.")
    ] = False,
) -> None:
    """Generate the seeded transaction history (sizes from the environment's 'data') into the offline store."""
    env = load_environment(env_name)
    _require_local(env, "sahab data generate")
    from training.data.offline import write_drift_transactions, write_offline_store

    if drift:
        path, count = write_drift_transactions(env)
        console.print(f"wrote {count} drifted transactions to {path}")
        return
    with console.status("generating transactions") as status:
        dataset = write_offline_store(env, progress=lambda message: status.update(message))
    table = Table(title=f"Offline store of '{env.name}' ({dataset.start:%Y-%m-%d} to {dataset.end:%Y-%m-%d}, UTC)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("path", overflow="fold")
    table.add_row("transactions (labelled)", str(dataset.transactions), str(dataset.transactions_path))
    table.add_row("customer_transactions", str(dataset.customer_rows), str(dataset.customer_features_path))
    table.add_row("merchant_risk", str(dataset.merchant_rows), str(dataset.merchant_features_path))
    console.print(table)
    console.print(f"fraud rate: {dataset.positive_rate:.2%} ({dataset.positives} of {dataset.transactions})")


@features_app.command("apply")
def apply_command(env_name: EnvOption = "local", outputs: OutputsOption = None) -> None:
    """Render feature_store.yaml for the environment and register entities, views and the feature service."""
    env = load_environment(env_name)
    cloud = cloud_settings_option(env, outputs)
    from features.store import apply, feature_repo_dir

    with console.status("applying the feature repository"):
        applied = apply(env, cloud)
    console.print(
        f"project [bold]{applied.project}[/]: entities {', '.join(applied.entities)}; feature views "
        f"{', '.join(applied.feature_views)}; feature services {', '.join(applied.feature_services)}"
    )
    console.print(f"offline store: {applied.offline_uri}; repository: {feature_repo_dir(env)}")


@features_app.command("materialize")
def materialize_command(
    env_name: EnvOption = "local",
    start: Annotated[datetime | None, typer.Option(help="From (UTC). Default: 2000-01-01.")] = None,
    end: Annotated[datetime | None, typer.Option(help="Until (UTC). Default: now.")] = None,
    outputs: OutputsOption = None,
) -> None:
    """Load the latest feature values from the offline store into the online store."""
    env = load_environment(env_name)
    cloud = cloud_settings_option(env, outputs)
    from features.store import materialize

    with console.status("materialising features into the online store"):
        loaded = materialize(env, start=_utc(start), end=_utc(end), cloud=cloud)
    console.print(f"materialised {', '.join(loaded.feature_views)} from {loaded.start:%Y-%m-%d} to {loaded.end:%Y-%m-%d %H:%M} UTC")


def train_command(
    env_name: EnvOption = "local",
    nproc: Annotated[int | None, typer.Option("--nproc", min=1, help="Processes (torchrun when > 1). Default: training.nproc.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu or cuda. Default: training.device.")] = None,
    register_version: Annotated[
        bool, typer.Option("--register/--no-register", help="Sign and register the model version. Default: register.")
    ] = True,
    remote: Annotated[bool, typer.Option(
        "--remote", help="Run the environment's training Job on its cluster and follow it (cloud environments).")] = False,
    kubeconfig: Annotated[Optional[Path], typer.Option(help="--remote: kubeconfig. Default: $KUBECONFIG or ~/.kube/config.")] = None,
    context: Annotated[Optional[str], typer.Option(help="--remote: kubeconfig context. Default: its current one.")] = None,
) -> None:
    """Train the fraud model from Feast, export ONNX + int8, print the metrics and register a signed version."""
    if device is not None and device not in ("cpu", "cuda"):
        raise ConfigError(f"'--device' must be cpu or cuda (value: {device!r})")
    env = load_environment(env_name)
    if remote:
        _train_remote(env, nproc=nproc, device=device, kubeconfig=kubeconfig, context=context)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from training.pipeline import require_device, train

    require_device(device or env.training.device, nproc or env.training.nproc)

    epochs = env.training.epochs
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("training", total=epochs)

        def on_epoch(report: Any) -> None:
            progress.update(
                task, completed=report.epoch,
                description=f"epoch {report.epoch}/{report.epochs}: early-stopping PR-AUC "
                f"{report.early_stopping_pr_auc:.3f} (best epoch {report.best_epoch}), validation PR-AUC "
                f"{report.validation_pr_auc:.3f}",
            )

        result = train(env, nproc=nproc, device=device, register=register_version,
                       on_stage=lambda message: progress.console.log(message), on_epoch=on_epoch)
    console.print(metrics_table(result.metrics))
    console.print(f"[bold]{result.metrics['report']}[/]")
    if result.version is not None:
        console.print(f"registered version [bold]{result.version.version_id}[/] at {result.version.location}")
    else:
        console.print(f"export (not registered): {result.export_dir}")


def _train_remote(env: Environment, *, nproc: int | None, device: str | None, kubeconfig: Path | None, context: str | None) -> None:
    """The cluster's training Job, resumed or copied, followed to its end; exit 1 when it failed."""
    from environments.errors import CommandFailed
    from infra.cluster import connect, run_training

    if not env.is_cloud:
        raise ConfigError(f"'--remote' trains on a cluster, but environment {env.name!r} targets {env.target.value}")
    if nproc is not None or device is not None:
        raise ConfigError("'--nproc' and '--device' of a remote run come from 'workloads.training' in the environment file")
    api = connect(kubeconfig, context)
    run = run_training(env, api, say=lambda line: console.print(line, markup=False, highlight=False))
    if not run.succeeded:
        raise CommandFailed(f"the training Job {env.workloads.namespace}/{run.job} {run.detail}")
    console.print(f"[green]training Job {env.workloads.namespace}/{run.job} succeeded[/]")


def metrics_table(metrics: dict[str, Any]) -> Table:
    """The headline metrics of a training run, on the held-out window."""
    from training.export import INT8_PR_AUC_TOLERANCE, PARITY_TOLERANCE

    onnx, training = metrics["onnx"], metrics["training"]
    table = Table(title=f"Held-out window from {metrics['validation_start'][:16]} UTC "
                  f"({metrics['validation_rows']} transactions, {metrics['validation_positives']} fraud)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("note")
    low, high = metrics["pr_auc_interval_95"]
    ceiling, share = metrics["ceiling_pr_auc"], metrics["share_of_ceiling"]
    boosted = metrics["gradient_boosted_pr_auc"]
    rows = [
        ("PR-AUC", f"{metrics['pr_auc']:.4f}", f"95% interval {low:.3f}-{high:.3f}; {metrics['pr_auc_lift_over_baseline']:.1f}x "
         f"the random baseline {metrics['baseline_pr_auc']:.4f}"),
        ("gradient-boosted PR-AUC", "-" if boosted is None else f"{boosted:.4f}", "same inputs and rows (scikit-learn)"),
        ("ceiling PR-AUC", "-" if ceiling is None else f"{ceiling:.4f}",
         "the data has no true probability" if share is None else f"the data's true probability; model at {share:.0%}"),
        ("ROC-AUC", f"{metrics['roc_auc']:.4f}", ""),
        ("ECE", f"{metrics['ece']:.4f}", "calibration, 10 bins"),
        ("Brier score", f"{metrics['brier_score']:.4f}", ""),
        ("positive rate", f"{metrics['positive_rate']:.4f}", f"mean predicted {metrics['mean_probability']:.4f}"),
        ("ONNX parity", f"{onnx['parity_max_abs_diff']:.2e}", f"max abs diff vs torch (gate {PARITY_TOLERANCE:g})"),
        ("int8 PR-AUC", f"{onnx['int8_pr_auc']:.4f}",
         f"delta {onnx['int8_pr_auc_delta']:+.4f} (gate {INT8_PR_AUC_TOLERANCE:g})"),
        ("samples/s", f"{training['samples_per_second']:.0f}" if training["samples_per_second"] else "-",
         f"{training['nproc']} {training['device']} process(es)"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _require_local(env: Environment, command: str) -> None:
    if env.is_cloud:
        raise ConfigError(
            f"'{command}' writes synthetic data to the local offline store; '{env.name}' is a cloud environment "
            "(load its offline store from your real transactions)"
        )


def cloud_settings_option(env: Environment, outputs: Path | None) -> CloudStoreSettings | None:
    if not env.is_cloud:
        if outputs is not None:
            raise ConfigError(f"'--outputs' is for cloud environments; '{env.name}' is local")
        return None
    from features.store import CloudStoreSettings

    if outputs is None:
        return CloudStoreSettings.from_environ()
    try:
        return CloudStoreSettings.from_outputs(json.loads(outputs.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"'--outputs' must be a readable JSON file of stack outputs ({exc})") from None


def _utc(moment: datetime | None) -> datetime | None:
    """typer parses naive datetimes; the flags are documented as UTC."""
    from datetime import UTC

    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)

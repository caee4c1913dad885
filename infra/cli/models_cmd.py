"""``sahab models list|show``: the registered model versions of an environment.

A thin adapter over ``training.registry``: ``list`` reads the manifests in the artifact store;
``show`` resolves one version into ``<data>/models``, verifies its signature and every digest, and
prints what was verified. A failed check exits 1 with the name of the check.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from environments import load_environment

if TYPE_CHECKING:
    from training.registry import ModelVersion
    from training.verification import VerifiedModel

console = Console()
models_app = typer.Typer(help="Signed model versions: list them, show and verify one.", no_args_is_help=True)

EnvOption = Annotated[str, typer.Option("--env", help="Environment name (environments/<env>.yaml) or a YAML path.")]
SHOWN_METRICS = 3
#: Shown first in the list when present; the rest follow by name.
PREFERRED_METRICS: tuple[str, ...] = ("pr_auc", "roc_auc", "brier_score", "ece")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def _headline_metrics(metrics: dict[str, Any]) -> str:
    """The first few top-level numeric metrics, one per line, e.g. ``pr_auc=0.412``."""
    numeric = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    numeric.sort(key=lambda kv: (PREFERRED_METRICS.index(kv[0]) if kv[0] in PREFERRED_METRICS else len(PREFERRED_METRICS), kv[0]))
    return "\n".join(f"{k}={v:.4g}" for k, v in numeric[:SHOWN_METRICS])


def _flatten(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in sorted(metrics.items()):
        name = f"{prefix}{key}"
        rows.extend(_flatten(value, f"{name}.") if isinstance(value, dict) else [(name, value)])
    return rows


def _versions_table(versions: list[ModelVersion]) -> Table:
    markers = {v.version_id: m for v, m in zip(reversed(versions), ("latest", "previous"), strict=False)}
    table = Table(title="Model versions, oldest first; ids start with the UTC creation time")
    table.add_column("version", no_wrap=True)
    table.add_column("feature service", overflow="fold")
    table.add_column("metrics", no_wrap=True)
    table.add_column("git")
    for version in versions:
        marker = markers.get(version.version_id)
        label = version.version_id + (f"\n[green]{marker}[/]" if marker else "")
        manifest = version.manifest
        if manifest is None:
            table.add_row(label, "-", f"[red]unreadable manifest: {version.manifest_problem}[/]", "-")
            continue
        commit = manifest.git.commit[:8] + ("*" if manifest.git.dirty else "")
        table.add_row(
            label, manifest.feature_service,
            _headline_metrics(manifest.metrics), commit,
        )
    return table


@models_app.command("list")
def list_command(env_name: EnvOption = "local") -> None:
    """List the versions in the environment's artifact store, with their headline metrics."""
    env = load_environment(env_name)
    from training.artifact_store import artifact_store_for
    from training.registry import list_versions

    versions = list_versions(env)
    if not versions:
        console.print(f"no model versions in {artifact_store_for(env).uri('')} yet: register one with `sahab train`")
        return
    console.print(_versions_table(versions))


def _summary_table(verified: VerifiedModel, *, location: str, bentoml_tag: str) -> Table:
    manifest, signature = verified.manifest, verified.signature
    table = Table(title=f"Model version {manifest.version_id} (signature and {len(manifest.artifacts)} digests verified)",
                  show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field, value in (
        ("created (UTC)", f"{manifest.created_at:%Y-%m-%d %H:%M:%S.%f}"),
        ("environment", manifest.environment),
        ("feature service", manifest.feature_service),
        ("features", ", ".join(manifest.features)),
        ("data snapshot sha256", manifest.data_snapshot_sha256),
        ("git commit", manifest.git.commit + (" (uncommitted changes)" if manifest.git.dirty else "")),
        ("signed by", f"{signature.key_id} ({signature.algorithm})"),
        ("local folder", str(verified.path)),
        ("artifact store", location),
        ("BentoML tag", bentoml_tag),
    ):
        table.add_row(field, value)
    return table


@models_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="A version id, 'latest' or 'previous'.")] = "latest",
    env_name: EnvOption = "local",
    as_json: Annotated[bool, typer.Option("--json", help="Print the verified manifest as JSON instead of tables.")] = False,
) -> None:
    """Fetch one version if needed, verify its signature and digests, and show its manifest."""
    env = load_environment(env_name)
    from training.bento_model_store import bentoml_tag
    from training.registry import load_verified, resolve_version
    from training.signing import verifier_for

    version = resolve_version(env, ref)
    verified = load_verified(version.path, verifier_for(env))
    manifest = verified.manifest
    if as_json:
        document = {
            "manifest": manifest.model_dump(mode="json"),
            "verified": True,
            "signature": {"algorithm": verified.signature.algorithm, "key_id": verified.signature.key_id},
            "path": str(verified.path),
            "location": version.location,
        }
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    console.print(_summary_table(verified, location=version.location, bentoml_tag=bentoml_tag(env, manifest.version_id)))
    artifacts = Table(title="Artifacts")
    for column in ("file", "bytes", "sha256"):
        artifacts.add_column(column, justify="right" if column == "bytes" else "left")
    for name, digest in sorted(manifest.artifacts.items()):
        artifacts.add_row(name, f"{digest.size_bytes:,}", digest.sha256)
    console.print(artifacts)
    metrics = Table(title="Metrics")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for name, value in _flatten(manifest.metrics):
        metrics.add_row(name, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(metrics)
    console.print("libraries: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.library_versions.items())))

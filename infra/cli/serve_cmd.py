"""``sahab serve ...``: start and stop the fraud-scoring server, show and shift its traffic weights.

Weights change at run time through ``<data>/run/weights.json`` (see ``bento_services.weights_file``):
every server worker re-reads it before the next batch, so ``sahab serve weights a=0.9 b=0.1`` takes
effect without a restart, and the canary's automatic rollback is visible here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from environments import Environment, load_environment
from environments.errors import ConfigError

if TYPE_CHECKING:
    from bento_services.weights_file import WeightsState, WeightsStore

console = Console()
serve_app = typer.Typer(help="The fraud-scoring BentoML server: start, stop, status, traffic weights.",
                        no_args_is_help=True)

EnvOption = Annotated[str, typer.Option("--env", help="Environment name (environments/<env>.yaml) or a YAML path.")]


@serve_app.command("start")
def start_command(
    env_name: EnvOption = "local",
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Port on 127.0.0.1. Default: serving.port.")] = None,
) -> None:
    """Start the server in the background (pid file under <data>/run); a running one is left as it is."""
    env = load_environment(env_name)
    from bento_services.server_process import start_server

    with console.status(f"Starting BentoML for {env.name!r} (verifying model signatures)..."):
        record = start_server(env, environment_ref=env_name, port=port)
    console.print(f"serving on [bold]{record.url}[/] (pid {record.pid}; log {record.log_path})")


@serve_app.command("stop")
def stop_command(env_name: EnvOption = "local") -> None:
    """Stop the server that `sahab serve start` or `sahab up` started, by its pid."""
    env = load_environment(env_name)
    from bento_services.server_process import stop_server

    console.print("stopped" if stop_server(env) else "no server was running")


@serve_app.command("status")
def status_command(env_name: EnvOption = "local") -> None:
    """Whether the server runs, and the weights in force (file or environment) with any rollbacks."""
    env = load_environment(env_name)
    from bento_services.server_process import running_server

    from bento_services.fraud_scoring.assembly import weights_file_for

    record = running_server(env)
    console.print(f"server: {record.url} (pid {record.pid})" if record else "server: not running")
    _print_weights(env, weights_file_for(env).read())


@serve_app.command("weights")
def weights_command(
    pairs: Annotated[Optional[list[str]], typer.Argument(help="VARIANT=WEIGHT for every variant, e.g. a=0.9 b=0.1.")] = None,
    env_name: EnvOption = "local",
    reset: Annotated[bool, typer.Option(help="Forget run-time weights and rollbacks: back to the environment file.")] = False,
    kubeconfig: Annotated[Optional[Path], typer.Option(help="Cloud environments: kubeconfig. Default: $KUBECONFIG or ~/.kube/config.")] = None,
    context: Annotated[Optional[str], typer.Option(help="Cloud environments: kubeconfig context.")] = None,
) -> None:
    """Set the live traffic weights (no restart); with no pairs, show them. Locally the weights file under
    <data>/run; in a cloud environment the ConfigMap every scoring pod mounts."""
    env = load_environment(env_name)
    from bento_services.weights_file import WeightsState, parse_weight_pairs, validate_weights

    if reset and pairs:
        raise ConfigError("give either VARIANT=WEIGHT pairs or --reset, not both")
    store = _weights_store(env, kubeconfig, context)
    if reset:
        console.print("weights reset to the environment file" if store.remove() else "no run-time weights were set")
    elif pairs:
        weights = validate_weights(parse_weight_pairs(pairs), [v.name for v in env.serving.variants],
                                   shadow=env.serving.shadow_variant)
        store.write(WeightsState(weights=weights, reason="sahab serve weights"))
        console.print(f"weights set: {', '.join(f'{k}={v:g}' for k, v in weights.items())} ({store.where})")
        if env.is_cloud:
            console.print("every scoring pod picks them up within the kubelet's sync period (about a minute)")
    _print_weights(env, store.read())


def _weights_store(env: Environment, kubeconfig: Path | None, context: str | None) -> WeightsStore:
    """Where the live weights live: the local weights file, or the cluster's ConfigMap."""
    if not env.is_cloud:
        from bento_services.fraud_scoring.assembly import weights_file_for

        return weights_file_for(env)
    from infra.cluster import ClusterWeights, connect

    return ClusterWeights(env, connect(kubeconfig, context))


def _print_weights(env: Environment, state: WeightsState | None) -> None:
    table = Table(title=f"traffic weights ({'run-time' if state else 'environment file'})")
    for column in ("variant", "model version", "weight", "role"):
        table.add_column(column)
    weights = state.weights if state else {v.name: v.weight for v in env.serving.variants}
    canary = env.serving.canary.variant if env.serving.canary else None
    for variant in env.serving.variants:
        role = "shadow" if variant.name == env.serving.shadow_variant else "canary" if variant.name == canary else ""
        if state and variant.name in state.rolled_back:
            role = f"canary, ROLLED BACK: {state.rolled_back[variant.name]}"
        table.add_row(variant.name, variant.model_version, f"{weights.get(variant.name, 0.0):g}", role)
    console.print(table)


token_app = typer.Typer(help="API tokens of the service (serving.auth: bearer), stored hashed.", no_args_is_help=True)
serve_app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create_command(
    name: Annotated[str, typer.Option(help="Who the token is for, e.g. checkout-gateway (for revoking it later).")],
    env_name: EnvOption = "local",
) -> None:
    """Make a token and store its SHA-256 (a local file, or the cloud environment's Secrets Manager secret, which
    the service reads again within a minute); the token is printed once, keep it."""
    from bento_services.serving_secrets import create_cloud_token, create_local_token

    env = load_environment(env_name)
    token = create_cloud_token(env, name) if env.is_cloud else create_local_token(env, name)
    console.print(f"token {name!r} created; send it as 'Authorization: Bearer <token>'. It is shown only now:")
    print(token)


@token_app.command("revoke")
def token_revoke_command(
    name: Annotated[str, typer.Option(help="The token's name.")],
    env_name: EnvOption = "local",
) -> None:
    """Remove a token's digest; the running service refuses it from its next request on (in the cloud: from its next
    read of the secret, within a minute)."""
    from bento_services.serving_secrets import revoke_cloud_token, revoke_local_token

    env = load_environment(env_name)
    (revoke_cloud_token if env.is_cloud else revoke_local_token)(env, name)
    console.print(f"token {name!r} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(serve_app, name="serve")

"""``sahab up local`` / ``sahab down``: the whole SMB stack on this machine, in one command.

``up`` runs ``LOCAL_STACK_STEPS`` in order, each a small function of a ``StackRun`` that returns a
one-line outcome, and ends with a summary (URLs, traffic split, drift verdicts, report paths).
Every step is safe to repeat, so running ``up`` twice is safe:

| step                 | first run                         | next runs                                       |
|----------------------|-----------------------------------|-------------------------------------------------|
| synth + policy gate  | every cloud environment's stacks synthesised and checked (``--skip-infra`` skips) | again |
| generate data        | seeded transactions + drift set   | kept (same seed, same rows); ``--fresh`` redoes |
| feast apply / materialize | registers, loads online store | idempotent                                     |
| stream burst         | broker + live events ingested     | broker reused, another burst                    |
| train v1, v2         | two signed versions               | kept when two exist; ``--retrain`` adds two     |
| start server         | BentoML on 127.0.0.1 (pid file)   | the old server is stopped, a new one started    |
| traffic, drift       | A/B traffic, clean then drifted   | again (drift windows start at each phase)       |

``down`` stops what ``up`` started, by the pids in ``<data>/run``: the BentoML server and the
local broker. Nothing else is signalled.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from environments import Environment
from environments.errors import ConfigError

#: Transactions sent in each traffic phase (clean, then drifted).
TRAFFIC_TRANSACTIONS = 2000
#: Events of the streaming burst (live features before serving starts).
STREAM_BURST_EVENTS = 500


@dataclass
class StackRun:
    """What the steps share: the environment, options, a progress callback, and facts for the summary."""

    env: Environment
    environment_ref: str | None = None  # what the server loads: the name or YAML path the user gave
    say: Callable[[str], None] = lambda _message: None
    fresh: bool = False
    retrain: bool = False
    infra: bool = True
    traffic: int = TRAFFIC_TRANSACTIONS
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[StackRun], str]


# ---- the steps ----------------------------------------------------------------------------------

def synth_and_gate(run: StackRun) -> str:
    """Synthesise every cloud environment and pass it through the policy gate, as a deploy would."""
    if not run.infra:
        return "skipped (--skip-infra)"
    from environments import load_environments, project_root
    from infra.gate.check import check_environments, require_clean

    cloud = [e for e in load_environments() if e.is_cloud]
    run.say(f"synthesising {', '.join(e.name for e in cloud)} (the AWS bindings import takes ~20-40 s)")
    gate = check_environments(cloud, outdir=project_root() / "cdktf.out", reports_dir=project_root() / "reports")
    require_clean(gate)
    report = gate.report
    run.facts["gate"] = gate
    return (f"{len(report.stacks)} stacks of {len(cloud)} environments; Checkov: {report.passed} passed, "
            f"{report.failed} failed, {len(report.skips)} built-ins skipped with reasons; SARIF {gate.sarif}")


def generate_data(run: StackRun) -> str:
    from features.names import TRANSACTIONS_FILE
    from training.data.offline import offline_dir, write_drift_transactions, write_offline_store

    existing = offline_dir(run.env) / TRANSACTIONS_FILE
    if existing.is_file() and not run.fresh:
        return f"kept {existing} (same seed, same rows; --fresh regenerates)"
    dataset = write_offline_store(run.env, progress=run.say)
    _, drifted = write_drift_transactions(run.env)
    return (f"{dataset.transactions:,} transactions ({dataset.positive_rate:.1%} fraud), "
            f"{drifted:,} drifted ones for the monitor")


def feast_apply(run: StackRun) -> str:
    from features.store import apply

    applied = apply(run.env)
    return f"project {applied.project}: {len(applied.feature_views)} views, services {applied.feature_services}"


def feast_materialize(run: StackRun) -> str:
    from features.store import materialize

    with contextlib.redirect_stdout(io.StringIO()):  # Feast prints its own progress; ours is the bar
        loaded = materialize(run.env)
    return f"online store loaded up to {loaded.end:%Y-%m-%d %H:%M} UTC ({', '.join(loaded.feature_views)})"


def stream_burst_step(run: StackRun) -> str:
    from features.ingest.burst import stream_burst
    from features.ingest.local_broker import start_local_broker

    broker = start_local_broker(run.env)
    run.facts["broker"] = broker.bootstrap_servers
    # Live events for a tenth of the customers: the sample traffic replays recorded transactions as of their own
    # time, which for a customer the live stream has moved on (months after the history) is no longer possible.
    burst = stream_burst(run.env, STREAM_BURST_EVENTS, customers=max(1, run.env.data.customers // 10), progress=run.say)
    run.facts["stream"] = burst
    return (f"broker {broker.bootstrap_servers} (pid {broker.pid}); {burst.produced} live events, "
            f"{burst.applied} applied to the feature stores, {burst.dead_lettered} dead-lettered")


def train_versions(run: StackRun) -> str:
    """Two versions from one training set: v1 (one network, half the epochs: the model in production) then v2
    (the full ensemble and epochs: the challenger)."""
    from training.dataset import build_training_set
    from training.pipeline import train
    from training.registry import list_versions

    existing = list_versions(run.env)
    if len(existing) >= 2 and not run.retrain:
        run.facts["versions"] = [v.version_id for v in existing[-2:]]
        return f"kept {existing[-2].version_id} and {existing[-1].version_id} (--retrain trains two more)"
    run.say("building the training set (point-in-time join)")
    training_set = build_training_set(run.env)
    made = []
    full = run.env.training
    for label, settings in (("v1", {"epochs": max(1, full.epochs // 2), "ensemble_members": 1}), ("v2", {})):
        env = run.env.model_copy(update={"training": full.model_copy(update=settings)})
        result = train(env, training_set=training_set, on_stage=lambda message, label=label: run.say(f"{label}: {message}"))
        made.append(f"{label} {result.version.version_id} ({result.metrics['report']})")
    run.facts["versions"] = [v.version_id for v in list_versions(run.env)[-2:]]
    return "; ".join(made)


def start_serving(run: StackRun) -> str:
    from bento_services.fraud_scoring.assembly import weights_file_for
    from bento_services.server_process import start_server, stop_server

    restarted = stop_server(run.env)
    weights_file_for(run.env).remove()  # a fresh demo starts from the environment's weights
    run.say("verifying signatures and starting BentoML")
    record = start_server(run.env, environment_ref=run.environment_ref)
    run.facts["server"] = record
    return f"{record.url} (pid {record.pid}{', restarted' if restarted else ''}; log {record.log_path})"


def send_clean_traffic(run: StackRun) -> str:
    from features.names import TRANSACTIONS_FILE
    from training.data.offline import offline_dir

    frame = pd.read_parquet(offline_dir(run.env) / TRANSACTIONS_FILE)
    run.facts["clean_since"] = datetime.now(UTC)
    summary = _send(run, frame, "clean", replay=True)
    run.facts["clean_traffic"] = summary
    split = ", ".join(f"{v} {summary.share(v):.1%}" for v in sorted(summary.by_variant))
    return f"{summary.sent} transactions in {summary.seconds:.1f} s; split {split}; failed requests {dict(summary.failed_status) or 0}"


def drift_on_clean_traffic(run: StackRun) -> str:
    from bento_services.drift import check_drift

    result = check_drift(run.env, since=run.facts["clean_since"])
    run.facts["clean_drift"] = result
    verdict = "DRIFT (unexpected on clean traffic)" if result.drifted else "no drift (exit 0)"
    return f"{verdict}; report {result.report_path}"


def send_drifted_traffic(run: StackRun) -> str:
    from features.names import DRIFT_TRANSACTIONS_FILE
    from training.data.offline import offline_dir, write_drift_transactions

    path = offline_dir(run.env) / DRIFT_TRANSACTIONS_FILE
    if not path.is_file():
        write_drift_transactions(run.env)
    run.facts["drift_since"] = datetime.now(UTC)
    summary = _send(run, pd.read_parquet(path), "drifted", replay=False)
    run.facts["drift_traffic"] = summary
    return f"{summary.sent} drifted transactions (larger amounts, more online electronics) in {summary.seconds:.1f} s"


def drift_report(run: StackRun) -> str:
    from bento_services.drift import check_drift

    result = check_drift(run.env, since=run.facts["drift_since"])
    run.facts["drift"] = result
    names = ", ".join(c.name for c in result.drifted_columns) or "none"
    verdict = "DRIFT detected (sahab drift exits 3)" if result.drifted else "no drift (unexpected)"
    return f"{verdict}: {names}; report {result.report_path}"


def _send(run: StackRun, frame: pd.DataFrame, label: str, *, replay: bool):
    """Score a sample of ``frame``; ``replay``: only transactions of customers' last week, as of their own time
    (``bento_services.traffic.replayable``: features then read as in training, so clean traffic looks clean)."""
    from bento_services.traffic import payloads_from_frame, replayable, send_transactions
    from features.store import feature_store_for

    candidates = replayable(frame, feature_store_for(run.env)) if replay else frame
    sample = candidates.sample(min(run.traffic, len(candidates)), random_state=int(time.time()) % 100_000)
    run.say(f"sending {len(sample)} {label} transactions")
    return send_transactions(run.facts["server"].url, payloads_from_frame(sample, run.env))


#: The local stack, in order. Call sites for the other engineers' steps are marked below.
LOCAL_STACK_STEPS: list[Step] = [
    Step("Synthesise cloud environments + policy gate", synth_and_gate),
    Step("Generate synthetic transactions", generate_data),
    Step("Feast apply", feast_apply),
    Step("Feast materialize", feast_materialize),
    Step("Start local broker + stream burst", stream_burst_step),
    Step("Train, export, sign, register v1 and v2", train_versions),
    Step("Start BentoML server", start_serving),
    Step("Send sample traffic (A/B)", send_clean_traffic),
    Step("Drift check on clean traffic", drift_on_clean_traffic),
    Step("Inject drift", send_drifted_traffic),
    Step("Drift report", drift_report),
]


def check_local(env: Environment) -> None:
    if env.is_cloud:
        raise ConfigError(
            f"the local stack runs on this machine, but environment {env.name!r} targets {env.target.value}: "
            f"`sahab up {env.name}` takes the cloud path (infra.cloud_stack)"
        )


def down(env: Environment) -> list[str]:
    """Stop the server and the broker ``up`` started (by their pid files); say what was stopped."""
    from bento_services.server_process import stop_server
    from features.ingest.local_broker import stop_local_broker

    stopped = []
    if stop_server(env):
        stopped.append("BentoML server")
    if stop_local_broker(env):
        stopped.append("local broker")
    return stopped

"""Two BentoML worker processes behind one port (``serving.workers: 2``): what must hold across them.

Each worker has its own router, online-store connection, prediction log file and metrics; the shared
parts are the weights file, the multi-process Prometheus directory and the routing hash. Requests go
over a new connection each, from 16 threads, so the kernel hands them to both workers; the test
proves both served (their prediction logs carry two worker pids) before it trusts the rest.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from http_helpers import free_port, metric, transaction
from serving_stack import TinyStack, copy_stack, environment_with, write_environment_file
from typer.testing import CliRunner

from bento_services.prediction_log import predictions_dir, read_predictions
from bento_services.server_process import start_server, stop_server
from infra.cli.main import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_workers(tiny_stack: TinyStack, tmp_path_factory: pytest.TempPathFactory):
    """A server with two workers on its own copy of the stack; variants a = v1, b = v2 at 50/50."""
    folder = tmp_path_factory.mktemp("two-workers")
    env = environment_with(copy_stack(tiny_stack, folder / "data"), port=free_port(), workers=2, variants=[
        {"name": "a", "model_version": tiny_stack.v1, "weight": 0.5},
        {"name": "b", "model_version": tiny_stack.v2, "weight": 0.5},
    ])
    env_file = write_environment_file(env, folder / "env")
    record = start_server(env, environment_ref=str(env_file), ready_timeout_s=240)
    yield env, env_file, record
    stop_server(env)


def score_each_on_its_own_connection(url: str, items: list[dict]) -> list[dict]:
    """One request per item, each on a new connection, 16 at a time; answers in the order of ``items``."""

    def one(item: dict) -> dict:
        response = httpx.post(f"{url}/score", json={"transactions": [item]}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, items))


def worker_pids_that_logged(env, transaction_ids: set[str]) -> set[str]:
    """The pids in the names of the prediction-log files holding these transactions (one file per worker)."""
    return {path.stem.rsplit("-", 1)[1] for path in predictions_dir(env).glob("predictions-*.jsonl")
            if logged_transaction_ids(path) & transaction_ids}


def logged_transaction_ids(path: Path) -> set[str]:
    return {json.loads(line)["transaction_id"] for line in path.read_text().splitlines() if line.strip()}


def test_both_workers_serve_sticky_variants_and_log_every_item_once(two_workers) -> None:
    env, _, record = two_workers
    items = [transaction(f"c{i % 300:06d}", transaction_id=f"mw-{i}") for i in range(600)]
    answers = score_each_on_its_own_connection(record.url, items)
    assert len(worker_pids_that_logged(env, {item["transaction_id"] for item in items})) == 2
    by_customer: dict[str, set[str]] = {}
    for item, answer in zip(items, answers, strict=True):
        by_customer.setdefault(item["customer_id"], set()).add(answer["variant"])
    assert all(len(variants) == 1 for variants in by_customer.values())  # the same variant from either worker
    logged = read_predictions(predictions_dir(env))
    ours = logged.loc[logged["transaction_id"].str.startswith("mw-"), "transaction_id"]
    assert len(ours) == ours.nunique() == 600  # each item once: no torn, lost or doubled lines


def test_metrics_add_up_over_both_workers(two_workers) -> None:
    env, _, record = two_workers
    before = metric(record.url, "sahab_predictions_total")
    items = [transaction(f"c{i:06d}", transaction_id=f"mm-{i}") for i in range(200)]
    score_each_on_its_own_connection(record.url, items)
    # Both workers scored part of the 200, so whichever answers /metrics, only a sum over both gives 200.
    assert len(worker_pids_that_logged(env, {item["transaction_id"] for item in items})) == 2
    for _ in range(5):
        assert metric(record.url, "sahab_predictions_total") - before == 200


def test_run_time_weights_reach_both_workers(two_workers) -> None:
    env, env_file, record = two_workers
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["serve", "weights", "--env", str(env_file), "a=0", "b=1"]).exit_code == 0
        items = [transaction(f"c{i:06d}", transaction_id=f"mwb-{i}") for i in range(300)]
        answers = score_each_on_its_own_connection(record.url, items)
        assert len(worker_pids_that_logged(env, {item["transaction_id"] for item in items})) == 2
        assert {answer["variant"] for answer in answers} == {"b"}
    finally:
        assert runner.invoke(app, ["serve", "weights", "--env", str(env_file), "--reset"]).exit_code == 0

"""``sahab up`` then ``sahab down`` as a user runs them, twice up to show it is safe, on a copy of the tiny stack.

The copy already holds data and two versions, so ``up`` keeps them (its table says so) and runs
every other step for real: Feast apply and materialise, the local broker and a stream burst, the
BentoML server, A/B traffic, the clean and drifted drift checks. The from-nothing path of those
kept steps is what the serving suite's stack fixture runs (the same step functions).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from http_helpers import free_port
from serving_stack import TinyStack, copy_stack, environment_with, write_environment_file

from store_search import PSEUDONYM, RAW_ID, store_hits

from bento_services.prediction_log import read_predictions
from bento_services.server_process import running_server
from environments import Environment
from features.ingest.local_broker import running_broker
from features.names import CUSTOMER_TRANSACTIONS_VIEW
from features.store import feature_store_for
from infra.privacy.audit import audit_path, read_records
from training.data.offline import raw_customer_ids
from training.registry import list_versions

pytestmark = pytest.mark.slow


def sahab(*args: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COLUMNS": "200"}  # rich wraps long lines at the terminal width
    return subprocess.run([str(Path(sys.executable).with_name("sahab")), *args], capture_output=True, text=True,
                          timeout=600, env=environ)


def test_up_twice_then_down_runs_and_stops_the_stack_by_pid(tiny_stack: TinyStack, tmp_path: Path) -> None:
    env = environment_with(copy_stack(tiny_stack, tmp_path / "data"), port=free_port())
    env_file = str(write_environment_file(env, tmp_path / "env"))
    try:
        first = sahab("up", env_file, "--traffic", "400")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert "policy gate" in first.stdout and "stacks clean" in first.stdout
        assert "A/B split" in first.stdout and "drift, drifted traffic" in first.stdout
        assert "DRIFT in" in first.stdout.split("drift, drifted traffic")[1].splitlines()[0]
        server = running_server(env)
        assert server is not None and httpx.get(f"{server.url}/readyz").status_code == 200
        assert running_broker(env) is not None
        assert_no_store_holds_a_raw_customer_id(env)
        erase_one_customer_while_the_stack_runs(env, env_file)

        second = sahab("up", env_file, "--traffic", "400", "--skip-infra")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        assert "kept" in second.stdout and "restarted" in second.stdout
        again = running_server(env)
        assert again is not None and again.pid != server.pid and not server.is_alive()
    finally:
        down = sahab("down", env_file)
    assert down.returncode == 0 and "BentoML server" in down.stdout and "local broker" in down.stdout
    assert running_server(env) is None and running_broker(env) is None
    assert not again.is_alive()


def assert_no_store_holds_a_raw_customer_id(env: Environment) -> None:
    """After `up` (data, features, stream, training, serving, traffic, drift reports): prediction logs, offline
    parquet, the online store, the ingestor's state, model manifests and reports hold pseudonyms only."""
    hits, read = store_hits(env.data_path(), RAW_ID, set(raw_customer_ids(env).values()))
    assert not hits, hits
    assert read >= 10  # the stores were really read
    assert list(env.paths.predictions.glob("predictions-*.jsonl")) and list(env.paths.streaming.rglob("CURRENT"))


def online_rows(env: Environment, pseudonyms: list[str]) -> list:
    store = feature_store_for(env)
    return store.get_online_features(features=[f"{CUSTOMER_TRANSACTIONS_VIEW}:recent_events"],
                                      entity_rows=[{"customer_id": p} for p in pseudonyms]).to_dict()["recent_events"]


def erase_one_customer_while_the_stack_runs(env: Environment, env_file: str) -> None:
    """`sahab data erase` on a customer the demo scored: 0 rows for their pseudonym in each store (the audit log
    names it by design); other customers' features as they were; a record without the raw id."""
    raw_of = raw_customer_ids(env)
    streamed = {f"c{i:06d}" for i in range(max(1, env.data.customers // 10))}  # the stream burst's customers
    scored = read_predictions(env.paths.predictions)["customer_id"].value_counts()
    pseudonym = next(p for p in scored.index if raw_of[p] in streamed)  # in every store: stream, online, offline, log
    others = [p for p in scored.index if p != pseudonym][:20]
    raw = raw_of[pseudonym]
    before = online_rows(env, others)
    assert online_rows(env, [pseudonym]) != [None]

    erased = sahab("data", "erase", "--env", env_file, "--customer", raw, "--reference", "case-7")
    assert erased.returncode == 0, erased.stdout[-3000:] + erased.stderr[-3000:]
    assert raw not in erased.stdout and "pending" not in erased.stdout.split("recorded in")[-1]

    hits, _ = store_hits(env.data_path(), PSEUDONYM, {pseudonym}, skip=[audit_path(env)],
                         ignore_families=["__ttl_index__"])  # a deleted key's expiry index entry holds no data
    assert not hits, hits
    assert online_rows(env, [pseudonym]) == [None] and online_rows(env, others) == before
    record = read_records(env)[-1]
    assert (record["kind"], record["pseudonym"], record["reference"], record["complete"]) == ("erasure", pseudonym, "case-7", True)
    assert raw not in audit_path(env).read_text()
    assert record["models_trained_before"] == [v.version_id for v in list_versions(env)]
    assert {s["store"]: s["removed"] > 0 for s in record["stores"]} == {
        "stream state": True, "online store": True, "offline tables": True, "prediction log": True}

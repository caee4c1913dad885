"""The real service with its dependencies broken one at a time, as an operator would break them.

| fault | the caller must see | the operator must see |
|---|---|---|
| the online store locked by a writer | fast 503s naming ``online_store``, ``Retry-After`` | ``/readyz`` 503 naming it, fast; a failure count |
| the prediction log unwritable | 503s naming ``prediction_log``; no record of any refused request, ever | ``/readyz`` 503 naming it |
| one of two workers SIGKILLed under load | answers keep coming while it restarts | - |

Before this, a locked store answered a generic 500 after 5 s (SQLite's busy timeout) and stalled the worker's
event loop, ``/readyz`` said ready after 10 s, a full log disk left ``/readyz`` ready, and records of requests
answered 500 appeared once space returned; a killed worker left nothing answering for 17 s (one worker).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from http_helpers import free_port, metric, transaction
from serving_stack import TinyStack, copy_stack, environment_with, write_environment_file

from bento_services.prediction_log import predictions_dir, read_predictions
from bento_services.server_process import start_server, stop_server

pytestmark = pytest.mark.slow

#: A bound the 503s must meet on this machine (the store's bound is 100 ms; the rest is HTTP and a busy CI box).
FAST_S = 2.0


@pytest.fixture(scope="module")
def server(tiny_stack: TinyStack, tmp_path_factory: pytest.TempPathFactory):
    """A server with the default two workers on its own copy of the stack."""
    folder = tmp_path_factory.mktemp("faults")
    env = environment_with(copy_stack(tiny_stack, folder / "data"), port=free_port(), variants=[
        {"name": "a", "model_version": tiny_stack.v1, "weight": 1.0},
    ])
    assert env.serving.workers == 2
    record = start_server(env, environment_ref=str(write_environment_file(env, folder / "env")), ready_timeout_s=240)
    yield env, f"http://127.0.0.1:{env.serving.port}", record
    stop_server(env)


def post(url: str, transaction_id: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{url}/score", json={"transactions": [transaction("c000001", transaction_id=transaction_id)]},
                          timeout=30)
    return response, time.monotonic() - started


def readiness(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{url}/readyz", timeout=30)
    return response, time.monotonic() - started


def wait_ready(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if readiness(url)[0].status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"not ready again within {timeout_s} s: {readiness(url)[0].text}")


def logged_ids(env) -> set[str]:
    frame = read_predictions(predictions_dir(env))
    return set(frame["transaction_id"]) if len(frame) else set()


#: Long enough for a (re)started worker to have loaded its models on a busy box.
WORKER_LOAD_S = 20.0


def worker_pids(server_pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(server_pid)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in children if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def two_workers(server_pid: int, timeout_s: float = 90) -> list[int]:
    """Both workers' pids, once both are up and the service is ready (a busy box may still be starting one)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        workers = worker_pids(server_pid)
        youngest_s = min((time.time() - psutil.Process(pid).create_time() for pid in workers), default=0.0)
        if len(workers) == 2 and youngest_s > WORKER_LOAD_S:  # a restarted worker loads its models first
            return workers
        time.sleep(0.5)
    raise AssertionError(f"expected 2 workers within {timeout_s} s, found {worker_pids(server_pid)}")


def test_a_locked_online_store_answers_fast_503s_naming_it_and_readiness_follows(server) -> None:
    env, url, _ = server
    database = env.data_path() / "feature_repo" / "online_store.db"
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the file: readers must wait or give up
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: post(url, f"locked-{i}"), range(16)))
        ready, ready_seconds = readiness(url)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert {response.status_code for response, _ in answers} == {503}
    for response, seconds in answers:
        body = response.json()
        assert body.get("dependency") == "online_store", response.text
        assert body["error"].startswith("online store unavailable: locked")
        assert response.headers["retry-after"] == "1" and seconds < FAST_S
    assert ready.status_code == 503 and "online_store" in ready.json()["failing"] and ready_seconds < FAST_S
    assert metric(url, "sahab_dependency_failures_total", dependency="online_store", kind="locked") >= 1

    wait_ready(url)
    response, _ = post(url, "after-lock")
    assert response.status_code == 200
    logged = logged_ids(env)
    assert "after-lock" in logged and not {f"locked-{i}" for i in range(16)} & logged


def test_an_unwritable_prediction_log_refuses_requests_and_never_records_them(server) -> None:
    env, url, _ = server
    for i in range(8):  # both workers open their log files
        assert post(url, f"before-{i}")[0].status_code == 200
    folder = predictions_dir(env)
    frozen = [folder, *folder.glob("predictions-*.jsonl")]
    subprocess.run(["chattr", "+i", *map(str, frozen)], check=True)  # root ignores modes; not immutability
    try:
        answers = [post(url, f"refused-{i}") for i in range(8)]
        ready, _ = readiness(url)
    finally:
        subprocess.run(["chattr", "-i", *map(str, frozen)], check=True)

    assert {response.status_code for response, _ in answers} == {503}
    assert all(response.json()["dependency"] == "prediction_log" for response, _ in answers)
    assert ready.status_code == 503 and "prediction_log" in ready.json()["failing"]
    wait_ready(url)
    assert post(url, "after-log")[0].status_code == 200
    logged = logged_ids(env)
    assert {f"before-{i}" for i in range(8)} | {"after-log"} <= logged
    assert not {f"refused-{i}" for i in range(8)} & logged  # not then, not after space returned


def test_a_sigkilled_worker_leaves_the_other_answering(server) -> None:
    env, url, record = server
    workers = two_workers(record.pid)
    answered: list[float] = []
    failed = 0
    started = time.monotonic()
    os.kill(workers[0], signal.SIGKILL)
    with httpx.Client(timeout=10) as client:
        while time.monotonic() - started < 5:
            try:
                response = client.post(f"{url}/score", json={"transactions": [transaction("c000002")]},
                                       headers={"connection": "close"})
                if response.status_code == 200:
                    answered.append(time.monotonic() - started)
                else:
                    failed += 1
            except httpx.TransportError:
                failed += 1
    gaps = [b - a for a, b in zip([0.0, *answered], answered)]
    assert len(answered) >= 20 and max(gaps) < FAST_S, (len(answered), max(gaps, default=None), failed)

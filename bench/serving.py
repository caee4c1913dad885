"""Benchmark: serving speed, one run, one model (the local environment's latest signed version).

Four measurements, written to ``bench/results/serving.json`` with a plot ``bench/results/serving.png``:

(a) raw ONNX Runtime (fp32, the service's session options) vs torch eager (the same weights,
    rebuilt from the signed ONNX), per call at batch 1 and 64;
(b) int8 vs fp32 ONNX Runtime, per call at batch 1 and 64;
(c) HTTP: the BentoML service (one variant: the latest version; online features, routing, logging
    included) vs a bare uvicorn echo endpoint (the HTTP floor: parse the same JSON body, answer it)
    and a no-op BentoML service (BentoML's own floor; once with BentoML's defaults, once with the
    Sahab service's setting of no tracing spans on ``/score``), p50/p99 latency, requests/s and the
    server's CPU time per request (its whole process tree, from ``/proc``) at 1 and 32 concurrent
    loopback clients (one transaction per request; an aiohttp client on the same machine), with and
    without adaptive batching. All five servers run at once and are measured in interleaved rounds
    (``--rounds``, default 3); each figure is the median over the rounds, the rounds are in the JSON;
(d) online read p50/p99 of ``fraud_model_v1`` for one transaction's entities, through Feast's
    ``get_online_features`` and through the service's own read (``OnlineFeatures.lookup``: one
    ``OnlineStore.online_read`` per feature view): SQLite, and Redis when ``redis-server`` is
    installed (started on a free loopback port, stopped by pid).

Prerequisite: ``sahab up local`` (or ``sahab train``) has registered a version. The servers run on
a copy of the data folder, so the benchmark's predictions never reach the real prediction log.
Targets (from the issue), reported as met or not: raw ORT >= 2x torch eager at batch 1; service
p50 within 2 ms of the HTTP floor; adaptive batching >= 2x throughput at 32 clients.

Run: ``.venv/bin/python bench/serving.py [--env local] [--requests 2000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/training.py would shadow the namespace package ``training``: drop this folder from the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
RESULTS = ROOT / "bench" / "results" / "serving.json"
PLOT = ROOT / "bench" / "results" / "serving.png"

from environments.process_records import stop_child  # noqa: E402 - after the path fix above


# ---- small helpers ------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary_us(samples_s: list[float]) -> dict[str, float]:
    return {"p50_us": round(statistics.median(samples_s) * 1e6, 2), "p99_us": round(percentile(samples_s, 99) * 1e6, 2)}


def time_calls(call: Callable[[], Any], *, seconds: float = 2.0, warmup: int = 50) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- (a) + (b): the model alone -----------------------------------------------------------------

def model_inputs(env, verified, rows: int):
    import pandas as pd

    from features.names import TRANSACTIONS_FILE
    from training.preprocessing import Preprocessor

    frame = pd.read_parquet(env.data_path() / "offline" / TRANSACTIONS_FILE).sample(rows, random_state=1)
    preprocessor = Preprocessor.from_json(verified.read_artifact("preprocessing.json").decode())
    return preprocessor.transform(frame)


def bench_models(env, verified) -> dict[str, Any]:
    import numpy as np
    import torch

    from bento_services.fraud_scoring.model_runtime import OnnxRuntimeModel
    from bento_services.fraud_scoring.torch_runtime import TorchModel

    torch.set_num_threads(env.serving.ort_intra_op_threads or 1)  # same thread budget as the ORT session
    fp32 = OnnxRuntimeModel(verified.read_artifact("model.onnx"), env.serving)
    int8 = OnnxRuntimeModel(verified.read_artifact("model.int8.onnx"), env.serving)
    eager = TorchModel(verified.read_artifact("model.onnx"), device="cpu")
    inputs = model_inputs(env, verified, 64)
    out: dict[str, Any] = {"threads": env.serving.ort_intra_op_threads, "torch_threads": torch.get_num_threads()}
    for batch in (1, 64):
        x = {name: array[:batch] for name, array in inputs.items()}
        ort_s = time_calls(lambda x=x: fp32.run(x))
        torch_s = time_calls(lambda x=x: eager.run(x))
        int8_s = time_calls(lambda x=x: int8.run(x))
        out[f"batch_{batch}"] = {
            "onnxruntime_fp32": summary_us(ort_s),
            "torch_eager": summary_us(torch_s),
            "onnxruntime_int8": summary_us(int8_s),
            "ort_speedup_over_torch": round(statistics.median(torch_s) / statistics.median(ort_s), 2),
            "int8_speedup_over_fp32": round(statistics.median(ort_s) / statistics.median(int8_s), 2),
            "int8_max_abs_diff": float(np.abs(fp32.run(x) - int8.run(x)).max()),
        }
    return out


# ---- (c): over HTTP -----------------------------------------------------------------------------

ECHO_APP = '''
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

async def score(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse([{"transaction_id": t.get("transaction_id"), "score": 0.0} for t in body["transactions"]])

app = Starlette(routes=[Route("/score", score, methods=["POST"])])
'''


NOOP_BENTO = '''
import bentoml
from pydantic import BaseModel


class Transaction(BaseModel):
    transaction_id: str
    customer_id: str


@bentoml.service(SERVICE_OPTIONS)
class Noop:
    @bentoml.api
    async def score(self, transactions: list[Transaction]) -> list[dict]:
        return [{"transaction_id": t.transaction_id, "score": 0.0} for t in transactions]
'''


def start_noop_bento(folder: Path, *, tracing: dict[str, Any] | None = None) -> tuple[subprocess.Popen, str]:
    """BentoML's own floor: the same HTTP stack and pydantic parsing, no model, no features."""
    # BentoML's defaults are "tracing not given": an empty ``tracing={}`` breaks its config lookup at start-up.
    options = 'name="noop"' + (f", tracing={tracing!r}" if tracing else "")
    (folder / "noop_bento.py").write_text(NOOP_BENTO.replace("SERVICE_OPTIONS", options))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", "noop_bento:Noop", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "BENTOML_DO_NOT_TRACK": "True", "BENTOML_HOME": str(folder / "bentoml-home")},
    )
    return process, wait_for_port(port, what="the no-op BentoML service", timeout_s=90)


def wait_for_port(port: int, *, what: str, timeout_s: float) -> str:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return f"http://127.0.0.1:{port}"
        except OSError as exc:
            if getattr(exc, "code", None) == 404:  # uvicorn echo has no /readyz: listening is enough
                return f"http://127.0.0.1:{port}"
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start on port {port} within {timeout_s:g} s")


def stop_process(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """SIGTERM to the server's whole session, then wait (bounded) until every process of it is gone.

    Waiting for the workers too keeps a server's shutdown out of the measurements that follow. Never
    raises: it runs in ``finally`` blocks that must go on to stop the other servers.
    """
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    stop_child(process, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)  # a zombie nobody reaps also answers: the deadline bounds that case
        except ProcessLookupError:
            return
        time.sleep(0.05)
    print(f"warning: processes of session {process.pid} still present {timeout_s:g} s after SIGTERM", flush=True)


def start_echo(folder: Path) -> tuple[subprocess.Popen, str]:
    (folder / "echo_app.py").write_text(ECHO_APP)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "echo_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    return process, wait_for_port(port, what="the uvicorn echo server", timeout_s=30)


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its descendants (Linux ``/proc``); None where unreadable."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    try:
        while pending:
            current = pending.pop()
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        return None
    return total


async def _load(url: str, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                async with session.post(f"{url}/score", data=body, headers={"content-type": "application/json"}) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1e3, 3),
        "p99_ms": round(percentile(latencies, 99) * 1e3, 3),
        "requests_per_s": round(len(latencies) / wall, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def load(url: str, bodies: list[bytes], concurrency: int, server_pid: int, warmup: int = 300) -> dict[str, Any]:
    """One measured run after a short warm-up; adds the server's CPU milliseconds per request."""
    asyncio.run(_load(url, bodies[:warmup], min(concurrency, 8)))
    cpu_before = tree_cpu_seconds(server_pid)
    result = asyncio.run(_load(url, bodies, concurrency))
    cpu_after = tree_cpu_seconds(server_pid)
    if cpu_before is not None and cpu_after is not None:
        result["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1e3 / result["requests"], 3)
    return result


def request_bodies(env, count: int) -> list[bytes]:
    import pandas as pd

    from bento_services.traffic import payloads_from_frame
    from features.names import TRANSACTIONS_FILE

    frame = pd.read_parquet(env.data_path() / "offline" / TRANSACTIONS_FILE)
    items = payloads_from_frame(frame.sample(count, replace=count > len(frame), random_state=2), env)
    return [json.dumps({"transactions": [item]}).encode() for item in items]


def summarise_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds of one setup and client count; the rounds themselves are kept."""
    summary: dict[str, Any] = {"requests": sum(r["requests"] for r in rounds)}
    for field in ("p50_ms", "p99_ms", "requests_per_s", "server_cpu_ms_per_request"):
        values = [r[field] for r in rounds if field in r]
        if values:
            summary[field] = round(statistics.median(values), 3)
    statuses: dict[str, int] = {}
    for r in rounds:
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {**summary, "statuses": statuses, "rounds": rounds}


def start_service(env, version_id: str, work: Path, *, batching: bool) -> tuple[Any, Any]:
    """The Sahab service on its own copy of the data folder (own run records and prediction log)."""
    import yaml

    from bento_services.server_process import start_server
    from environments import parse_environment

    name = "batching" if batching else "plain"
    data_copy = work / f"data-{name}"
    shutil.copytree(env.data_path(), data_copy,
                    ignore=shutil.ignore_patterns("run", "predictions", "reports", "training", "bentoml", "broker"))
    data = env.model_dump(mode="json", exclude_none=True)
    data["data_dir"] = str(data_copy)
    data["serving"].update(port=free_port(), adaptive_batching=batching,
                           variants=[{"name": "a", "model_version": version_id, "weight": 1.0}])
    served = parse_environment(data, source="bench")
    env_file = work / f"env-{name}" / f"{served.name}.yaml"
    env_file.parent.mkdir()
    env_file.write_text(yaml.safe_dump(data))
    return served, start_server(served, environment_ref=str(env_file))


def bench_http(env, version_id: str, work: Path, requests: int, rounds: int) -> dict[str, Any]:
    """Every setup is started first, then measured in interleaved rounds (medians reported).

    On a small shared machine a setup measured once, after another, picks up whatever the machine
    did meanwhile (run-to-run swings of 2x at 1 client were seen); interleaving spreads that over all.
    """
    from bento_services.server_process import stop_server

    bodies = request_bodies(env, requests)
    out: dict[str, Any] = {"requests_per_run": requests, "rounds": rounds, "body": "one transaction per request"}
    processes: list[subprocess.Popen] = []
    services = []
    targets: dict[str, tuple[str, int]] = {}  # setup -> (url, server pid)
    try:
        for key, starter in (
            ("http_floor_uvicorn_echo", start_echo),
            ("bentoml_noop_service", start_noop_bento),
            # The service's setting (``UNTRACED_ROUTES`` in bento_services/fraud_scoring/service.py; importing that
            # module would verify the environment's models here).
            ("bentoml_noop_service_untraced",
             lambda folder: start_noop_bento(folder, tracing={"excluded_urls": ["/score$"]})),
        ):
            (work / key).mkdir()
            process, url = starter(work / key)
            processes.append(process)
            targets[key] = (url, process.pid)
        for key, batching in (("bentoml_no_batching", False), ("bentoml_adaptive_batching", True)):
            served, record = start_service(env, version_id, work, batching=batching)
            services.append(served)
            targets[key] = (record.url, record.pid)
        measured: dict[str, dict[int, list[dict[str, Any]]]] = {key: {1: [], 32: []} for key in targets}
        for round_no in range(1, rounds + 1):
            for key, (url, pid) in targets.items():
                print(f"    round {round_no}/{rounds}: {key}", flush=True)
                for clients in (1, 32):
                    measured[key][clients].append(load(url, bodies, clients, pid))
        for key, by_clients in measured.items():
            out[key] = {f"clients_{c}": summarise_rounds(runs) for c, runs in by_clients.items()}
        out["bentoml_adaptive_batching"]["batch_max_latency_ms"] = services[-1].serving.batch_max_latency_ms
    finally:
        for process in processes:
            stop_process(process)
        for served in services:
            try:
                stop_server(served)
            except Exception as error:  # noqa: BLE001 - report it and go on stopping the others
                print(f"warning: could not stop the {served.name} server: {error}", flush=True)
    floor, plain, batched = out["http_floor_uvicorn_echo"], out["bentoml_no_batching"], out["bentoml_adaptive_batching"]
    noop, untraced = out["bentoml_noop_service"], out["bentoml_noop_service_untraced"]
    out["service_p50_minus_floor_ms"] = {
        "no_batching_1_client": round(plain["clients_1"]["p50_ms"] - floor["clients_1"]["p50_ms"], 3),
        "batching_1_client": round(batched["clients_1"]["p50_ms"] - floor["clients_1"]["p50_ms"], 3),
        "bentoml_noop_1_client": round(noop["clients_1"]["p50_ms"] - floor["clients_1"]["p50_ms"], 3),
        "bentoml_noop_untraced_1_client": round(untraced["clients_1"]["p50_ms"] - floor["clients_1"]["p50_ms"], 3),
        "no_batching_minus_bentoml_noop_untraced_1_client": round(
            plain["clients_1"]["p50_ms"] - untraced["clients_1"]["p50_ms"], 3),
    }
    out["batching_throughput_ratio_32_clients"] = round(
        batched["clients_32"]["requests_per_s"] / plain["clients_32"]["requests_per_s"], 2)
    return out


# ---- (d): Feast online reads --------------------------------------------------------------------

def read_latencies(store, rows: list[dict[str, str]], reads: int) -> dict[str, Any]:
    """One transaction's features per read, through ``get_online_features`` and through the service's read."""
    from bento_services.fraud_scoring.online_features import OnlineFeatures
    from bento_services.fraud_scoring.schemas import EXAMPLE_INPUT, TransactionIn
    from features.names import FRAUD_MODEL_FEATURE_SERVICE

    service = store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE)
    online = OnlineFeatures(store, FRAUD_MODEL_FEATURE_SERVICE)
    example = EXAMPLE_INPUT["transactions"][0]
    transactions = [TransactionIn(**{**example, **row}) for row in rows]
    readers = {
        "get_online_features": lambda i: store.get_online_features(features=service, entity_rows=[rows[i]]).to_dict(),
        "service_read": lambda i: online.lookup([transactions[i]], [rows[i]["customer_id"]]),
    }
    out: dict[str, Any] = {"reads": reads}
    for name, read in readers.items():
        for i in range(50):
            read(i % len(rows))
        samples: list[float] = []
        for i in range(reads):
            started = time.perf_counter()
            read(i % len(rows))
            samples.append(time.perf_counter() - started)
        out[name] = {"p50_ms": round(statistics.median(samples) * 1e3, 3), "p99_ms": round(percentile(samples, 99) * 1e3, 3)}
    return out


def bench_feast(env, work: Path, reads: int) -> dict[str, Any]:
    import pandas as pd

    from features.names import TRANSACTIONS_FILE
    from features.store import feature_store_for

    frame = pd.read_parquet(env.data_path() / "offline" / TRANSACTIONS_FILE).sample(500, random_state=3)
    rows = [{"customer_id": c, "merchant_id": m} for c, m in zip(frame["customer_id"], frame["merchant_id"])]
    out: dict[str, Any] = {"entity_rows_per_read": 1, "sqlite": read_latencies(feature_store_for(env), rows, reads)}
    if shutil.which("redis-server") is None:
        out["redis"] = "not measured: redis-server is not installed (apt-get install -y redis-server)"
        return out
    out["redis"] = bench_redis(env, work, rows, reads)
    return out


def bench_redis(env, work: Path, rows: list[dict[str, str]], reads: int) -> dict[str, Any]:
    import yaml
    from feast import FeatureStore

    from features.store import feature_repo_dir

    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        repo = work / "redis_repo"
        repo.mkdir()
        shutil.copy(feature_repo_dir(env) / "registry.db", repo / "registry.db")
        config = yaml.safe_load((feature_repo_dir(env) / "feature_store.yaml").read_text())
        config["online_store"] = {"type": "redis", "connection_string": f"127.0.0.1:{port}"}
        (repo / "feature_store.yaml").write_text(yaml.safe_dump(config))
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        store = FeatureStore(repo_path=str(repo))
        store.materialize(start_date=datetime(2000, 1, 1, tzinfo=UTC), end_date=datetime.now(UTC))
        return read_latencies(store, rows, reads)
    finally:
        stop_child(server)


# ---- report -------------------------------------------------------------------------------------

def targets(result: dict[str, Any]) -> dict[str, Any]:
    models, http = result["models"], result["http"]
    ort_ratio = models["batch_1"]["ort_speedup_over_torch"]
    gap = http["service_p50_minus_floor_ms"]["no_batching_1_client"]
    batching = http["batching_throughput_ratio_32_clients"]
    return {
        "raw_ort_at_least_2x_torch_eager_batch_1": {"measured": ort_ratio, "met": ort_ratio >= 2.0},
        "service_p50_within_2ms_of_http_floor": {"measured_ms": gap, "met": gap <= 2.0},
        "adaptive_batching_at_least_2x_throughput_32_clients": {"measured": batching, "met": batching >= 2.0},
    }


def plot(result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    models = result["models"]
    runtimes = ("onnxruntime_fp32", "onnxruntime_int8", "torch_eager")
    for offset, batch in enumerate((1, 64)):
        values = [models[f"batch_{batch}"][r]["p50_us"] for r in runtimes]
        axes[0].bar([i + offset * 0.4 for i in range(3)], values, width=0.4, label=f"batch {batch}")
    axes[0].set_xticks([i + 0.2 for i in range(3)], ["ORT fp32", "ORT int8", "torch eager"])
    axes[0].set_ylabel("p50 per call (µs)")
    axes[0].set_title("(a)(b) model call")
    axes[0].legend()
    http = result["http"]
    setups = ("http_floor_uvicorn_echo", "bentoml_noop_service", "bentoml_noop_service_untraced", "bentoml_no_batching",
              "bentoml_adaptive_batching")
    labels = ("uvicorn\necho", "BentoML\nno-op", "BentoML no-op\nuntraced", "Sahab", "Sahab +\nbatching")
    for offset, clients in enumerate((1, 32)):
        axes[1].bar([i + offset * 0.4 for i in range(len(setups))], [http[s][f"clients_{clients}"]["p50_ms"] for s in setups],
                    width=0.4, label=f"{clients} clients")
        axes[2].bar([i + offset * 0.4 for i in range(len(setups))],
                    [http[s][f"clients_{clients}"]["requests_per_s"] for s in setups], width=0.4,
                    label=f"{clients} clients")
    for ax, title, unit in ((axes[1], "(c) latency p50", "ms"), (axes[2], "(c) throughput", "requests/s")):
        ax.set_xticks([i + 0.2 for i in range(len(setups))], labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.legend()
    fig.suptitle(f"Sahab serving benchmark ({result['machine']['cpus']} CPUs, {result['measured_at'][:16]})")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="local", help="Environment whose latest version is measured.")
    parser.add_argument("--requests", type=int, default=2000, help="Requests per HTTP run.")
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds over the HTTP setups (medians).")
    parser.add_argument("--reads", type=int, default=2000, help="Feast online reads per store.")
    args = parser.parse_args()
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

    from environments import load_environment
    from training.registry import load_version

    env = load_environment(args.env)
    verified = load_version(env, "latest")
    result: dict[str, Any] = {
        "benchmark": "serving",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_version": verified.version_id,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_1m_at_start":
                    round(os.getloadavg()[0], 2)},
    }
    print("(a)(b) model calls...", flush=True)
    result["models"] = bench_models(env, verified)
    with tempfile.TemporaryDirectory(prefix="sahab-bench-serving-") as folder:
        work = Path(folder)
        print("(d) Feast online reads...", flush=True)
        result["feast_online_read"] = bench_feast(env, work, args.reads)
        print("(c) HTTP...", flush=True)
        result["http"] = bench_http(env, verified.version_id, work, args.requests, args.rounds)
    result["targets"] = targets(result)
    result["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    plot(result)
    print(json.dumps(result["targets"], indent=2))
    print(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()

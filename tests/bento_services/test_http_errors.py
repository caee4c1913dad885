"""The client-error middleware: BentoML's 400 validation answers become 422 naming fields; 413 stays 413."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bento_services.fraud_scoring import http_errors
from bento_services.fraud_scoring.dependencies import DependencyHealth
from bento_services.fraud_scoring.metrics import ServingMetrics

PYDANTIC_400 = {
    "error": "2 validation error for Input",
    "detail": [
        {"type": "greater_than", "loc": ["transactions", 0, "amount_aed"], "msg": "Input should be greater than 0"},
        {"type": "missing", "loc": ["transactions", 1, "hour"], "msg": "Field required"},
    ],
}


async def validation_failure(_request) -> Response:
    return JSONResponse(PYDANTIC_400, status_code=400)


async def too_large(_request) -> Response:
    return JSONResponse([{"error": "'transactions' holds 300 items; the limit is 256"}], status_code=413)


async def fine(_request) -> Response:
    return JSONResponse({"ok": True})


GENERIC_5XX = {"error": "An unexpected error has occurred, please check the server log."}  # BentoML's body for any 5xx


async def unavailable(_request) -> Response:
    return JSONResponse(GENERIC_5XX, status_code=503)


async def not_ready(_request) -> Response:
    return Response("Service is not ready because .__is_ready__() returns False.", status_code=503)


@pytest.fixture
def client(monkeypatch):
    metrics = ServingMetrics.create(CollectorRegistry())
    monkeypatch.setattr(http_errors, "serving_metrics", lambda: metrics)
    app = Starlette(routes=[Route("/invalid", validation_failure, methods=["POST", "GET"]),
                            Route("/large", too_large, methods=["POST"]), Route("/fine", fine, methods=["POST"]),
                            Route("/score", unavailable, methods=["POST"]), Route("/readyz", not_ready, methods=["GET"])])
    transport = httpx.ASGITransport(app=http_errors.ClientErrorMiddleware(app))
    return httpx.AsyncClient(transport=transport, base_url="http://test"), metrics


@pytest.mark.anyio
async def test_validation_failure_becomes_422_listing_the_dotted_field_paths(client) -> None:
    http, _ = client
    response = await http.post("/invalid")
    assert response.status_code == 422
    body = response.json()
    assert body["fields"] == ["transactions.0.amount_aed", "transactions.1.hour"]
    assert body["error"].startswith("invalid request: transactions.0.amount_aed: Input should be greater than 0")
    assert int(response.headers["content-length"]) == len(response.content)


@pytest.mark.anyio
async def test_payload_too_large_keeps_413_with_an_object_body(client) -> None:
    http, _ = client
    response = await http.post("/large")
    assert response.status_code == 413 and response.json() == {"error": "'transactions' holds 300 items; the limit is 256"}


@pytest.mark.anyio
async def test_rejections_are_counted_by_status(client) -> None:
    http, metrics = client
    await http.post("/invalid")
    await http.post("/large")
    await http.post("/invalid")
    assert metrics.rejected_requests.labels(status="422")._value.get() == 2
    assert metrics.rejected_requests.labels(status="413")._value.get() == 1


@pytest.mark.anyio
async def test_other_answers_pass_through_unchanged(client) -> None:
    http, _ = client
    assert (await http.post("/fine")).json() == {"ok": True}
    get = await http.get("/invalid")  # only POST API answers are rewritten
    assert get.status_code == 400 and json.loads(get.content) == PYDANTIC_400


@pytest.mark.anyio
async def test_a_dependency_503_names_the_dependency_and_says_when_to_retry(client) -> None:
    http, metrics = client
    DependencyHealth().failed("online_store", sqlite3.OperationalError("database is locked"))
    response = await http.post("/score")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json() == {"error": "online store unavailable: locked: database is locked",
                               "dependency": "online_store", "retry_after_s": 1}
    assert metrics.rejected_requests.labels(status="503")._value.get() == 0  # a 503 is not the client's fault


@pytest.mark.anyio
async def test_readiness_503_names_what_fails(client) -> None:
    http, _ = client
    health = DependencyHealth()

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    health.add_probe("prediction_log", full_disk)
    health.add_probe("online_store", lambda: None)
    assert health.failing() == {"prediction_log": "disk_full: [Errno 28] No space left on device"}
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "failing": {"prediction_log": "disk_full: [Errno 28] No space left on device"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

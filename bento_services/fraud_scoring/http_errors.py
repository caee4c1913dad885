"""Client errors with the right HTTP status and a body that names the offending fields.

BentoML 1.4 answers a pydantic validation failure (wrong types, missing fields, malformed JSON)
with 400 and its own ``BentoMLException`` 4xx bodies as a one-element JSON list. The API contract
of Sahab is the common one for JSON APIs (FastAPI's too):

| problem                                       | status | body                                     |
|-----------------------------------------------|--------|------------------------------------------|
| malformed JSON, wrong type, missing/unknown field | 422 | ``error`` + ``fields`` (dotted paths) + ``detail`` |
| more items than ``serving.max_batch_size``    | 413    | ``error`` naming the count and the limit |
| a dependency failed (``dependencies``)        | 503    | ``error`` + ``dependency`` + ``retry_after_s``, and a ``Retry-After`` header |
| ``GET /readyz`` while a dependency fails      | 503    | ``{"ready": false, "failing": {dependency: why}}`` |

``ClientErrorMiddleware`` rewrites only those statuses, only on responses BentoML produced, and counts the
4xx ones in ``sahab_rejected_requests``. Nothing else passes through it differently.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

from bentoml.exceptions import BentoMLException

from bento_services.fraud_scoring.dependencies import LAST_READINESS, RETRY_AFTER_S, recent_failure
from bento_services.fraud_scoring.metrics import serving_metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class PayloadTooLarge(BentoMLException):
    """Raised while parsing a request that holds more items than ``serving.max_batch_size``: HTTP 413."""

    error_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def validation_body(bentoml_body: bytes) -> dict[str, Any]:
    """Turn BentoML's 400 body (pydantic errors) into ``{"error", "fields", "detail"}``."""
    try:
        data = json.loads(bentoml_body)
    except ValueError:
        data = {}
    detail = data.get("detail", []) if isinstance(data, dict) else []
    fields, problems = [], []
    for item in detail:
        loc = ".".join(str(part) for part in item.get("loc", [])) or "(body)"
        fields.append(loc)
        problems.append(f"{loc}: {item.get('msg', 'invalid')}")
    error = "invalid request: " + ("; ".join(problems) if problems else str(data.get("error", "validation failed")))
    return {"error": error, "fields": fields, "detail": detail}


def plain_error_body(bentoml_body: bytes) -> dict[str, Any]:
    """BentoML wraps its 4xx errors in a one-element list; answer the object itself."""
    try:
        data = json.loads(bentoml_body)
    except ValueError:
        return {"error": bentoml_body.decode("utf-8", "replace")}
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        return data[0]
    return data if isinstance(data, dict) else {"error": str(data)}


def dependency_body(bentoml_body: bytes) -> dict[str, Any]:
    """A 503 caused by a dependency: the failure's body (``dependencies.recent_failure``); other 503s (an overloaded
    batcher) pass as objects."""
    return recent_failure() or plain_error_body(bentoml_body)


def readiness_body(_bentoml_body: bytes) -> dict[str, Any]:
    """``/readyz`` when not ready: which dependencies fail and why (from this worker's last check)."""
    return {"ready": False, "failing": dict(LAST_READINESS)}


class ClientErrorMiddleware:
    """ASGI middleware: 400 validation answers become 422 with field names; 413 bodies become objects; 503s name
    the dependency (with ``Retry-After``); a 503 ``/readyz`` names what fails."""

    REWRITTEN = {400: (422, validation_body), 413: (413, plain_error_body), 503: (503, dependency_body)}

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("path") == "/readyz":
            await self._readiness(scope, receive, send)
            return
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}

        async def rewriting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in self.REWRITTEN:
                held["start"], held["body"] = message, b""
                return
            if message["type"] == "http.response.body" and "start" in held:
                held["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                await self._send_rewritten(held["start"], held["body"], send)
                return
            await send(message)

        await self.app(scope, receive, rewriting_send)

    async def _readiness(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: dict[str, Any] = {}

        async def readiness_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                held["start"] = message
                return
            if message["type"] == "http.response.body" and "start" in held:
                if not message.get("more_body"):
                    await self._send_rewritten(held["start"], b"", send, rewrite=readiness_body)
                return
            await send(message)

        await self.app(scope, receive, readiness_send)

    async def _send_rewritten(
        self, start: Message, body: bytes, send: Send, rewrite: Callable[[bytes], dict[str, Any]] | None = None
    ) -> None:
        status, default_rewrite = self.REWRITTEN[start["status"]]
        content = (rewrite or default_rewrite)(body)
        payload = json.dumps(content).encode("utf-8")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")]
        headers += [(b"content-length", str(len(payload)).encode("ascii")), (b"content-type", b"application/json")]
        if status == 503 and "dependency" in content:
            headers.append((b"retry-after", str(RETRY_AFTER_S).encode("ascii")))
        if status < 500:
            serving_metrics().rejected_requests.labels(status=str(status)).inc()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

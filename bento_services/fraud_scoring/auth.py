"""Bearer-token authentication on every route but health and readiness (``serving.auth: bearer``).

The service compares the SHA-256 of the offered token with the digests it reads (``serving_secrets``), in
constant time; a missing or unknown token is a 401 with ``WWW-Authenticate: Bearer`` and a body that says how
to get one. Kubernetes probes and load balancers call the open routes without a token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bento_services.serving_secrets import ApiTokens

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Routes open without a token: liveness, readiness and health only.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz"})

UNAUTHORISED = {
    "error": "missing or unknown bearer token: send 'Authorization: Bearer <token>' "
             "(an operator makes one with `sahab serve token create --name NAME`)",
}


class BearerAuthMiddleware:
    """ASGI middleware: 401 unless the request carries an accepted bearer token (open paths excepted)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], *, tokens: ApiTokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS or self._accepted(scope):
            await self.app(scope, receive, send)
            return
        payload = json.dumps(UNAUTHORISED).encode("utf-8")
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode("ascii")),
            (b"www-authenticate", b'Bearer realm="sahab"'),
        ]})
        await send({"type": "http.response.body", "body": payload})

    def _accepted(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and bool(token) and self.tokens.accepts(token.strip()) is not None
        return False

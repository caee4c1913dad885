"""The scorer's dependencies (the online store, the prediction log): bounded, reported, and readiness from them.

A request the service cannot answer truthfully is refused fast: a read of the online store that fails or takes
longer than ``serving.online_read_timeout_ms``, or a prediction-log write that fails, raises
``DependencyUnavailable``; the service answers **503** with a JSON body naming the dependency and a
``Retry-After`` header (``http_errors``), never a score on default features and never a success record.

``DependencyHealth`` remembers the last outcome of each dependency and probes them on ``/readyz``, so readiness
is false while a dependency fails and true again once it answers, without traffic. Failures are counted in
``sahab_dependency_failures_total{dependency, kind}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from bentoml.exceptions import BentoMLException

ONLINE_STORE = "online_store"
PREDICTION_LOG = "prediction_log"

#: Seconds a client should wait before retrying a 503 for a dependency.
RETRY_AFTER_S = 1


class DependencyUnavailable(BentoMLException):
    """A dependency failed or exceeded its bound: HTTP 503.

    BentoML answers every 5xx with a generic body (the message stays in the server log), so the body the client
    gets is rebuilt by the HTTP middleware from ``recent_failure()``: the last failure of this worker."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, dependency: str, kind: str, detail: str) -> None:
        self.dependency, self.kind, self.detail = dependency, kind, detail
        super().__init__(json.dumps(body(dependency, detail)))  # what the server log shows


def body(dependency: str, detail: str) -> dict[str, object]:
    """The 503 body: which dependency, what happened, when to retry."""
    return {
        "error": f"{dependency.replace('_', ' ')} unavailable: {detail}",
        "dependency": dependency,
        "retry_after_s": RETRY_AFTER_S,
    }


def failure_kind(exc: BaseException) -> str:
    """A short, stable label for metrics: ``timeout``, ``locked``, ``disk_full``, ``read_only`` or the error type."""
    text = str(exc).lower()
    if isinstance(exc, TimeoutError) or "timed out" in text or "timeout" in text:
        return "timeout"
    if "locked" in text or "busy" in text:
        return "locked"
    if getattr(exc, "errno", None) == 28 or "no space" in text:
        return "disk_full"
    if getattr(exc, "errno", None) in (1, 13, 30) or "read-only" in text or "readonly" in text or "not permitted" in text:
        return "read_only"
    return type(exc).__name__


@dataclass
class _Status:
    ok: bool = True
    detail: str = ""
    since: float = 0.0


class DependencyHealth:
    """Last known state of each dependency, and probes that refresh it (``/readyz``)."""

    def __init__(self, on_failure: Callable[[str, str], None] | None = None) -> None:
        self._status: dict[str, _Status] = {}
        self._probes: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._on_failure = on_failure
        #: The dependency whose probe is running (``failing``), so a caller that stops waiting knows which one.
        self.probing: str | None = None

    def add_probe(self, dependency: str, probe: Callable[[], None]) -> None:
        """``probe`` raises when ``dependency`` cannot serve; it must be bounded in time."""
        self._probes[dependency] = probe

    def succeeded(self, dependency: str) -> None:
        with self._lock:
            status = self._status.get(dependency)
            if status is None or not status.ok:
                self._status[dependency] = _Status(ok=True, since=time.monotonic())

    def failed(self, dependency: str, exc: BaseException) -> DependencyUnavailable:
        """Record a failure; return the error to raise (the caller raises it ``from exc``)."""
        kind = failure_kind(exc)
        detail = f"{kind}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        with self._lock:
            self._status[dependency] = _Status(ok=False, detail=detail, since=time.monotonic())
        _LAST_FAILURE.update(dependency=dependency, detail=detail, at=time.monotonic())
        if self._on_failure is not None:
            self._on_failure(dependency, kind)
        return DependencyUnavailable(dependency, kind, detail)

    def failing(self) -> dict[str, str]:
        """Probe every dependency; those that fail now, with why (also kept for ``last_failing``)."""
        for dependency, probe in self._probes.items():
            self.probing = dependency
            try:
                probe()
            except Exception as exc:  # noqa: BLE001 - a failing probe is the answer, not an error of readiness
                self.failed(dependency, exc)
            else:
                self.succeeded(dependency)
        self.probing = None
        with self._lock:
            found = {name: status.detail for name, status in self._status.items() if not status.ok}
        LAST_READINESS.clear()
        LAST_READINESS.update(found)
        return found

    def timed_out(self, budget_s: float) -> dict[str, str]:
        """The readiness answer when the probes did not finish within ``budget_s``: the slow one is failing."""
        slow = self.probing or "probes"
        self.failed(slow, TimeoutError(f"no answer to the readiness probe within {budget_s * 1000:.0f} ms"))
        LAST_READINESS.clear()
        LAST_READINESS[slow] = f"timeout: no answer to the readiness probe within {budget_s * 1000:.0f} ms"
        return dict(LAST_READINESS)


#: What the last readiness check found failing in this worker (the ``/readyz`` answer's body reads it).
LAST_READINESS: dict[str, str] = {}

#: The last dependency failure of this worker: ``dependency``, ``detail``, ``at`` (monotonic seconds).
_LAST_FAILURE: dict[str, object] = {}

#: A 503 is attributed to the last failure only when that failure is this recent.
_ATTRIBUTION_WINDOW_S = 2.0


def recent_failure() -> dict[str, object] | None:
    """The 503 body for the last dependency failure, if it happened within the attribution window."""
    at = _LAST_FAILURE.get("at")
    if not isinstance(at, float) or time.monotonic() - at > _ATTRIBUTION_WINDOW_S:
        return None
    return body(str(_LAST_FAILURE["dependency"]), str(_LAST_FAILURE["detail"]))

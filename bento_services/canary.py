"""Canary judgement: error rate and p95 latency of the canary variant over a sliding time window.

One observation is one scored item (a transaction), not one HTTP request: with adaptive batching
a request holds many items and a batch mixes requests, and it is items that a bad model gets
wrong. The verdict needs ``min_requests`` items inside ``window_seconds`` so that a single slow
warm-up call cannot roll a canary back.

The window stores one entry per observed batch (time, items, errors, latency), not per item, and
the p95 is recomputed at most every ``LATENCY_JUDGE_INTERVAL_S``: a busy server scores thousands
of items a second and must not sort them all on every batch.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from environments import CanaryConfig

#: Seconds between two p95 computations (the error rate is judged on every observation).
LATENCY_JUDGE_INTERVAL_S = 0.1


@dataclass(frozen=True)
class CanaryVerdict:
    """Why the canary must be rolled back, with the numbers that crossed the line."""

    variant: str
    reason: str
    observations: int
    error_rate: float
    p95_latency_ms: float


@dataclass(frozen=True)
class _Batch:
    at: float
    items: int
    errors: int
    latency_ms: float


class CanaryMonitor:
    """Keeps the canary's recent outcomes and says when a threshold is crossed.

    | condition (over the window, >= min_requests items) | verdict                        |
    |----------------------------------------------------|--------------------------------|
    | error rate > max_error_rate                        | roll back: error rate          |
    | p95 latency > max_p95_latency_ms                   | roll back: p95 latency         |
    | fewer than min_requests items                      | none yet (not enough evidence) |
    """

    def __init__(self, config: CanaryConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._window: deque[_Batch] = deque()
        self._items = 0
        self._errors = 0
        self._last_latency_judgement = float("-inf")

    def reset(self) -> None:
        """Forget the window: the canary starts afresh after an operator changes the weights."""
        self._window.clear()
        self._items = self._errors = 0
        self._last_latency_judgement = float("-inf")

    def observe(self, *, ok: bool, latency_ms: float, count: int = 1) -> CanaryVerdict | None:
        """Record ``count`` items that shared one outcome and latency; return a verdict when one is due."""
        now = self._clock()
        batch = _Batch(now, count, 0 if ok else count, latency_ms)
        self._window.append(batch)
        self._items += batch.items
        self._errors += batch.errors
        self._evict(now)
        return self._judge(now)

    def _evict(self, now: float) -> None:
        horizon = now - self.config.window_seconds
        while self._window and self._window[0].at < horizon:
            old = self._window.popleft()
            self._items -= old.items
            self._errors -= old.errors

    def _judge(self, now: float) -> CanaryVerdict | None:
        n = self._items
        if n < self.config.min_requests:
            return None
        window = f"over the last {n} items in {self.config.window_seconds:g} s"
        error_rate = self._errors / n
        if error_rate > self.config.max_error_rate:
            reason = f"error rate {error_rate:.2f} > max_error_rate {self.config.max_error_rate:g} {window}"
            return CanaryVerdict(self.config.variant, reason, n, error_rate, self.p95_latency_ms())
        if now - self._last_latency_judgement < LATENCY_JUDGE_INTERVAL_S:
            return None
        self._last_latency_judgement = now
        p95 = self.p95_latency_ms()
        if p95 > self.config.max_p95_latency_ms:
            reason = f"p95 latency {p95:.1f} ms > max_p95_latency_ms {self.config.max_p95_latency_ms:g} {window}"
            return CanaryVerdict(self.config.variant, reason, n, error_rate, p95)
        return None

    def p95_latency_ms(self) -> float:
        """Nearest-rank p95 over the items in the window (a latency that really happened), 0 when empty."""
        if not self._items:
            return 0.0
        rank = -(-95 * self._items // 100)  # ceil(0.95 * n) in integers
        seen = 0
        for batch in sorted(self._window, key=lambda b: b.latency_ms):
            seen += batch.items
            if seen >= rank:
                return batch.latency_ms
        return self._window[-1].latency_ms

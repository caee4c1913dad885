"""The canary monitor's sliding window: evidence threshold, window expiry, p95 by item."""

from __future__ import annotations

from bento_services.canary import CanaryMonitor
from environments import CanaryConfig


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def monitor(clock: Clock, **rules) -> CanaryMonitor:
    return CanaryMonitor(CanaryConfig(variant="canary", **rules), clock=clock)


def test_no_verdict_before_min_requests_items() -> None:
    canary = monitor(Clock(), min_requests=20)
    assert all(canary.observe(ok=False, latency_ms=1.0) is None for _ in range(19))


def test_errors_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    canary = monitor(clock, min_requests=20, window_seconds=10, max_error_rate=0.05)
    canary.observe(ok=False, latency_ms=1.0, count=5)
    clock.now = 11.0
    assert canary.observe(ok=True, latency_ms=1.0, count=20) is None


def test_error_rate_verdict_names_the_rate_and_the_threshold() -> None:
    canary = monitor(Clock(), min_requests=10, max_error_rate=0.1)
    verdict = canary.observe(ok=False, latency_ms=1.0, count=10)
    assert verdict is not None
    assert verdict.reason.startswith("error rate 1.00 > max_error_rate 0.1 over the last 10 items")


def test_p95_counts_items_not_batches() -> None:
    # 96 fast items in one batch and 4 slow ones: the p95 item is fast although half the batches are slow.
    canary = monitor(Clock(), min_requests=10, max_p95_latency_ms=50)
    canary.observe(ok=True, latency_ms=5.0, count=96)
    assert canary.observe(ok=True, latency_ms=500.0, count=4) is None
    assert canary.p95_latency_ms() == 5.0


def test_reset_forgets_the_window() -> None:
    canary = monitor(Clock(), min_requests=10, max_error_rate=0.1)
    canary.observe(ok=False, latency_ms=1.0, count=9)
    canary.reset()
    assert canary.observe(ok=False, latency_ms=1.0) is None

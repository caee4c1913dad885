"""A/B, shadow and canary routing between model variants, with sticky assignment and rollback.

Assignment is sticky: an entity (the customer) is mapped to a point ``u`` in [0, 1) by a keyed
BLAKE2b hash of its id (stable across processes, machines and Python versions, unlike
``hash()``), and gets the variant whose cumulative weight interval holds ``u``. The same customer
therefore always meets the same model while the weights stay put, and a weight change moves only
the customers in the slice that changed hands.

Weights come from ``env.serving.variants`` and can be changed at run time through the weights
file (see ``weights_file``), which every worker re-reads when it changes. A canary variant is
watched by a ``CanaryMonitor``; when it crosses a threshold its weight goes to 0, the other live
variants keep their proportions, and the new weights are written to the file so that every worker
(and a restarted server) agrees. In a cluster the file is a read-only ConfigMap that ``sahab serve
weights`` sets: a rollback there holds in the pod that judged it (logged, counted in its metrics), and an
operator makes it cluster-wide with ``sahab serve weights``.

| variant role | gets live traffic | scored | answer returned |
|--------------|-------------------|--------|-----------------|
| weighted     | its weight        | yes    | yes             |
| canary       | its weight        | yes    | yes; rolled back to 0 on a bad window |
| shadow       | 0 (by rule)       | every item, beside the live variant | never |
"""

from __future__ import annotations

import hashlib
import logging
import threading
from bisect import bisect_right
from dataclasses import dataclass

from bento_services.canary import CanaryMonitor, CanaryVerdict
from bento_services.weights_file import WeightsFile, WeightsState, validate_weights
from environments import ServingConfig

log = logging.getLogger(__name__)

_TWO_TO_64 = float(2**64)


def entity_point(entity_id: str, key: bytes) -> float:
    """Where an entity falls in [0, 1): the first 8 bytes of a BLAKE2b digest of its id keyed with the environment's
    secret routing key (``serving_secrets.routing_key``), so no caller can choose ids that land on a variant."""
    digest = hashlib.blake2b(entity_id.encode("utf-8"), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") / _TWO_TO_64


@dataclass(frozen=True)
class Rollback:
    """A canary rollback that just happened: who, why, and the weights now in force."""

    variant: str
    reason: str
    weights: dict[str, float]


class Router:
    """Chooses the variant for each entity and applies canary rollbacks. Thread-safe."""

    def __init__(self, serving: ServingConfig, *, routing_key: bytes, weights_file: WeightsFile | None = None) -> None:
        self.variants: list[str] = [v.name for v in serving.variants]
        self.shadow: str | None = serving.shadow_variant
        self.canary_variant: str | None = serving.canary.variant if serving.canary else None
        self._configured = {v.name: v.weight for v in serving.variants}
        self._weights_file = weights_file
        self._routing_key = routing_key
        self._canary = CanaryMonitor(serving.canary) if serving.canary else None
        self._lock = threading.Lock()
        self._state = WeightsState(weights=dict(self._configured), reason="environment file")
        self._bounds: list[float] = []
        self._live: list[str] = []
        self._apply(self._state)
        self.refresh()

    # ---- weights ---------------------------------------------------------------------------
    @property
    def state(self) -> WeightsState:
        return self._state

    def weights(self) -> dict[str, float]:
        return dict(self._state.weights)

    def refresh(self) -> None:
        """Adopt the weights file if it changed; fall back to the environment when it is removed."""
        if self._weights_file is None:
            return
        from_file = self._weights_file.read()
        wanted = from_file if from_file is not None else WeightsState(dict(self._configured), "environment file")
        if wanted.weights != self._state.weights or wanted.rolled_back != self._state.rolled_back:
            validate_weights(wanted.weights, self.variants, shadow=self.shadow)
            with self._lock:
                self._apply(wanted)
                self._restart_canary_watch()

    def set_weights(self, weights: dict[str, float], *, reason: str) -> WeightsState:
        """Validate and apply new weights in this process, and persist them for the other workers."""
        validate_weights(weights, self.variants, shadow=self.shadow)
        state = WeightsState(weights=dict(weights), reason=reason)
        with self._lock:
            self._apply(state)
            self._restart_canary_watch()
        self._persist(state)
        return state

    def _persist(self, state: WeightsState) -> None:
        """Write the weights for the other workers; a read-only or full file system keeps them in this process."""
        if self._weights_file is None:
            return
        try:
            self._weights_file.write(state)
        except OSError as exc:
            log.warning("weights in force in this process only, not persisted to %s: %s (%s)",
                        self._weights_file.path, state.reason, exc)

    def _apply(self, state: WeightsState) -> None:
        live = [(name, state.weights.get(name, 0.0)) for name in self.variants if state.weights.get(name, 0.0) > 0]
        bounds, total = [], 0.0
        for _, weight in live:
            total += weight
            bounds.append(total)
        self._live = [name for name, _ in live]
        self._bounds = [b / total for b in bounds]  # exact 1.0 at the end despite float sums
        self._state = state

    def _restart_canary_watch(self) -> None:
        # Outcomes judged under the old weights must not roll back a canary an operator re-enabled.
        if self._canary is not None:
            self._canary.reset()

    # ---- assignment ------------------------------------------------------------------------
    def assign(self, entity_id: str) -> str:
        """The live variant for this entity (sticky while the weights stay the same)."""
        index = bisect_right(self._bounds, entity_point(entity_id, self._routing_key))
        return self._live[min(index, len(self._live) - 1)]

    def fallback_for(self, variant: str) -> str | None:
        """The variant that answers when ``variant`` fails: the heaviest other live variant."""
        others = [(w, n) for n, w in self._state.weights.items() if n != variant and n != self.shadow and w > 0]
        return max(others)[1] if others else None

    # ---- canary ----------------------------------------------------------------------------
    def observe(self, variant: str, *, ok: bool, latency_ms: float, count: int = 1) -> Rollback | None:
        """Feed one outcome of ``variant``; roll the canary back (and return what happened) when due."""
        if self._canary is None or variant != self.canary_variant:
            return None
        if self._state.weights.get(variant, 0.0) == 0.0:
            return None  # already out of traffic: nothing to judge
        verdict = self._canary.observe(ok=ok, latency_ms=latency_ms, count=count)
        return self._roll_back(verdict) if verdict else None

    def _roll_back(self, verdict: CanaryVerdict) -> Rollback:
        canary = verdict.variant
        with self._lock:
            current = self._state.weights
            others = {n: w for n, w in current.items() if n not in (canary, self.shadow)}
            total = sum(others.values())
            if total > 0:
                new = {n: (others[n] / total if n in others else 0.0) for n in self.variants}
            else:  # the canary had all the traffic: share it evenly among the other live-able variants
                new = {n: (1.0 / len(others) if n in others else 0.0) for n in self.variants}
            rolled_back = {**self._state.rolled_back, canary: verdict.reason}
            state = WeightsState(weights=new, reason=f"canary '{canary}' rolled back: {verdict.reason}",
                                 rolled_back=rolled_back)
            self._apply(state)
        self._persist(state)
        return Rollback(canary, verdict.reason, dict(new))

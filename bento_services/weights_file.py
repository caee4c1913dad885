"""The run-time routing weights, kept in one small JSON file that every server worker watches.

Why a file and not an admin route: a BentoML server may run several worker processes, and an
HTTP call reaches only one of them. A file under ``<data>/run/weights.json`` is seen by all of
them (each checks its modification time before routing a batch, a ~1 µs ``stat``), survives a
restart, is written atomically (temporary file + ``os.replace``) and needs no credentials beyond
the file system. ``sahab serve weights a=0.9 b=0.1`` and the canary's automatic rollback both write
it; deleting it (``sahab serve weights --reset``) returns to the weights of the environment file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from environments.errors import ConfigError
from environments.rules import weight_problems

WEIGHTS_FILE_NAME = "weights.json"


@dataclass(frozen=True)
class WeightsState:
    """Live traffic shares per variant, why they were set, and which variants were rolled back."""

    weights: dict[str, float]
    reason: str
    updated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    rolled_back: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"weights": self.weights, "reason": self.reason, "updated_at": self.updated_at,
             "rolled_back": self.rolled_back},
            indent=2, sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str) -> WeightsState:
        try:
            data = json.loads(text)
            weights = {str(k): float(v) for k, v in data["weights"].items()}
            return cls(
                weights=weights,
                reason=str(data.get("reason", "")),
                updated_at=str(data.get("updated_at", "")),
                rolled_back={str(k): str(v) for k, v in data.get("rolled_back", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"is not a valid weights file ({exc}); fix it or run 'sahab serve weights --reset'", source=source
            ) from None


def validate_weights(weights: dict[str, float], variants: list[str], *, shadow: str | None = None) -> dict[str, float]:
    """Check a complete weight assignment against the configured variants; raise once naming every problem.

    Every configured variant must get a weight (a missing one would silently keep its old share); the
    shares themselves obey the schema's rule (``environments.rules.weight_problems``): each in [0, 1],
    summing to 1, a shadow variant at 0.
    """
    problems: list[str] = []
    unknown = sorted(set(weights) - set(variants))
    if unknown:
        problems.append(f"unknown variant(s) {unknown}; the environment defines {variants}")
    missing = [v for v in variants if v not in weights]
    if missing:
        problems.append(f"every variant needs a weight; missing: {missing}")
    problems += weight_problems(weights, shadow=shadow)
    if problems:
        raise ConfigError(problems)
    return dict(weights)


def parse_weight_pairs(pairs: list[str]) -> dict[str, float]:
    """Parse ``["a=0.9", "b=0.1"]`` as typed on the command line."""
    weights: dict[str, float] = {}
    problems: list[str] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            problems.append(f"'{pair}' must look like VARIANT=WEIGHT, e.g. a=0.9")
    if problems:
        raise ConfigError(problems)
    return weights


class WeightsStore(Protocol):
    """Where live weights are kept: this file locally, a ConfigMap the pods mount in a cluster (``infra.cluster``)."""

    @property
    def where(self) -> str: ...

    def read(self) -> WeightsState | None: ...

    def write(self, state: WeightsState) -> None: ...

    def remove(self) -> bool: ...


class WeightsFile:
    """Reads (cached by modification time) and atomically writes the weights file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._cached: WeightsState | None = None

    @property
    def where(self) -> str:
        return str(self.path)

    @classmethod
    def for_run_dir(cls, run_dir: Path) -> WeightsFile:
        return cls(run_dir / WEIGHTS_FILE_NAME)

    def read(self) -> WeightsState | None:
        """The current state, or None when no file exists; re-parsed only when the file changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._cached = None, None
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # os.replace gives a new inode
        if stamp != self._stamp:
            self._cached = WeightsState.from_json(self.path.read_text(), source=str(self.path))
            self._stamp = stamp
        return self._cached

    def write(self, state: WeightsState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".weights-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            handle.write(state.to_json())
        os.replace(tmp, self.path)

    def remove(self) -> bool:
        """Delete the file (back to the environment's weights); True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

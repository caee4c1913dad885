"""What ``sahab diff`` reports: resource changes per stack, the policy delta and the cost delta.

Plain frozen dataclasses, so the markdown and JSON renderers (and tests) read the same values, whether the
changes came from comparing two syntheses or from a Terraform plan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["create", "delete", "update", "replace", "move"]
#: How each action is marked in the comment (Terraform's own plan symbols; a move is Terraform's "moved").
SYMBOLS: dict[str, str] = {"create": "+", "delete": "-", "update": "~", "replace": "-/+", "move": "→"}


@dataclass(frozen=True)
class AttributeChange:
    """One changed attribute: its dotted path, old and new values (references shown by name)."""

    path: str
    old: Any
    new: Any
    forces_replacement: bool = False
    ignored_after_create: bool = False
    """The resource lists it in ``lifecycle.ignore_changes``: Terraform applies it only when creating."""


@dataclass(frozen=True)
class ResourceChange:
    stack: str
    address: str
    """Terraform's address in the head (``aws_s3_bucket.DataBucket_AA5588B5``), or in the base if deleted."""
    type: str
    path: str
    """The construct path, e.g. ``DataBucket/Bucket``: what the comment names the resource by."""
    action: Action
    attributes: tuple[AttributeChange, ...] = ()
    moved_from: str = ""
    """For a move: ``<stack>:<address>`` in the base."""

    @property
    def replacing(self) -> tuple[AttributeChange, ...]:
        return tuple(a for a in self.attributes if a.forces_replacement)


@dataclass(frozen=True)
class Finding:
    """One failed check on one resource: how both sides' gates are compared."""

    check_id: str
    stack: str
    address: str
    message: str


@dataclass(frozen=True)
class PolicyDelta:
    newly_failing: tuple[Finding, ...]
    """Failures on the head side that the base did not have (all of them when the base was not gated)."""
    newly_passing: tuple[Finding, ...]
    head_failures: int
    """Every failure on the head side (a failure also present in the base still fails the gate)."""
    base_unavailable: str = ""
    """Why the base side's gate gave no result (then nothing is "new"), empty when it ran."""


@dataclass(frozen=True)
class EnvironmentCost:
    env: str
    base_aed: float
    head_aed: float
    changed: tuple[tuple[str, float, float], ...]
    """(item, base AED, head AED) for each line whose monthly cost differs."""
    unpriced: tuple[str, ...] = ()

    @property
    def delta_aed(self) -> float:
        return self.head_aed - self.base_aed


@dataclass(frozen=True)
class PriceSource:
    region: str
    date: str
    source: str
    currency_rate: str


@dataclass(frozen=True)
class DiffReport:
    base: str
    """The base git ref as given, and its commit."""
    environments: tuple[str, ...]
    changes: tuple[ResourceChange, ...]
    policy: PolicyDelta | None = None
    costs: tuple[EnvironmentCost, ...] = ()
    prices: PriceSource | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def replacements(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.action == "replace")

    @property
    def gate_failed(self) -> bool:
        return self.policy is not None and self.policy.head_failures > 0

    def verdict(self) -> str:
        """The one line at the top of the comment: changes, replacements, policy, cost."""
        delta = sum(c.delta_aed for c in self.costs)
        if not self.changes:
            parts = ["no infrastructure change"]
        else:
            parts = [_count(len(self.changes), "change"), _count(len(self.replacements), "replacement")]
        if self.policy is not None:
            if self.policy.base_unavailable:
                if self.policy.head_failures:
                    parts.append(f"policy gate FAILS ({_count(self.policy.head_failures, 'failure')}; base not gated)")
                elif self.changes:
                    parts.append("policy clean (base not gated)")
            elif self.policy.newly_failing:
                parts.append(_count(len(self.policy.newly_failing), "new policy failure"))
            elif self.policy.head_failures:
                parts.append(f"policy gate FAILS ({_count(self.policy.head_failures, 'failure')}, none new)")
            elif self.changes:
                parts.append("policy clean")
        if self.costs and (self.changes or round(delta)):
            parts.append(f"{delta:+,.0f} AED/month")
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["verdict"] = self.verdict()
        document["gate_failed"] = self.gate_failed
        return document


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

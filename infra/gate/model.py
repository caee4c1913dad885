"""What the policy gate reports: one outcome per check and resource, grouped by stack.

Plain frozen dataclasses, so the console table, SARIF and JUnit writers (and tests) read the same
values. Skipped built-in checks are part of the report (with their reasons) because Checkov's
``--skip-check`` drops them from its own output without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Result = Literal["PASSED", "FAILED"]


@dataclass(frozen=True)
class Skip:
    """A built-in Checkov check we do not run, and why (from ``policies/skips.yaml``)."""

    check_id: str
    reason: str


@dataclass(frozen=True)
class CheckInfo:
    """One of our ``CKV_SAHAB`` checks, as Checkov's registries know it."""

    check_id: str
    name: str
    block_type: str
    """``resource``, ``provider`` or ``data``."""
    entities: tuple[str, ...]
    """Types (or patterns such as ``aws_*``) the check applies to."""
    rationale: str
    source: str
    """Class name of a Python check, or the id of a YAML graph check."""


@dataclass(frozen=True)
class Outcome:
    """The result of one check on one resource, provider or data source."""

    check_id: str
    check_name: str
    result: Result
    stack: str
    address: str
    """``aws_s3_bucket.Data``, ``provider.aws``, ``provider.aws.<alias>`` or ``data.<type>.<name>``."""
    file: Path
    """The stack file that was checked (the original, not the gate's scan copy)."""
    line_range: tuple[int, int]
    details: tuple[str, ...] = ()
    """Why it failed and what to change (Sahab's Python checks always say)."""
    evaluated_keys: tuple[str, ...] = ()
    guideline: str = ""


@dataclass(frozen=True)
class StackReport:
    name: str
    file: Path
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.result == "PASSED")

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.result == "FAILED")

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == "FAILED"]


@dataclass(frozen=True)
class GateReport:
    stacks: tuple[StackReport, ...]
    skips: tuple[Skip, ...]
    custom_checks: tuple[CheckInfo, ...]
    checkov_version: str
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What the gate changed in its scan copies, said openly (e.g. checkov issue 7454)."""

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for s in self.stacks for o in s.outcomes]

    @property
    def failures(self) -> list[Outcome]:
        return [o for s in self.stacks for o in s.failures]

    @property
    def passed(self) -> int:
        return sum(s.passed for s in self.stacks)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.stacks)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def stack(self, name: str) -> StackReport:
        for stack in self.stacks:
            if stack.name == name:
                return stack
        raise KeyError(f"no stack {name!r} in this report; stacks: {[s.name for s in self.stacks]}")

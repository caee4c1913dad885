"""What the evidence pack holds: frozen dataclasses that the HTML page, the JSON file and the console all read.

Every value is already a string, number or tuple of those, so the JSON is ``dataclasses.asdict`` as is, and
the two files cannot disagree.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from infra.gate.model import Skip

Status = Literal["pass", "fail"]
EgressState = Literal["passed", "failed", "absent"]


@dataclass(frozen=True)
class ResourceLink:
    """A resource of the environment's stacks: where it is (stack + Terraform address) and its construct path."""

    stack: str
    address: str
    path: str


@dataclass(frozen=True)
class CheckLink:
    """One gate check's results for a control: how many passed (on the row's resources) and failed."""

    check_id: str
    name: str
    passed: int
    """Outcomes that passed anywhere in the environment's stacks."""
    passed_on_resources: int
    """Outcomes that passed on one of the row's resources: what counts as proof."""
    failed: int
    skipped_reason: str = ""
    """Set when the check is a built-in listed in ``policies/skips.yaml`` (no outcome then)."""


@dataclass(frozen=True)
class Failure:
    """A failed check on one resource, with Checkov's details: what to change."""

    check_id: str
    stack: str
    address: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class ControlRow:
    control_id: str
    framework: str
    title: str
    requires: str
    status: Status
    reasons: tuple[str, ...]
    """Why the row is red, one line each (empty when it passes)."""
    resources: tuple[ResourceLink, ...]
    checks: tuple[CheckLink, ...]
    failures: tuple[Failure, ...]


@dataclass(frozen=True)
class InventoryItem:
    """One resource of an inventory section (a key, a bucket, a log destination, a guard, a backup resource)."""

    stack: str
    address: str
    path: str
    facts: tuple[tuple[str, str], ...]
    """Ordered ``(label, value)`` pairs, e.g. ``("rotation", "on, every 365 days")``."""
    problems: tuple[str, ...] = ()
    """What makes this item red, in words (e.g. a bucket not under one of our keys)."""


@dataclass(frozen=True)
class InventorySection:
    title: str
    resource_types: tuple[str, ...]
    items: tuple[InventoryItem, ...]
    empty_note: str
    """What an empty section means, shown instead of a table (e.g. "not enabled")."""


@dataclass(frozen=True)
class Residency:
    """The "system of record in the UAE" statement, derived from the stacks' regions and ARNs."""

    statement: str
    status: Status
    regions_seen: tuple[str, ...]
    problems: tuple[str, ...]
    """Each place (provider, backend, remote state, attribute, ARN) outside the allowed regions."""


@dataclass(frozen=True)
class EgressTest:
    name: str
    outcome: Literal["passed", "failed", "skipped"]
    message: str = ""


@dataclass(frozen=True)
class EgressEvidence:
    """The egress test's last result, read from the pytest JUnit file."""

    source: str
    state: EgressState
    tests: tuple[EgressTest, ...]
    note: str


@dataclass(frozen=True)
class GateSummary:
    checkov_version: str
    passed: int
    failed: int
    stacks: tuple[str, ...]
    skips: tuple[Skip, ...]
    failures: tuple[Failure, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Header:
    environment: str
    region: str
    allowed_regions: tuple[str, ...]
    commit: str
    dirty: bool
    generated_at: str
    """UTC, ISO 8601."""


@dataclass(frozen=True)
class EvidencePack:
    header: Header
    residency: Residency
    controls: tuple[ControlRow, ...]
    inventory: tuple[InventorySection, ...]
    gate: GateSummary
    egress: EgressEvidence

    @property
    def red_rows(self) -> tuple[ControlRow, ...]:
        return tuple(row for row in self.controls if row.status == "fail")

    @property
    def red(self) -> tuple[str, ...]:
        """The ids of the red control rows, and ``residency`` when the statement is false."""
        return tuple(row.control_id for row in self.red_rows) + (("residency",) if self.residency.status == "fail" else ())

    @property
    def ok(self) -> bool:
        """Every control row green and the residency statement true."""
        return not self.red

    def row(self, control_id: str) -> ControlRow:
        for row in self.controls:
            if row.control_id == control_id:
                return row
        raise KeyError(f"no control row {control_id!r}; rows: {[r.control_id for r in self.controls]}")


def to_json(pack: EvidencePack) -> str:
    """The pack as JSON (sorted keys, so two packs of the same tree differ only in time and commit)."""
    document: dict[str, Any] = dataclasses.asdict(pack)
    document["ok"] = pack.ok
    return json.dumps(document, sort_keys=True, indent=2) + "\n"

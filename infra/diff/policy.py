"""The policy delta: checks that fail on the head side and not on the base side, and the reverse.

Each side's gate is read from the SARIF it wrote (SARIF is the gate's published format, so the base side may
be an older Sahab), one finding per failed result: check id, stack and address from the logical location.
Addresses of blocks that moved are compared under their new names, so a move alone is not a new failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from infra.diff.model import Finding, PolicyDelta


def read_findings(sarif: Path) -> list[Finding]:
    """Every failed result in a SARIF 2.1.0 file written by the gate."""
    findings = []
    for run in json.loads(sarif.read_text()).get("runs", []):
        for result in run.get("results", []):
            if result.get("level", "warning") != "error":
                continue
            logical = result.get("locations", [{}])[0].get("logicalLocations", [{}])[0].get("fullyQualifiedName", "")
            stack, _, address = logical.partition("/")
            text = result.get("message", {}).get("text", "").replace(f": {stack} {address}", "", 1)
            findings.append(Finding(result["ruleId"], stack, address, text))
    return findings


def policy_delta(
    base: Iterable[Finding] | None, head: Iterable[Finding], moved: Mapping[str, str] | None = None, *,
    base_unavailable: str = "",
) -> PolicyDelta:
    """Compare failures; ``moved`` maps a base ``<stack>:<address>`` to its head one."""
    head = list(head)
    if base is None:
        return PolicyDelta(tuple(head), (), len(head), base_unavailable or "the base side's gate did not run")
    moved = moved or {}

    def where(finding: Finding) -> tuple[str, str, str]:
        base_key = f"{finding.stack}:{finding.address}"
        stack, _, address = moved.get(base_key, base_key).partition(":")
        return finding.check_id, stack, address

    base_keys = {where(f) for f in base}
    head_keys = {(f.check_id, f.stack, f.address) for f in head}
    return PolicyDelta(
        newly_failing=tuple(f for f in head if (f.check_id, f.stack, f.address) not in base_keys),
        newly_passing=tuple(f for f in base if where(f) not in head_keys),
        head_failures=len(head),
    )

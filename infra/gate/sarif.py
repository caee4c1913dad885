"""SARIF 2.1.0 for code-scanning UIs: one rule per check run, one result per failed check.

Written by us rather than by Checkov's ``-o sarif`` because Checkov lists only rules that failed
and drops ``--skip-check`` ids without a trace; here every check that ran has a rule, and every
skipped built-in check appears as a disabled rule carrying its reason from ``policies/skips.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.gate.model import GateReport, Outcome

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "sahab-policy-gate"
CHECKOV_URI = "https://www.checkov.io/"


def sarif_document(report: GateReport, *, root: Path | None = None) -> dict[str, Any]:
    """The report as a SARIF log (a dict ready for ``json.dump``)."""
    root = (root or Path.cwd()).resolve()
    rules, index = _rules(report)
    results = [_result(o, index[o.check_id], root) for o in report.failures]
    notifications = [
        {
            "descriptor": {"id": skip.check_id},
            "level": "note",
            "message": {"text": f"{skip.check_id} skipped by policies/skips.yaml: {skip.reason}"},
        }
        for skip in report.skips
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "fullName": f"Sahab policy gate (Checkov {report.checkov_version})",
                        "version": report.checkov_version,
                        "informationUri": CHECKOV_URI,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {"executionSuccessful": True, "toolConfigurationNotifications": notifications}
                ],
                "results": results,
                "properties": {
                    "stacks": [{"name": s.name, "passed": s.passed, "failed": s.failed} for s in report.stacks],
                    "notes": list(report.notes),
                },
            }
        ],
    }


def write_sarif(report: GateReport, path: Path, *, root: Path | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sarif_document(report, root=root), indent=2))
    return path


def _rules(report: GateReport) -> tuple[list[dict[str, Any]], dict[str, int]]:
    names: dict[str, str] = {}
    help_text: dict[str, str] = {}
    for outcome in report.outcomes:
        names.setdefault(outcome.check_id, outcome.check_name)
        help_text.setdefault(outcome.check_id, outcome.guideline)
    for check in report.custom_checks:
        names[check.check_id] = check.name
        help_text[check.check_id] = check.rationale
    rules: list[dict[str, Any]] = []
    for check_id in sorted(names, key=_rule_order):
        rule: dict[str, Any] = {
            "id": check_id,
            "shortDescription": {"text": names[check_id]},
            "defaultConfiguration": {"level": "error"},
        }
        if help_text.get(check_id):
            rule["fullDescription"] = {"text": help_text[check_id]}
            rule["help"] = {"text": help_text[check_id]}
        rules.append(rule)
    for skip in report.skips:
        rules.append({
            "id": skip.check_id,
            "shortDescription": {"text": f"Skipped by policies/skips.yaml: {skip.reason}"},
            "defaultConfiguration": {"enabled": False, "level": "none"},
            "properties": {"skipReason": skip.reason},
        })
    return rules, {rule["id"]: i for i, rule in enumerate(rules)}


def _rule_order(check_id: str) -> tuple[int, str, int]:
    prefix, _, number = check_id.rpartition("_")
    return (0 if prefix == "CKV_SAHAB" else 1, prefix, int(number) if number.isdigit() else 0)


def _result(outcome: Outcome, rule_index: int, root: Path) -> dict[str, Any]:
    details = "; ".join(outcome.details)
    text = f"{outcome.check_name}: {outcome.stack} {outcome.address}" + (f" ({details})" if details else "")
    start, end = outcome.line_range
    return {
        "ruleId": outcome.check_id,
        "ruleIndex": rule_index,
        "level": "error",
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(outcome.file, root)},
                    "region": {"startLine": max(start, 1), "endLine": max(end, start, 1)},
                },
                "logicalLocations": [{"fullyQualifiedName": f"{outcome.stack}/{outcome.address}", "kind": "resource"}],
            }
        ],
    }


def _uri(file: Path, root: Path) -> str:
    resolved = file.resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return resolved.as_uri()

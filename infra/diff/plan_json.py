"""A Terraform plan (``terraform show -json <plan>``, format 1.x) read into the same report as ``sahab diff``.

Where a plan exists (``sahab plan ENV --out DIR`` writes one per stack, named ``<stack>.plan.json``) it is the
better source: it knows the real state, so replacements come from Terraform's own ``replace_paths`` and moves
from ``previous_address``. Values known only after apply are shown as such; sensitive ones are never printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from environments.errors import ConfigError
from infra.diff.compare import attribute_changes
from infra.diff.model import DiffReport, ResourceChange
from infra.diff.replacements import schema_path

PLAN_SUFFIX = ".plan.json"
KNOWN_AFTER_APPLY = "(known after apply)"
SENSITIVE = "(sensitive)"
_ACTIONS: dict[tuple[str, ...], str] = {
    ("create",): "create", ("delete",): "delete", ("update",): "update",
    ("delete", "create"): "replace", ("create", "delete"): "replace",
}


def read_plans(paths: Iterable[Path]) -> DiffReport:
    """Every plan file given (a folder: every ``*.plan.json`` in it), one stack each, as one report."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob(f"*{PLAN_SUFFIX}")) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"no Terraform plan JSON found in {[str(p) for p in paths]}: run `sahab plan ENV --out DIR` first")
    changes: list[ResourceChange] = []
    for file in files:
        try:
            plan = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{file}: not a Terraform plan in JSON ({exc}); write one with `terraform show -json PLAN`") from None
        if "resource_changes" not in plan and "format_version" not in plan:
            raise ConfigError(f"{file}: not a Terraform plan in JSON (no 'format_version'); write one with `terraform show -json PLAN`")
        changes += plan_changes(file.name.removesuffix(PLAN_SUFFIX).removesuffix(".json"), plan)
    stacks = tuple(dict.fromkeys(c.stack for c in changes))
    return DiffReport(base="terraform plan", environments=stacks, changes=tuple(changes))


def plan_changes(stack: str, plan: Mapping[str, Any]) -> list[ResourceChange]:
    """The resource changes of one stack's plan (no-ops left out unless the resource moved)."""
    changes = []
    for entry in plan.get("resource_changes", []):
        change = entry.get("change", {})
        actions = tuple(change.get("actions", ()))
        moved_from = entry.get("previous_address", "")
        action = _ACTIONS.get(actions) or ("move" if moved_from else "")
        if not action:
            continue  # no-op or read
        before = _masked(change.get("before"), change.get("before_sensitive"))
        after = _masked(_with_unknowns(change.get("after"), change.get("after_unknown")), change.get("after_sensitive"))
        replace_paths = {_dotted(p) for p in change.get("replace_paths", [])}
        attributes = () if action in ("create", "delete") else tuple(attribute_changes(
            entry["type"], before, after, forces=lambda path: schema_path(path) in replace_paths))
        prefix = "data." if entry.get("mode") == "data" else ""
        changes.append(ResourceChange(
            stack, entry["address"], entry["type"], entry.get("name", entry["address"]), action,  # type: ignore[arg-type]
            attributes, f"{stack}:{moved_from.removeprefix(prefix)}" if moved_from else "",
        ))
    return sorted(changes, key=lambda c: (c.path, c.address))


def _with_unknowns(after: Any, unknown: Any) -> Any:
    if unknown is True:
        return KNOWN_AFTER_APPLY
    if isinstance(unknown, dict):
        after = dict(after or {})
        return {**after, **{k: _with_unknowns(after.get(k), u) for k, u in unknown.items()}}
    if isinstance(unknown, list) and isinstance(after, list):
        return [_with_unknowns(a, u) for a, u in zip(after, unknown + [None] * (len(after) - len(unknown)))]
    return after


def _masked(value: Any, sensitive: Any) -> Any:
    if sensitive is True:
        return SENSITIVE
    if isinstance(sensitive, dict) and isinstance(value, dict):
        return {k: _masked(v, sensitive.get(k)) for k, v in value.items()}
    if isinstance(sensitive, list) and isinstance(value, list):
        return [_masked(v, s) for v, s in zip(value, sensitive + [None] * (len(value) - len(sensitive)))]
    return value


def _dotted(path: list[Any]) -> str:
    return ".".join(str(part) for part in path if not isinstance(part, int))

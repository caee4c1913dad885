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
SENSITIVE_CHANGED = "(sensitive, changed)"
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
        raise ConfigError(f"no Terraform plan JSON found in {[str(p) for p in paths]}: "
                          "run `sahab plan ENV --out DIR` first")
    changes: list[ResourceChange] = []
    fix = "write one with `terraform show -json PLAN`"
    for file in files:
        try:
            plan = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{file}: not a Terraform plan in JSON ({exc}); {fix}") from None
        if "resource_changes" not in plan and "format_version" not in plan:
            raise ConfigError(f"{file}: not a Terraform plan in JSON (no 'format_version'); {fix}")
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
        raw_after = _with_unknowns(change.get("after"), change.get("after_unknown"))
        before, after = _masked(change.get("before"), raw_after,
                                change.get("before_sensitive"), change.get("after_sensitive"))
        # Terraform marks only the attributes a sensitive value was assigned to, not those derived from it
        # (terraform_data's ``output`` echoes its ``input``): any copy of a sensitive value is masked too.
        secrets = _sensitive_values(change.get("before"), change.get("before_sensitive")) | _sensitive_values(
            raw_after, change.get("after_sensitive"))
        before, after = _scrubbed(before, secrets), _scrubbed(after, secrets)
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


def _masked(before: Any, after: Any, before_sensitive: Any, after_sensitive: Any) -> tuple[Any, Any]:
    """Both sides with every sensitive value replaced; a changed one reads ``(sensitive, changed)``."""
    if before_sensitive is True or after_sensitive is True:
        return SENSITIVE, SENSITIVE if before == after else SENSITIVE_CHANGED
    if isinstance(before, dict) or isinstance(after, dict):
        b, a = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
        bs, as_ = _part(before_sensitive), _part(after_sensitive)
        pairs = {k: _masked(b.get(k), a.get(k), bs.get(k), as_.get(k)) for k in b.keys() | a.keys()}
        return ({k: p[0] for k, p in pairs.items() if k in b} if isinstance(before, dict) else before,
                {k: p[1] for k, p in pairs.items() if k in a} if isinstance(after, dict) else after)
    if isinstance(before, list) and isinstance(after, list):
        bs = before_sensitive if isinstance(before_sensitive, list) else []
        as_ = after_sensitive if isinstance(after_sensitive, list) else []
        length = max(len(before), len(after))
        pairs = [_masked(_at(before, i), _at(after, i), _at(bs, i), _at(as_, i)) for i in range(length)]
        return [p[0] for p in pairs[: len(before)]], [p[1] for p in pairs[: len(after)]]
    return before, after


def _sensitive_values(value: Any, sensitive: Any) -> set[str]:
    """Every scalar at or below a path marked sensitive, as text."""
    if sensitive is True:
        if isinstance(value, dict):
            return {t for v in value.values() for t in _sensitive_values(v, True)}
        if isinstance(value, list):
            return {t for v in value for t in _sensitive_values(v, True)}
        return {str(value)} if value not in (None, "", True, False) else set()
    if isinstance(sensitive, dict) and isinstance(value, dict):
        return {t for k, v in value.items() for t in _sensitive_values(v, sensitive.get(k))}
    if isinstance(sensitive, list) and isinstance(value, list):
        return {t for v, s in zip(value, sensitive) for t in _sensitive_values(v, s)}
    return set()


def _scrubbed(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrubbed(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, secrets) for v in value]
    if value is not None and secrets and any(secret in str(value) for secret in secrets):
        return SENSITIVE
    return value


def _part(sensitive: Any) -> dict[str, Any]:
    return sensitive if isinstance(sensitive, dict) else {}


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _dotted(path: list[Any]) -> str:
    return ".".join(str(part) for part in path if not isinstance(part, int))

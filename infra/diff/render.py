"""``sahab diff`` as a pull-request comment: a verdict line, then policy, cost and one collapsible section per stack.

Shaped after Atlantis' and Terraform Cloud's plan comments (Terraform's ``+ ~ -/+ -`` symbols, one section
per stack) and Infracost's (a cost table per environment). A hidden marker on the first line lets the CI
workflow find and update its one comment instead of adding another. GitHub refuses comments over 65,536
characters, so sections are cut (with a count of what was left out, all of it in the JSON) before that.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from typing import Any

from infra.diff.model import SYMBOLS, AttributeChange, DiffReport, ResourceChange

MARKER = "<!-- sahab-diff -->"
MAX_COMMENT_CHARS = 60_000
MAX_RESOURCES_PER_STACK = 60
_VALUE_CHARS = 80
_DIFF_LINES = 20


def render_markdown(report: DiffReport) -> str:
    lines = [MARKER, f"### Sahab infrastructure diff: **{report.verdict()}**", "",
             f"Base `{report.base}` → head (this tree); environments: {', '.join(report.environments) or '-'}.", ""]
    lines += _summary(report.changes)
    lines += _policy(report)
    lines += _costs(report)
    for note in report.notes:
        lines.append(f"> {note}")
    sections = [_stack_section(stack, [c for c in report.changes if c.stack == stack])
                for stack in dict.fromkeys(c.stack for c in report.changes)]
    text = "\n".join(lines)
    for index, section in enumerate(sections):
        if len(text) + len(section) > MAX_COMMENT_CHARS:
            left = len(sections) - index
            plural = "s" if left != 1 else ""
            text += f"\n\n_{left} more stack section{plural} left out (comment size limit); see the JSON._"
            break
        text += "\n\n" + section
    return text + "\n"


def render_json(report: DiffReport) -> str:
    return json.dumps(report.as_json(), indent=2, default=str) + "\n"


def _summary(changes: tuple[ResourceChange, ...]) -> list[str]:
    if not changes:
        return []
    actions = ("create", "update", "replace", "delete", "move")
    lines = ["| stack | " + " | ".join(f"{SYMBOLS[a]} {a}" for a in actions) + " |", "|---" * (len(actions) + 1) + "|"]
    for stack in dict.fromkeys(c.stack for c in changes):
        counts = Counter(c.action for c in changes if c.stack == stack)
        lines.append(f"| {stack} | " + " | ".join(str(counts[a] or "") for a in actions) + " |")
    return lines + [""]


def _policy(report: DiffReport) -> list[str]:
    policy = report.policy
    if policy is None:
        return []
    lines = ["#### Policy gate"]
    if policy.base_unavailable:
        lines.append(f"Base side not gated ({policy.base_unavailable}): which failures are new is unknown, "
                     "so every failure on the head side is listed.")
    if policy.newly_failing:
        new = "" if policy.base_unavailable else " new"
        lines += [f"**{len(policy.newly_failing)}{new} failure(s)** on the head side:", "",
                  "| check | stack | resource | what to change |", "|---|---|---|---|"]
        lines += [f"| {f.check_id} | {f.stack} | `{f.address}` | {_cell(f.message)} |" for f in policy.newly_failing]
    elif policy.head_failures:
        lines.append(f"**The gate fails** on the head side: {policy.head_failures} failure(s), "
                     "all present in the base too.")
    else:
        lines.append("Clean on the head side: no check fails.")
    if policy.newly_passing:
        lines += ["", f"{len(policy.newly_passing)} check(s) now pass that failed in the base:", ""]
        lines += [f"- {f.check_id} {f.stack} `{f.address}`" for f in policy.newly_passing]
    return lines + [""]


def _costs(report: DiffReport) -> list[str]:
    if not report.costs:
        return []
    lines = ["#### Monthly cost (AED, estimate)", "", "| environment | base | head | change |", "|---|---:|---:|---:|"]
    for cost in report.costs:
        lines.append(f"| {cost.env} | {cost.base_aed:,.0f} | {cost.head_aed:,.0f} | **{cost.delta_aed:+,.0f}** |")
    changed = [(cost.env, *line) for cost in report.costs for line in cost.changed]
    if changed:
        lines += ["", "<details><summary>What changed in the estimate</summary>", "",
                  "| environment | item | base | head |", "|---|---|---:|---:|"]
        lines += [f"| {env} | {_cell(item)} | {old:,.0f} | {new:,.0f} |" for env, item, old, new in changed]
        lines += ["", "</details>"]
    for cost in report.costs:
        lines += [f"- {cost.env}: unpriced: {item}" for item in cost.unpriced]
    if report.prices is not None:
        p = report.prices
        lines += ["", f"<sub>Prices for {p.region} dated {p.date}: {p.source}; {p.currency_rate}. "
                      "Usage-based charges (data transfer, requests) are not included.</sub>"]
    return lines + [""]


def _stack_section(stack: str, changes: list[ResourceChange]) -> str:
    counts = Counter(c.action for c in changes)
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    lines = [f"<details><summary><b>{stack}</b>: {summary}</summary>", ""]
    for change in changes[:MAX_RESOURCES_PER_STACK]:
        lines += _resource(change)
    if len(changes) > MAX_RESOURCES_PER_STACK:
        lines.append(f"- … {len(changes) - MAX_RESOURCES_PER_STACK} more (see the JSON)")
    return "\n".join(lines + ["", "</details>"])


def _resource(change: ResourceChange) -> list[str]:
    head = f"- `{SYMBOLS[change.action]}` **{change.path}** (`{change.type}`)"
    if change.moved_from:
        head += f", moved from `{change.moved_from}`"
        if change.stack != change.moved_from.split(":", 1)[0]:
            head += " (another stack: `terraform state mv` between the two states, a `moved` block cannot)"
        elif change.action == "move":
            head += f" (add a `moved` block: from `{change.moved_from.split(':', 1)[1]}` to `{change.address}`)"
    if change.action == "replace":
        head += ": **destroyed and re-created**"
    return [head] + [line for attribute in change.attributes for line in _attribute(attribute)]


def _attribute(attribute: AttributeChange) -> list[str]:
    notes = []
    if attribute.forces_replacement:
        notes.append("**forces replacement**")
    if attribute.ignored_after_create:
        notes.append("applied only when the resource is created or replaced: `lifecycle.ignore_changes`")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    old, new = attribute.old, attribute.new
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        changed = [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        shown = changed[:_DIFF_LINES]
        if len(changed) > _DIFF_LINES:
            shown.append(f"… {len(changed) - _DIFF_LINES} more lines")
        return [f"  - `{attribute.path}`{suffix}:", "    ```diff", *(f"    {line}" for line in shown), "    ```"]
    return [f"  - `{attribute.path}`: {_value(old)} → {_value(new)}{suffix}"]


def _value(value: Any) -> str:
    if value is None:
        return "_(none)_"
    text = json.dumps(value, sort_keys=True, default=str)
    if len(text) > _VALUE_CHARS:
        text = text[: _VALUE_CHARS - 1] + "…"
    return f"`{text.replace('`', chr(39))}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

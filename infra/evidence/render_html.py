"""The evidence pack as one self-contained HTML page: inline CSS, no script, no font, no image, no link out.

Residency applies to the report too: an auditor may open it on a machine that must not call out, so nothing on the
page loads from anywhere. Every value is escaped with ``html.escape`` (resource names, Checkov's details and test
messages come from files a user edits), and red rows say why in words, not in colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from pathlib import Path

from infra.evidence.model import ControlRow, EvidencePack, InventorySection, to_json

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1b1b1b;max-width:90em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
tr.fail td{background:#fde2e2}tr.pass td.status{background:#e3f4e3}
td.status{font-weight:bold;white-space:nowrap}
.fail .status{color:#a00000}.pass .status{color:#146c14}
ul{margin:.2em 0;padding-left:1.2em}code{font-size:.95em}
.statement{padding:.8em;border:2px solid #146c14;background:#e3f4e3}
.statement.fail{border-color:#a00000;background:#fde2e2}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _list(items: Iterable[str], empty: str = "none") -> str:
    rows = [f"<li>{_e(item)}</li>" for item in items]
    return f"<ul>{''.join(rows)}</ul>" if rows else _e(empty)


def _status(status: str) -> str:
    return "PASS" if status == "pass" else "FAIL"


def _control(row: ControlRow) -> str:
    resources = [f"{r.stack}:{r.address} ({r.path})" for r in row.resources]
    checks = [
        f"{c.check_id} {c.name}: " + (
            f"skipped ({c.skipped_reason})" if c.skipped_reason
            else f"{c.passed_on_resources} passed on these resources, {c.passed} passed, {c.failed} failed"
        )
        for c in row.checks
    ]
    return (
        f'<tr class="{_e(row.status)}" id="{_e(row.control_id)}">'
        f"<td><b>{_e(row.control_id)}</b><br>{_e(row.framework)}</td>"
        f"<td><b>{_e(row.title)}</b><br>{_e(row.requires)}</td>"
        f'<td class="status">{_status(row.status)}</td>'
        f"<td>{_list(row.reasons, 'all listed evidence holds')}</td>"
        f"<td>{_list(resources)}</td><td>{_list(checks)}</td></tr>"
    )


def _section(section: InventorySection) -> str:
    head = f"<h2>{_e(section.title)}</h2>"
    if not section.items:
        return head + f"<p>{_e(section.empty_note)}</p>"
    rows = []
    for item in section.items:
        facts = "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in item.facts)
        status = "fail" if item.problems else "pass"
        rows.append(
            f'<tr class="{status}"><td>{_e(item.stack)}:{_e(item.address)}<br><code>{_e(item.path)}</code></td>'
            f"<td><dl>{facts}</dl></td><td class=\"status\">{_status(status)}</td>"
            f"<td>{_list(item.problems, '')}</td></tr>"
        )
    return head + "<table><tr><th>resource</th><th>facts</th><th>status</th><th>why red</th></tr>" + "".join(rows) + "</table>"


def _verdict(pack: EvidencePack) -> str:
    if pack.ok:
        return "every control row holds and the residency statement is true"
    return f"{len(pack.red)} red: {', '.join(pack.red)}"


def render_html(pack: EvidencePack) -> str:
    """The whole page; every dynamic value escaped."""
    header, residency, gate, egress = pack.header, pack.residency, pack.gate, pack.egress
    commit = header.commit + (" (dirty: the working tree has uncommitted changes)" if header.dirty else "")
    summary = (
        f"<dl><dt>environment</dt><dd>{_e(header.environment)}</dd>"
        f"<dt>region</dt><dd>{_e(header.region)}</dd>"
        f"<dt>allowed regions</dt><dd>{_e(', '.join(header.allowed_regions))}</dd>"
        f"<dt>git commit</dt><dd><code>{_e(commit)}</code></dd>"
        f"<dt>generated (UTC)</dt><dd>{_e(header.generated_at)}</dd>"
        f"<dt>Checkov</dt><dd>{_e(gate.checkov_version)}</dd>"
        f"<dt>verdict</dt><dd>{_e(_verdict(pack))}</dd></dl>"
    )
    statement = (
        f'<p class="statement {_e(residency.status)}">{_e(residency.statement)}</p>'
        + (f"<p>Regions outside the allow-list:</p>{_list(residency.problems)}" if residency.problems else "")
    )
    controls = (
        "<table><tr><th>control</th><th>requirement</th><th>status</th><th>why</th><th>resources</th><th>checks</th></tr>"
        + "".join(_control(row) for row in pack.controls) + "</table>"
    )
    skips = "".join(f"<tr><td>{_e(s.check_id)}</td><td>{_e(s.reason)}</td></tr>" for s in gate.skips)
    failures = [f"{f.check_id} on {f.stack}:{f.address}: {'; '.join(f.details)}" for f in gate.failures]
    gate_html = (
        f"<p>{gate.passed} passed, {gate.failed} failed in {_e(', '.join(gate.stacks))}.</p>"
        + (f"<p>Failed checks:</p>{_list(failures)}" if failures else "")
        + "<h3>Skipped built-in checks (policies/skips.yaml)</h3>"
        + (f"<table><tr><th>check</th><th>reason</th></tr>{skips}</table>" if skips else "<p>none</p>")
        + (f"<p>Notes:</p>{_list(gate.notes)}" if gate.notes else "")
    )
    egress_rows = "".join(
        f'<tr class="{"fail" if t.outcome == "failed" else "pass"}"><td>{_e(t.name)}</td>'
        f'<td class="status">{_e(t.outcome)}</td><td>{_e(t.message)}</td></tr>'
        for t in egress.tests
    )
    egress_html = (
        f'<p class="statement {"fail" if egress.state == "failed" else "pass"}">'
        f"{_e(egress.state)}: {_e(egress.note)} (source: {_e(egress.source)})</p>"
        + (f"<table><tr><th>test</th><th>result</th><th>message</th></tr>{egress_rows}</table>" if egress_rows else "")
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Sahab evidence pack: {_e(header.environment)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Sahab compliance evidence pack: {_e(header.environment)}</h1>{summary}"
        f"<h2>System of record in the UAE</h2>{statement}"
        f"<h2>Controls</h2>{controls}"
        + "".join(_section(section) for section in pack.inventory)
        + f"<h2>Policy gate</h2>{gate_html}"
        f"<h2>Egress test</h2>{egress_html}"
        "<h2>What this pack does not prove</h2><p>It reads the synthesised stacks and the gate's results on them, "
        "not a deployed account: drift after apply, manual changes in the console and the organisation's processes "
        "are outside it (docs/evidence.md).</p></body></html>\n"
    )


def write_pack(pack: EvidencePack, out: Path) -> tuple[Path, Path]:
    """``<out>/evidence-<env>.html`` and ``.json``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"evidence-{pack.header.environment}.html"
    json_path = out / f"evidence-{pack.header.environment}.json"
    html_path.write_text(render_html(pack), encoding="utf-8")
    json_path.write_text(to_json(pack), encoding="utf-8")
    return html_path, json_path

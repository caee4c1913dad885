"""The evidence pack from an environment's stacks and its gate run: ``build_pack`` (pure) and ``collect`` (synth + gate).

``build_pack`` takes what was already computed (parsed stacks, a gate report, the egress result), so a test can
break a synthesised stack, gate that folder and build the pack from it with the same code the command runs.

A row's verdict (the rule the docs state):

| resources of every listed type | a listed check passed on them | a listed check failed anywhere | egress | row  |
|--------------------------------|-------------------------------|--------------------------------|--------|------|
| yes                            | yes                           | no                             | not failed | pass |
| no (any type missing)          | -                             | -                              | -      | fail: "no resource of type X" |
| yes                            | no                            | -                              | -      | fail: "no check ... passed" |
| -                              | -                             | yes                            | -      | fail: each check, resource, details |
| -                              | -                             | -                              | failed (rows with ``egress_evidence``) | fail |
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from environments import Environment, project_root
from environments.errors import ConfigError
from infra.diff.terraform_json import StackDocument, load_outdir
from infra.evidence.controls import CONTROLS, Control
from infra.evidence.egress import read_egress
from infra.evidence.inventory import StackIndex, inventory, residency
from infra.evidence.model import (
    CheckLink, ControlRow, EgressEvidence, EvidencePack, Failure, GateSummary, Header, ResourceLink,
)
from infra.gate.model import GateReport, Outcome


@dataclass(frozen=True)
class Commit:
    """The git commit the pack describes; ``dirty`` when the working tree differs from it."""

    sha: str
    dirty: bool


def git_commit(root: Path | None = None) -> Commit:
    """``git rev-parse HEAD`` and whether ``git status --porcelain`` lists changes; ``unknown`` outside a checkout."""
    root = root or project_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return Commit(sha="unknown (not a git checkout)", dirty=False)
    return Commit(sha=sha.strip(), dirty=bool(status.strip()))


def control_row(
    control: Control, env_name: str, index: StackIndex, outcomes: Sequence[Outcome], report: GateReport,
    egress: EgressEvidence,
) -> ControlRow:
    """One control's row: its resources, its checks' results on them, and every reason it is red."""
    resources = index.blocks(*control.resource_types)
    links = tuple(ResourceLink(b.key.stack, b.key.address, b.path) for b in resources)
    on_resources = {(link.stack, link.address) for link in links}
    skipped = {s.check_id: s.reason for s in report.skips}
    names = {c.check_id: c.name for c in report.custom_checks}
    checks, failures = [], []
    for check_id in control.check_ids:
        mine = [o for o in outcomes if o.check_id == check_id]
        passed = [o for o in mine if o.result == "PASSED"]
        failed = [o for o in mine if o.result == "FAILED"]
        name = mine[0].check_name if mine else names.get(check_id, "no outcome in this environment")
        checks.append(CheckLink(
            check_id=check_id, name=name, passed=len(passed),
            passed_on_resources=sum(1 for o in passed if (o.stack, o.address) in on_resources),
            failed=len(failed), skipped_reason=skipped.get(check_id, ""),
        ))
        failures += [Failure(o.check_id, o.stack, o.address, o.details or (o.check_name,)) for o in failed]
    reasons = [
        f"no resource of type {type_} in the stacks of {env_name}"
        for type_ in control.resource_types if not any(b.key.type == type_ for b in resources)
    ]
    if not any(c.passed_on_resources for c in checks):
        reasons.append(f"none of {', '.join(control.check_ids)} passed on a resource of this row")
    reasons += [f"{f.check_id} failed on {f.stack}:{f.address}: {'; '.join(f.details)}" for f in failures]
    if control.egress_evidence and egress.state == "failed":
        reasons.append(f"the egress test failed ({egress.source}): {egress.note}")
    return ControlRow(
        control_id=control.control_id, framework=control.framework, title=control.title, requires=control.requires,
        status="fail" if reasons else "pass", reasons=tuple(reasons), resources=links, checks=tuple(checks),
        failures=tuple(failures),
    )


def build_pack(
    env: Environment, *, documents: Mapping[str, StackDocument], report: GateReport, egress: EgressEvidence,
    commit: Commit, now: datetime | None = None, controls: Sequence[Control] = CONTROLS,
) -> EvidencePack:
    """The pack of ``env`` from its parsed stacks (``documents``), the gate's ``report`` over them and the egress result."""
    mine = {name: doc for name, doc in documents.items() if name.startswith(f"{env.name}-")}
    if not mine:
        raise ConfigError(f"no synthesised stacks of {env.name!r} among {sorted(documents)}: run `sahab synth {env.name}`")
    gated = set(mine) | {f"{env.name}-manifests"}
    outcomes = [o for o in report.outcomes if o.stack in gated]
    if not outcomes:
        raise ConfigError(f"the gate report has no outcome for the stacks of {env.name!r}: run the gate over them first")
    index = StackIndex(mine)
    sections = inventory(index)
    now = now or datetime.now(timezone.utc)
    return EvidencePack(
        header=Header(
            environment=env.name, region=env.region, allowed_regions=tuple(env.allowed_regions), commit=commit.sha,
            dirty=commit.dirty, generated_at=now.astimezone(timezone.utc).isoformat(timespec="seconds"),
        ),
        residency=residency(env.name, tuple(env.allowed_regions), mine, sections),
        controls=tuple(control_row(c, env.name, index, outcomes, report, egress) for c in controls),
        inventory=sections,
        gate=GateSummary(
            checkov_version=report.checkov_version,
            passed=sum(1 for o in outcomes if o.result == "PASSED"),
            failed=sum(1 for o in outcomes if o.result == "FAILED"),
            stacks=tuple(sorted({o.stack for o in outcomes})),
            skips=tuple(report.skips),
            failures=tuple(Failure(o.check_id, o.stack, o.address, o.details or (o.check_name,))
                           for o in outcomes if o.result == "FAILED"),
            notes=tuple(report.notes),
        ),
        egress=egress,
    )


def collect(env: Environment, *, outdir: Path, reports_dir: Path, tests_junit: Path) -> EvidencePack:
    """Synthesise ``env``, run the gate over its stacks (reports in ``reports_dir``) and build its pack."""
    from infra.gate.check import check_environments

    if not env.is_cloud:
        raise ConfigError(f"{env.name}: no cloud stacks to gather evidence from (a local environment runs on this machine)")
    run = check_environments([env], outdir=outdir, reports_dir=reports_dir)
    gated = {stack.name for stack in run.report.stacks}  # not a stale stack an earlier synthesis left in outdir
    documents = {name: doc for name, doc in load_outdir(outdir, (env.name,)).items() if name in gated}
    return build_pack(env, documents=documents, report=run.report, egress=read_egress(tests_junit), commit=git_commit())

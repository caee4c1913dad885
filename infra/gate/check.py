"""``sahab check`` as a library: synthesise (or find) stacks, run the gate, write SARIF and JUnit.

The command line and ``infra.deploy`` both call these functions, so the gate a deploy passes is
exactly the one a developer runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from environments import Environment, UAE_RESIDENT_REGIONS, project_root
from environments.errors import ConfigError, GateFailed
from infra.gate.checkov_runner import CheckovWorker, run_checkov, start_workers, worker_count
from infra.gate.junit import write_junit
from infra.gate.model import GateReport
from infra.gate.sarif import write_sarif
from infra.gate.scan_copy import KUBERNETES, SCAN_FILE_NAME, ScanTarget, problem_list
from infra.gate.skips import load_skips

SARIF_FILE = "policy-gate.sarif"
JUNIT_FILE = "policy-gate.junit.xml"


@dataclass(frozen=True)
class GateRun:
    """A finished gate: the report and where its SARIF and JUnit files were written."""

    report: GateReport
    sarif: Path
    junit: Path


def default_reports_dir() -> Path:
    return project_root() / "reports"


def synthesized_targets(outdir: Path, env_names: Sequence[str] = ()) -> list[ScanTarget]:
    """Stacks and manifests already synthesised under ``<outdir>`` (all, or those of ``env_names``)."""
    stacks_dir = outdir / "stacks"
    files = sorted(stacks_dir.glob(f"*/{SCAN_FILE_NAME}"))
    if env_names:
        files = [f for f in files if any(f.parent.name.startswith(f"{env}-") for env in env_names)]
    if not files:
        wanted = f" for {list(env_names)}" if env_names else ""
        raise ConfigError(f"no synthesised stacks{wanted} under {stacks_dir}: run `sahab synth` first")
    return [ScanTarget(name=f.parent.name, file=f) for f in files] + manifest_targets(outdir, env_names)


def manifest_targets(outdir: Path, env_names: Sequence[str] = ()) -> list[ScanTarget]:
    """The rendered workload manifests under ``<outdir>/manifests`` (all, or those of ``env_names``)."""
    from infra.synth import MANIFESTS_DIR, MANIFESTS_FILE_NAME, manifests_name

    manifests = sorted((outdir / MANIFESTS_DIR).glob(f"*/{MANIFESTS_FILE_NAME}"))
    return [
        ScanTarget(name=manifests_name(m.parent.name), file=m, framework=KUBERNETES)
        for m in manifests if not env_names or m.parent.name in env_names
    ]


def check_targets(
    targets: Sequence[ScanTarget],
    *,
    reports_dir: Path | None = None,
    allowed_regions: Iterable[str] | None = None,
    skips_path: Path | None = None,
    workers: Sequence[CheckovWorker] = (),
) -> GateRun:
    """Run the gate over ``targets`` and write its reports; failures are in the report, not raised.

    ``workers``: Checkov workers started earlier (``start_workers``), used and stopped here.
    """
    reports_dir = reports_dir or default_reports_dir()
    report = run_checkov(
        targets, skips=load_skips(skips_path), allowed_regions=list(allowed_regions or UAE_RESIDENT_REGIONS["aws"]),
        workers=workers,
    )
    return GateRun(
        report=report,
        sarif=write_sarif(report, reports_dir / SARIF_FILE),
        junit=write_junit(report, reports_dir / JUNIT_FILE),
    )


def check_environments(
    envs: Sequence[Environment], *, outdir: Path | None = None, reports_dir: Path | None = None
) -> GateRun:
    """Synthesise the cloud environments among ``envs`` and run the gate over their stacks."""
    from infra.synth import synth

    cloud = [e for e in envs if e.is_cloud]
    if not cloud:
        names = ", ".join(e.name for e in envs)
        raise ConfigError(f"{names}: no cloud stacks to check (a local environment runs on this machine)")
    regions = sorted({r for e in cloud for r in e.allowed_regions})
    # Checkov's import (~2.5 s a worker) overlaps the AWS bindings' import and the synthesis
    workers = start_workers(regions, worker_count(len(cloud)))
    try:
        result = synth(cloud, outdir)
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    targets = [ScanTarget(name=s.name, file=s.path) for s in result.stacks] + [
        ScanTarget(name=m.name, file=m.path, framework=KUBERNETES) for m in result.manifests
    ]
    return check_targets(targets, reports_dir=reports_dir, allowed_regions=regions, workers=workers)


def require_clean(run: GateRun) -> None:
    """Raise ``GateFailed`` listing every failed check (what ``deploy`` and the CLI stop on)."""
    report = run.report
    if report.ok:
        return
    lines = [
        f"{o.stack}: {o.check_id} {o.address}" + (f" ({'; '.join(o.details)})" if o.details else f" ({o.check_name})")
        for o in report.failures
    ]
    stacks = sorted({o.stack for o in report.failures})
    raise GateFailed(problem_list(f"{report.failed} failed checks in {stacks}; reports in {run.sarif.parent}", lines))

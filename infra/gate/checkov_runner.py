"""Run Checkov (from its own tool environment) over scan copies and prove the run meant something.

Checkov exits 0 in many situations that prove nothing: malformed JSON, a path that does not exist,
a checks folder Checkov silently ignores, a ``--check`` that matches nothing, a check that raises.
So a run counts only when ALL of these hold, and otherwise the gate fails saying which did not:

1. the exit code is 0 (no failures) or 1 (failures), and agrees with the failures reported;
2. the JSON report parses and lists zero parsing errors;
3. stderr holds no ``[ERROR]`` line and no traceback;
4. every stack got at least one passed or failed result;
5. every custom check that applies to some scanned entity reported at least once, and every
   ``CKV_SAHAB`` id declared in ``policies/checks`` was loaded by Checkov.

Checkov runs in workers (``policies/checkov_worker.py``) that import Checkov before they are given their scan
(the import costs ~2.5 s): ``sahab check`` starts them before it synthesises (``start_workers``), so that cost
overlaps the AWS bindings' import. The targets are split by environment (every stack of one environment, and its
manifests, in one worker: graph checks follow references inside a stack) over as many workers as there are CPUs,
up to ``MAX_WORKERS``, and the reports are merged; each worker's run must hold the rules above on its own. Beside
them, one run of ``policies/list_checks.py`` (cached per process) asks Checkov's registries which custom checks
exist. Terraform JSON stacks and rendered Kubernetes manifests go through the same runs, with the
``terraform_json`` and ``kubernetes`` frameworks; each framework that had targets must report.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from environments import UAE_RESIDENT_REGIONS, project_root
from environments.errors import ConfigError, GateFailed
from infra.gate.model import CheckInfo, GateReport, Outcome, Skip, StackReport
from infra.gate.scan_copy import TERRAFORM_JSON, ScanCopy, ScanTarget, problem_list, write_scan_copies

CHECKOV_TIMEOUT_S = 600
#: The most Checkov workers one gate run uses (each holds ~300 MB; more than the CPUs only adds contention).
MAX_WORKERS = 4
ALLOWED_REGIONS_ENV = "SAHAB_ALLOWED_REGIONS"  # read by policies/checks/sahab_policy.py
_DECLARED_ID = re.compile(r"""id[=:]\s*["'](CKV_SAHAB_\d+)["']""")
_STDERR_ERROR = re.compile(r"\[ERROR\]|^Traceback", re.MULTILINE)


@dataclass(frozen=True)
class CheckovTool:
    """Checkov's own virtual environment (it pins libraries that clash with the project's)."""

    home: Path
    pinned_version: str

    @property
    def executable(self) -> Path:
        return self.home / "bin" / "checkov"

    @property
    def python(self) -> Path:
        return self.home / "bin" / "python"


def policy_checks_dir() -> Path:
    return project_root() / "policies" / "checks"


def find_checkov(home: Path | None = None) -> CheckovTool:
    """Locate Checkov (``$SAHAB_CHECKOV_HOME`` or ``.tools/checkov``) and its pinned version."""
    home = home or Path(os.environ.get("SAHAB_CHECKOV_HOME") or project_root() / ".tools" / "checkov")
    requirements = project_root() / "tools" / "checkov-requirements.txt"
    pinned = re.search(r"^checkov==(\S+)", requirements.read_text(), re.MULTILINE) if requirements.is_file() else None
    if not pinned:
        raise ConfigError(f"{requirements} must pin Checkov as 'checkov==<version>'")
    tool = CheckovTool(home=home, pinned_version=pinned[1])
    if not tool.executable.is_file():
        raise ConfigError(
            f"Checkov is not installed at {home}: run `make setup` (it builds Checkov's own environment "
            "from tools/checkov-requirements.txt; Checkov must not be installed into .venv)"
        )
    installed = installed_version(home)
    if installed != tool.pinned_version:
        raise ConfigError(
            f"Checkov {installed or '(unknown version)'} is installed at {home}, but the gate is pinned to "
            f"{tool.pinned_version}: run `make setup` to reinstall it"
        )
    return tool


def installed_version(home: Path) -> str | None:
    """Checkov's version from its package metadata (no process started)."""
    found = sorted(home.glob("lib/python*/site-packages/checkov-*.dist-info"))
    return found[0].name.removeprefix("checkov-").removesuffix(".dist-info") if found else None


class CheckovWorker:
    """One Checkov process that has imported Checkov and waits for its scan (``policies/checkov_worker.py``)."""

    def __init__(self, tool: CheckovTool, allowed_regions: Sequence[str]) -> None:
        env = {**os.environ, ALLOWED_REGIONS_ENV: ",".join(allowed_regions), "LOG_LEVEL": "WARNING"}
        self.allowed_regions = tuple(allowed_regions)
        self.process = subprocess.Popen(
            [str(tool.python), str(project_root() / "policies" / "checkov_worker.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )

    def scan(self, argv: list[str], cwd: Path) -> tuple[int, str, str]:
        """Run the scan; Checkov's exit code, stdout (the JSON report) and stderr."""
        try:
            stdout, stderr = self.process.communicate(json.dumps({"argv": argv, "cwd": str(cwd)}) + "\n",
                                                      timeout=CHECKOV_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            raise GateFailed(f"Checkov did not finish within {CHECKOV_TIMEOUT_S} s; nothing was proven") from None
        return self.process.returncode, stdout, stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def worker_count(groups: int | None = None) -> int:
    """As many workers as CPUs (at most ``MAX_WORKERS``), and no more than there are groups to scan."""
    count = min(os.cpu_count() or 1, MAX_WORKERS)
    return max(1, min(count, groups if groups is not None else count))


def start_workers(allowed_regions: Sequence[str], count: int | None = None,
                  tool: CheckovTool | None = None) -> list[CheckovWorker]:
    """Start Checkov workers now, for a scan whose targets do not exist yet (``run_checkov(..., workers=)``)."""
    tool = tool or find_checkov()
    return [CheckovWorker(tool, allowed_regions) for _ in range(count or worker_count())]


def scan_groups(targets: Sequence[ScanTarget], count: int) -> list[list[ScanTarget]]:
    """``targets`` split into at most ``count`` groups, an environment never split (``<env>-<layer>`` names),
    balanced by file size (Checkov's time grows with it)."""
    by_env: dict[str, list[ScanTarget]] = {}
    for target in targets:
        by_env.setdefault(target.name.rsplit("-", 1)[0], []).append(target)
    groups: list[list[ScanTarget]] = [[] for _ in range(max(1, min(count, len(by_env))))]
    sizes = [0] * len(groups)
    for env_targets in sorted(by_env.values(), key=lambda ts: -_size(ts)):
        smallest = sizes.index(min(sizes))
        groups[smallest] += env_targets
        sizes[smallest] += _size(env_targets)
    return [g for g in groups if g]


def _size(targets: Sequence[ScanTarget]) -> int:
    """Bytes to scan (an unreadable file counts 0: ``write_scan_copies`` refuses it, naming it)."""
    return sum(t.file.stat().st_size if t.file.is_file() else 0 for t in targets)


def run_checkov(
    targets: Sequence[ScanTarget],
    *,
    skips: Sequence[Skip] = (),
    allowed_regions: Sequence[str] | None = None,
    custom_only: bool = False,
    checks_dir: Path | None = None,
    tool: CheckovTool | None = None,
    workers: Sequence[CheckovWorker] = (),
) -> GateReport:
    """Check ``targets`` with Checkov's built-in AWS and Kubernetes checks (minus ``skips``) and ours.

    ``custom_only`` runs only ``CKV_SAHAB`` checks (the policy fixtures use it). ``workers`` started earlier
    (``start_workers``) are used, and stopped, whatever happens; without them the run starts its own. Raises
    ``GateFailed`` when the run cannot prove anything; otherwise returns the report, failures included (deciding
    what a failure means is the caller's job).
    """
    tool = tool or find_checkov()
    checks_dir = checks_dir or policy_checks_dir()
    regions = list(allowed_regions or UAE_RESIDENT_REGIONS["aws"])
    started = time.perf_counter()
    groups = scan_groups(targets, len(workers) or worker_count()) or [[]]  # no target: write_scan_copies refuses
    workers = list(workers)
    try:
        if any(tuple(regions) != w.allowed_regions for w in workers):
            raise ConfigError(f"the Checkov workers were started for other regions than {regions}")
        workers += start_workers(regions, len(groups) - len(workers), tool) if len(groups) > len(workers) else []
        with tempfile.TemporaryDirectory(prefix="sahab-gate-") as scratch:
            scans = []
            for number, (group, worker) in enumerate(zip(groups, workers, strict=False)):
                scan_root = Path(scratch) / f"scan-{number}" / "stacks"
                copies, notes = write_scan_copies(list(group), scan_root)
                frameworks = sorted({t.framework for t in group})
                argv = ["--framework", *frameworks, "--skip-download", "--compact", "--directory", str(scan_root),
                        "--external-checks-dir", str(checks_dir), "--output", "json"]
                argv += ["--check", "CKV_SAHAB_*"] if custom_only else []
                argv += ["--skip-check", ",".join(s.check_id for s in skips)] if skips else []
                scans.append(_Scan(worker, argv, scan_root.parent, copies, notes, frameworks))
            results = _scan_all(scans, catalogue=lambda: load_catalogue(tool, checks_dir))
    finally:
        for worker in workers:
            worker.stop()
    catalogue, finished = results
    stacks: list[StackReport] = []
    all_copies: list[ScanCopy] = []
    problems: list[str] = []
    for scan, (returncode, stdout, stderr) in zip(scans, finished, strict=True):
        group_stacks = _outcomes_by_stack(_parse_reports(returncode, stdout, stderr, tool, scan.frameworks), scan.copies)
        problems += _exit_problems(returncode, group_stacks)
        stacks += group_stacks
        all_copies += scan.copies
    order = {t.name: number for number, t in enumerate(targets)}
    stacks.sort(key=lambda s: order[s.name])
    _assert_meaningful(stacks, all_copies, catalogue, problems)
    return GateReport(
        stacks=tuple(stacks),
        skips=tuple(skips),
        custom_checks=tuple(catalogue),
        checkov_version=tool.pinned_version,
        seconds=time.perf_counter() - started,
        notes=tuple(note for scan in scans for note in scan.notes),
    )


@dataclass(frozen=True)
class _Scan:
    """One worker's share of a gate run: its Checkov arguments, scan copies and frameworks."""

    worker: CheckovWorker
    argv: list[str]
    cwd: Path
    copies: list[ScanCopy]
    notes: list[str]
    frameworks: list[str]


def _scan_all(scans: list[_Scan], *, catalogue: Any) -> tuple[list[CheckInfo], list[tuple[int, str, str]]]:
    """Every worker's scan at once (one thread each waits on its process), and the catalogue meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(scans)) as pool:
        futures = [pool.submit(scan.worker.scan, scan.argv, scan.cwd) for scan in scans]
        listed = catalogue()
        return listed, [future.result() for future in futures]


# ---- the catalogue of our checks --------------------------------------------------------------

def declared_check_ids(checks_dir: Path) -> set[str]:
    """``CKV_SAHAB`` ids written in the check files (what Checkov must have loaded)."""
    found: set[str] = set()
    for path in [*checks_dir.glob("*.py"), *checks_dir.glob("*.yaml")]:
        found.update(_DECLARED_ID.findall(path.read_text()))
    return found


_CATALOGUES: dict[tuple[str, ...], list[CheckInfo]] = {}


def load_catalogue(tool: CheckovTool, checks_dir: Path) -> list[CheckInfo]:
    """Our checks as Checkov's registries load them; cached per process while no check file changes."""
    files = sorted(p for p in checks_dir.iterdir() if p.suffix in (".py", ".yaml"))
    key = (str(tool.python), str(checks_dir), *(f"{p.name}:{p.stat().st_mtime_ns}" for p in files))
    if key not in _CATALOGUES:
        command = [str(tool.python), str(project_root() / "policies" / "list_checks.py"), str(checks_dir)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_S, check=False)
        _CATALOGUES[key] = _parse_catalogue(run, checks_dir)
    return _CATALOGUES[key]


def _parse_catalogue(run: subprocess.CompletedProcess[str], checks_dir: Path) -> list[CheckInfo]:
    problems = []
    if run.returncode != 0 or _STDERR_ERROR.search(run.stderr):
        problems.append(f"listing our checks failed (exit {run.returncode}): {run.stderr.strip()[-2000:]}")
    try:
        raw = json.loads(run.stdout or "[]")
    except ValueError:
        raw = []
        problems.append("listing our checks printed no JSON")
    catalogue = [
        CheckInfo(check_id=c["id"], name=c["name"], block_type=c["block_type"], entities=tuple(c["entities"]),
                  rationale=c["rationale"], source=c["source"])
        for c in raw
    ]
    missing = sorted(declared_check_ids(checks_dir) - {c.check_id for c in catalogue}, key=_id_number)
    if missing:
        problems.append(f"Checkov did not load the checks {missing} declared in {checks_dir} (a syntax or import error?)")
    if not catalogue:
        problems.append(f"no CKV_SAHAB checks were loaded from {checks_dir} (it needs an __init__.py)")
    if problems:
        raise GateFailed(problem_list("the policy gate could not load its checks, so nothing was proven", problems))
    return catalogue


def _id_number(check_id: str) -> int:
    return int(check_id.rsplit("_", 1)[1])


# ---- Checkov's report ---------------------------------------------------------------------------

def _parse_reports(
    returncode: int, stdout: str, stderr: str, tool: CheckovTool, frameworks: Sequence[str]
) -> list[dict[str, Any]]:
    """One report per framework that had targets; ``GateFailed`` when any is missing or unreadable."""
    problems = []
    if returncode not in (0, 1):
        problems.append(f"Checkov exited {returncode} (only 0 = clean and 1 = failures are results)")
    errors = [line for line in stderr.splitlines() if _STDERR_ERROR.search(line)]
    if errors:
        problems.append("Checkov logged errors (a crash must never read as a pass):\n    " + "\n    ".join(errors[:20]))
    try:
        parsed: Any = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        parsed = None
    found = parsed if isinstance(parsed, list) else [parsed]
    reports = [r for r in found if isinstance(r, dict) and r.get("check_type") in frameworks]
    for framework in frameworks:
        report = next((r for r in reports if r.get("check_type") == framework), None)
        if report is None:
            problems.append(f"Checkov produced no {framework} report (it scanned nothing)")
            continue
        # Checkov counts the files it could not parse in its summary (the results carry no list of them in its
        # JSON output): any count means part of the stacks was never checked
        parse_errors = report.get("results", {}).get("parsing_errors", [])
        unparsed = int(report.get("summary", {}).get("parsing_errors", 0) or 0)
        if parse_errors or unparsed:
            problems.append(
                f"Checkov could not parse {max(unparsed, len(parse_errors))} {framework} file(s)"
                + (f": {parse_errors}" if parse_errors else "")
                + "; what it could not read was never checked"
            )
        version = report.get("summary", {}).get("checkov_version")
        if version != tool.pinned_version:
            problems.append(f"Checkov {version} ran, but the gate is pinned to {tool.pinned_version}: run `make setup`")
    if problems:
        raise GateFailed(problem_list("the policy gate could not prove the stacks clean", problems))
    return reports


def _outcomes_by_stack(reports: list[dict[str, Any]], copies: list[ScanCopy]) -> list[StackReport]:
    by_name = {c.target.name: c for c in copies}
    outcomes: dict[str, list[Outcome]] = {name: [] for name in by_name}
    records = [
        (record, result, report["check_type"])
        for report in reports
        for key, result in (("passed_checks", "PASSED"), ("failed_checks", "FAILED"))
        for record in report.get("results", {}).get(key, [])
    ]
    for record, result, check_type in records:
        stack = Path(record["file_path"]).parts[1]
        copy = by_name[stack]
        start, end = record.get("file_line_range") or (0, 0)
        address = record["resource"]
        check_result = record.get("check_result") or {}
        if check_type == TERRAFORM_JSON and address.split(".", 1)[0] in ("resource", "data", "provider"):
            address = copy.addresses.get(start, address)
        outcomes[stack].append(
            Outcome(
                check_id=record["check_id"], check_name=record["check_name"], result=result,  # type: ignore[arg-type]
                stack=stack, address=address, file=copy.target.file, line_range=(start, end),
                # Kubernetes records carry a Sahab check's details in its check result (policies/checks/sahab_base.py)
                details=tuple(record.get("details") or check_result.get("details") or ()),
                guideline=record.get("guideline") or "",
                evaluated_keys=tuple(check_result.get("evaluated_keys") or ()),
            )
        )
    return [
        StackReport(name=c.target.name, file=c.target.file, outcomes=tuple(sorted(outcomes[c.target.name], key=_order)))
        for c in copies
    ]


def _order(outcome: Outcome) -> tuple[int, str, str]:
    return (0 if outcome.result == "FAILED" else 1, outcome.check_id, outcome.address)


def _exit_problems(returncode: int, stacks: Iterable[StackReport]) -> list[str]:
    """A run's exit code must agree with the failures it reported (1 with failures, 0 without)."""
    failed = sum(s.failed for s in stacks)
    return [f"Checkov exited {returncode} but reported {failed} failed checks"] if (returncode == 1) != (failed > 0) else []


def _assert_meaningful(
    stacks: list[StackReport], copies: list[ScanCopy], catalogue: list[CheckInfo], problems: list[str]
) -> None:
    problems = list(problems)
    empty = [s.name for s in stacks if not s.outcomes]
    if empty:
        problems.append(f"no check ran on {empty} (empty or unreadable stacks cannot be reported clean)")
    reported = {o.check_id for s in stacks for o in s.outcomes}
    silent = [
        c.check_id for c in catalogue
        if c.check_id not in reported and any(_applies(c, copy) for copy in copies)
    ]
    if silent:
        problems.append(f"the checks {silent} apply to these stacks but reported nothing (did they raise?)")
    if problems:
        raise GateFailed(problem_list("the policy gate could not prove the stacks clean", problems))


def _applies(check: CheckInfo, copy: ScanCopy) -> bool:
    present = copy.entities(check.block_type)
    return any(fnmatch.fnmatchcase(entity, pattern) for pattern in check.entities for entity in present)

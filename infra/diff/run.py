"""``sahab diff`` as a library: synthesise and gate the base git ref and this tree, then compare.

The base side runs *its own* code: a temporary ``git worktree`` of the base commit (removed afterwards,
also on failure) synthesises and gates in a subprocess whose imports resolve to that worktree, so a pull
request that changes a construct or a policy is compared against what ``main`` really produced. The head
side (this working tree, committed or not) runs in this process, while the base subprocess works: on the
two cores of a small CI runner the two imports of the AWS bindings overlap.
Both sides synthesise into temporary folders, so nothing stale under ``cdktf.out`` can leak into the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from environments import Environment, project_root
from environments.errors import CommandFailed, ConfigError
from infra.cost.estimate import load_prices
from infra.diff.compare import compare
from infra.diff.cost_delta import environment_cost, price_source
from infra.diff.model import DiffReport, Finding
from infra.diff.policy import policy_delta, read_findings
from infra.diff.terraform_json import StackDocument, load_outdir
from infra.gate.check import SARIF_FILE, check_targets, synthesized_targets
from infra.gate.checkov_runner import find_checkov

#: A base synthesis or gate that takes longer than this is stopped (a CI runner needs ~1 min for all).
BASE_TIMEOUT_S = 1200
_TAIL_LINES = 15


def diff(base_ref: str, envs: Sequence[Environment], *, reports_dir: Path | None = None) -> DiffReport:
    """Compare the cloud environments among ``envs`` between ``base_ref`` and this tree; gate both sides."""
    cloud = [e for e in envs if e.is_cloud]
    if not cloud:
        names = ", ".join(e.name for e in envs)
        raise ConfigError(f"{names}: no cloud stacks to compare (a local environment runs on this machine)")
    repo = _git_toplevel(project_root())
    inside = project_root().resolve().relative_to(repo.resolve())  # Sahab may live in a folder of a larger repository
    commit = _resolve(repo, base_ref)
    names = tuple(e.name for e in cloud)
    at_base = [n for n in names if n in _environments_at(repo, commit, inside)]
    with tempfile.TemporaryDirectory(prefix="sahab-diff-") as scratch:
        work = Path(scratch)
        tree = work / "base-tree"
        _git(repo, "worktree", "add", "--quiet", "--detach", str(tree), commit)
        try:
            base_out, head_out = work / "base", work / "head"
            base = _BaseSide(tree / inside, base_out, work / "base-reports", work / "base.log")
            base.synthesize(at_base)
            from infra.synth import synth

            synth(cloud, head_out)
            base.wait_synth()
            base.gate()
            head_gate = check_targets(synthesized_targets(head_out, names), reports_dir=reports_dir,
                                      allowed_regions=sorted({r for e in cloud for r in e.allowed_regions}))
            base_findings, unavailable = base.findings()
            base_docs, head_docs = load_outdir(base_out, names) if at_base else {}, load_outdir(head_out, names)
            changes = compare(base_docs, head_docs)
            moved = {c.moved_from: f"{c.stack}:{c.address}" for c in changes if c.moved_from}
            prices = load_prices()
            costs = tuple(environment_cost(n, _raw(base_docs, n), _raw(head_docs, n), prices, moved) for n in names)
        finally:
            _git(repo, "worktree", "remove", "--force", str(tree))
    notes = tuple(f"{n}: new environment (not in the base)" for n in names if n not in at_base)
    return DiffReport(
        base=f"{base_ref} ({commit[:12]})", environments=names, changes=tuple(changes),
        policy=policy_delta(base_findings, read_findings(head_gate.sarif), moved, base_unavailable=unavailable),
        costs=costs, prices=price_source(prices), notes=notes,
    )


class _BaseSide:
    """The base commit's own ``sahab synth`` and ``sahab check`` run in its worktree, one after the other."""

    def __init__(self, root: Path, outdir: Path, reports: Path, log: Path) -> None:
        self.root, self.outdir, self.reports, self.log = root, outdir, reports, log
        self._process: subprocess.Popen[bytes] | None = None
        self._gate: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._synthesized = False

    def _start(self, *argv: str) -> subprocess.Popen[bytes]:
        self._log_file = self.log.open("ab")
        environment = {**os.environ, "PYTHONPATH": str(self.root), "SAHAB_CHECKOV_HOME": str(find_checkov().home)}
        return subprocess.Popen([sys.executable, "-m", "infra.cli.main", *argv], cwd=self.root, env=environment,
                                stdout=self._log_file, stderr=subprocess.STDOUT)

    def synthesize(self, names: Sequence[str]) -> None:
        if names:
            self._process = self._start("synth", *names, "--outdir", str(self.outdir))

    def wait_synth(self) -> None:
        if self._process is None:
            return
        code = self._wait(self._process)
        if code != 0:
            raise CommandFailed(f"the base commit's `sahab synth` exited {code}; its last lines:\n{self._tail()}")
        self._synthesized = True

    def gate(self) -> None:
        if self._synthesized:
            self._gate = self._start("check", "--from", str(self.outdir), "--all", "--reports", str(self.reports))

    def findings(self) -> tuple[list[Finding] | None, str]:
        """The base's failures, or ``None`` and why there are none to compare with."""
        if self._gate is None:
            return [], ""  # no environment of this diff exists in the base: nothing failed there
        code = self._wait(self._gate)
        sarif = self.reports / SARIF_FILE
        if code not in (0, 1) or not sarif.is_file():
            return None, f"its `sahab check` exited {code} without a SARIF report: {self._tail().splitlines()[-1:]}"
        return read_findings(sarif), ""

    def _wait(self, process: subprocess.Popen[bytes]) -> int:
        try:
            return process.wait(timeout=BASE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise CommandFailed(
                f"the base side took over {BASE_TIMEOUT_S} s and was stopped; log:\n{self._tail()}") from None
        finally:
            if self._log_file is not None:
                self._log_file.close()

    def _tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-_TAIL_LINES:])


def _raw(documents: dict[str, StackDocument], env: str) -> dict[str, Any]:
    """``env``'s stacks as cdktf wrote them, by name (what the cost estimate reads)."""
    return {name: d.raw for name, d in documents.items() if name.startswith(f"{env}-")}


def _git(repo: Path, *argv: str) -> str:
    completed = subprocess.run(["git", "-C", str(repo), *argv], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise CommandFailed(f"`git {' '.join(argv)}` failed: {completed.stderr.strip()}")
    return completed.stdout


def _git_toplevel(path: Path) -> Path:
    try:
        return Path(_git(path, "rev-parse", "--show-toplevel").strip())
    except CommandFailed:
        raise ConfigError(f"{path} is not inside a git repository: `sahab diff` compares against a git ref") from None


def _resolve(repo: Path, ref: str) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except CommandFailed:
        raise ConfigError(
            f"'--base' {ref!r} is not a commit in {repo}: fetch it first (e.g. `git fetch origin main`, in CI "
            "`actions/checkout` with `fetch-depth: 0`) or name another ref"
        ) from None


def _environments_at(repo: Path, commit: str, inside: Path) -> set[str]:
    listing = _git(repo, "ls-tree", "--name-only", commit, f"{(inside / 'environments').as_posix()}/")
    return {Path(p).stem for p in listing.splitlines() if p.endswith(".yaml")}

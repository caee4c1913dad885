"""One direction of dependence, as code: the import-linter contracts in pyproject.toml hold.

``environments`` is the ground floor, ``infra`` the roof, ``policies`` stands apart (DESIGN.md "Layers").
The contracts are checked on the real tree, and shown to catch a back-up import and a cycle on a copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("environments", "modules", "stacks", "features", "training", "bento_services", "infra", "policies")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied so that a test may break them."""
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_every_import_runs_down_the_layers_with_no_cycle() -> None:
    completed = lint_imports(PROJECT_ROOT)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr
    assert "Contracts: 3 kept, 0 broken." in completed.stdout


@pytest.mark.parametrize(("module", "added_import", "broken"), [
    ("features/names.py", "from infra.synth import synth  # a back-up import",
     "features.names -> infra.synth"),
    ("environments/rules.py", "from environments.schema import Environment  # closes a circle",
     "No import cycles between sibling packages or modules BROKEN"),
    ("policies/list_checks.py", "from environments import UAE_RESIDENT_REGIONS",
     "policies/ is loaded by Checkov and imports nothing of ours BROKEN"),
], ids=["back-up import", "cycle", "policies importing ours"])
def test_a_forbidden_import_breaks_a_contract_naming_it(tree_copy: Path, module: str, added_import: str, broken: str) -> None:
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n{added_import}\n")
    completed = lint_imports(tree_copy)
    assert completed.returncode == 1, completed.stdout[-3000:]
    assert broken in completed.stdout

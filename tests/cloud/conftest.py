"""The real-account suite: opt in with ``SAHAB_CLOUD_TESTS=1``, AWS credentials of a sandbox account, and Terraform with
network access to download the AWS provider. Everywhere else every test here is skipped with that reason, but the
modules are collected and imported, so they cannot rot unseen.

pytest-terraform applies and destroys Terraform root modules it finds under ``tests/cloud/terraform/<name>``. They are
written here at the start of the session from ``smb``'s synthesis, with the state kept locally by pytest-terraform (no
state bucket needed) and the network layer reading the security layer's state file where pytest-terraform left it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sandbox_modules import ENVIRONMENT, module_from_stack


def cloud_tests_enabled() -> str:
    """Why the suite cannot run here, or ``""`` when it can."""
    if os.environ.get("SAHAB_CLOUD_TESTS") != "1":
        return "real-account suite: set SAHAB_CLOUD_TESTS=1 with AWS credentials of a sandbox account and Terraform"
    if shutil.which("terraform") is None:
        return "real-account suite: needs the terraform binary on PATH"
    from infra.deploy import find_aws_credentials

    try:
        find_aws_credentials()
    except Exception as exc:  # noqa: BLE001 - the reason is shown as the skip reason
        return f"real-account suite: {exc}"
    return ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = cloud_tests_enabled()
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.cloud)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from environments import load_environment
    from infra.synth import synth

    outdir = tmp_path_factory.mktemp("cloud-synth")
    synth([load_environment(ENVIRONMENT)], outdir)
    return outdir / "stacks"


@pytest.fixture(scope="session")
def security_module(synthesized: Path) -> Path:
    return module_from_stack(synthesized / f"{ENVIRONMENT}-security" / "cdk.tf.json", "smb_security")

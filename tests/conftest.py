"""Shared test setup: quiet, offline, loopback-only defaults for every suite.

One expensive fixture lives here because several suites share it: ``synthesized_all`` (every
environment synthesised once per session; the AWS bindings import alone takes ~20 s). The other
expensive fixtures (the tiny trained stack, brokers, servers) live in the suites that need them.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# Set before any test imports bentoml or jsii: no usage data leaves the machine, no Node banners.
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(os.environ.get("TMPDIR", "/tmp"))))

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the only address tests may bind or target)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def loopback_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def synthesized_all(tmp_path_factory: pytest.TempPathFactory):
    """Every shipped environment synthesised once per test session (the AWS bindings import is slow).

    Returns ``infra.synth.SynthResult``; its stacks live under a session temp folder.
    """
    from environments import load_environments
    from infra.synth import synth

    return synth(load_environments(), tmp_path_factory.mktemp("cdktf.out"))

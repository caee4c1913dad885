"""End-to-end fixtures: real ``bentoml serve`` processes on free loopback ports over the tiny trained stack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The tiny stack and the ONNX oracle live with the serving suite; both suites share one cached build.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bento_services"))

from http_helpers import free_port  # noqa: E402
from serving_stack import TinyStack, build_tiny_stack, environment_with, write_environment_file  # noqa: E402

from bento_services.server_process import start_server, stop_server  # noqa: E402


@pytest.fixture(scope="session")
def tiny_stack(tmp_path_factory: pytest.TempPathFactory) -> TinyStack:
    return build_tiny_stack(tmp_path_factory.getbasetemp() / "serving-stack")


@pytest.fixture(scope="session")
def ab_server(tiny_stack: TinyStack, tmp_path_factory: pytest.TempPathFactory):
    """One server for the suite: variants a = v1 and b = v2 at 50/50, at most 64 items per request, with
    adaptive batching on (so the batchable path is the one tested over HTTP; the canary server runs without).

    Yields the environment, its YAML file (what the CLI is pointed at) and the server record.
    """
    env = environment_with(tiny_stack.env, port=free_port(), max_batch_size=64, adaptive_batching=True, variants=[
        {"name": "a", "model_version": tiny_stack.v1, "weight": 0.5},
        {"name": "b", "model_version": tiny_stack.v2, "weight": 0.5},
    ])
    env_file = write_environment_file(env, tmp_path_factory.mktemp("ab-env"))
    record = start_server(env, environment_ref=str(env_file))
    yield env, env_file, record
    stop_server(env)

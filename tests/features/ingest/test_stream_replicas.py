"""Replicas of the real ``sahab stream ingest`` in one consumer group, with partitions moving between them:
a replica joins halfway, or one of three is SIGKILLed. Every customer's online features and every offline
row must equal what the events say, computed without the ingestor: 0 differ, 0 lost, 0 doubled.

(The SQLite-state ingestor this replaced got 106 of 300 customers wrong when a second replica joined
halfway, and 91 of 300 when one of two was SIGKILLed: the history of a moved partition stayed behind.)
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from stream_helpers import StreamWorld, assert_online_store_holds, write_environment_file
from stream_processes import (
    SAHAB,
    Stream,
    assert_dead_letters_are_exactly,
    assert_offline_rows_are_exactly,
    committed_total,
    start_ingestor,
    stop,
    wait_for_members,
)

pytestmark = pytest.mark.slow

BATCH = ("--batch-size", "100")


def wait_until_committed(world: StreamWorld, total: int, processes: list[subprocess.Popen], log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"a replica exited early ({process.returncode}):\n{log.read_text()[-3000:]}"
        if committed_total(world) >= total:
            return
        time.sleep(0.1)
    raise AssertionError(f"the group did not commit {total} offsets within {timeout_s} s:\n{log.read_text()[-3000:]}")


def applied_by(log: Path) -> dict[str, int]:
    """Per replica, the events it applied, from each one's closing line."""
    return {m[1]: int(m[2]) for m in re.finditer(r"(replica-\d+) stopped \(\w+\): applied (\d+)", log.read_text())}


def test_a_replica_joining_halfway_takes_partitions_with_their_history(world: StreamWorld, tmp_path: Path) -> None:
    env_file = write_environment_file(world.env, tmp_path / "env")
    log = tmp_path / "replicas.log"
    first = Stream(world, count=3000, malformed=20, seed=61)
    one = start_ingestor(env_file, log, *BATCH, "--replica", "replica-0")
    wait_until_committed(world, 3000, [one], log)

    two = start_ingestor(env_file, log, *BATCH, "--replica", "replica-1")
    wait_for_members(["replica-0", "replica-1"], [one, two], log)  # the join: replica-1 restores its partitions from the changelogs
    second = Stream(world, count=3000, malformed=20, seed=62)
    wait_until_committed(world, 6000, [one, two], log)
    assert stop(one, signal.SIGTERM) == 0 and stop(two, signal.SIGTERM) == 0, log.read_text()[-3000:]

    applied = applied_by(log)
    assert applied.get("replica-1", 0) > 0, f"replica-1 never got a partition: {applied}"
    valid = first.valid + second.valid
    assert_online_store_holds(world.store, valid)
    assert_offline_rows_are_exactly(world, valid)
    assert_dead_letters_are_exactly(world, first.malformed | second.malformed)


def test_one_of_three_replicas_sigkilled_mid_stream_loses_nothing(world: StreamWorld, tmp_path: Path) -> None:
    env_file = write_environment_file(world.env, tmp_path / "env")
    log = tmp_path / "replicas.log"
    replicas = [start_ingestor(env_file, log, *BATCH, "--replica", f"replica-{i}") for i in range(3)]
    wait_for_members([f"replica-{i}" for i in range(3)], replicas, log)  # one partition each
    first = Stream(world, count=3000, malformed=20, seed=71)
    wait_until_committed(world, 1000, replicas, log)

    assert stop(replicas[1], signal.SIGKILL) == -signal.SIGKILL
    survivors = [replicas[0], replicas[2]]
    second = Stream(world, count=3000, malformed=20, seed=72)
    wait_until_committed(world, 6000, survivors, log)
    assert all(stop(process, signal.SIGTERM) == 0 for process in survivors), log.read_text()[-3000:]

    valid = first.valid + second.valid
    assert_online_store_holds(world.store, valid)
    assert_offline_rows_are_exactly(world, valid)
    assert_dead_letters_are_exactly(world, first.malformed | second.malformed)


def test_the_replicas_option_runs_n_processes_in_one_group_until_caught_up(world: StreamWorld, tmp_path: Path) -> None:
    env_file = write_environment_file(world.env, tmp_path / "env")
    stream = Stream(world, count=900, malformed=0, seed=111)
    run = subprocess.run(
        [SAHAB, "stream", "ingest", "--env", str(env_file), "--replicas", "2", "--until-caught-up", "--max-seconds", "120"],
        capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    finished = re.findall(r"(replica-\d) stopped \((\w+)\): applied (\d+)", run.stdout)
    assert sorted(name for name, _, _ in finished) == ["replica-0", "replica-1"]
    assert sum(int(applied) for _, _, applied in finished) == 900
    assert committed_total(world) == 900
    assert_online_store_holds(world.store, stream.valid)

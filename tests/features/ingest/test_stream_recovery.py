"""The real ``sahab stream ingest`` process, killed: SIGKILL mid-stream loses nothing and counts nothing
twice after a restart; SIGTERM finishes the checkpoint, commits, and exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from stream_helpers import StreamWorld, assert_online_store_holds, write_environment_file
from stream_processes import (
    Stream,
    assert_dead_letters_are_exactly,
    assert_offline_rows_are_exactly,
    start_ingestor,
    stop,
    wait_for_progress,
)

from features.ingest.ingestor import Ingestor

pytestmark = pytest.mark.slow


def test_sigkill_mid_stream_then_restart_loses_nothing_and_counts_nothing_twice(world: StreamWorld, tmp_path: Path) -> None:
    stream = Stream(world, count=3000, malformed=30, seed=41)
    total = sum(stream.produced.end_offsets.values())
    env_file = write_environment_file(world.env, tmp_path / "env")
    log = tmp_path / "ingestor.log"

    process = start_ingestor(env_file, log, "--batch-size", "100")
    reached = wait_for_progress(world, process, total // 3, log)  # a third of the way in, mid-batch
    assert stop(process, signal.SIGKILL) == -signal.SIGKILL
    assert reached < total, "the ingestor finished before it could be killed mid-stream"

    final = start_ingestor(env_file, log, "--batch-size", "100", "--until-caught-up", "--max-seconds", "120")
    assert final.wait(timeout=180) == 0, log.read_text()[-3000:]

    assert_online_store_holds(world.store, stream.valid)
    assert_offline_rows_are_exactly(world, stream.valid)
    assert_dead_letters_are_exactly(world, stream.malformed)


def test_sigterm_finishes_the_batch_commits_and_exits_zero(world: StreamWorld, tmp_path: Path) -> None:
    stream = Stream(world, count=1500, malformed=0, seed=51)
    env_file = write_environment_file(world.env, tmp_path / "env")
    log = tmp_path / "ingestor.log"
    process = start_ingestor(env_file, log, "--batch-size", "100")
    wait_for_progress(world, process, 1, log)

    assert stop(process, signal.SIGTERM) == 0, log.read_text()[-3000:]
    assert "stopped (stop)" in log.read_text()

    with Ingestor(world.env, store=world.store, connection=world.connection) as ingestor:
        rest = ingestor.run(until_offsets=stream.produced.end_offsets, max_seconds=120)
    assert rest.caught_up and rest.duplicates == 0  # nothing the stopped process applied is read again
    assert_online_store_holds(world.store, stream.valid)

"""Fixtures for the streaming suite: a real Tansu broker on a free 127.0.0.1 port per module (stopped by
its pid), and a real Feast store per test under a temporary data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stream_helpers import StreamWorld, feature_store_with_definitions, make_environment

from features.ingest.local_broker import LocalBroker, start_local_broker, stop_local_broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """One in-memory broker per test module; every test uses its own topics and group on it."""
    env = make_environment(tmp_path_factory.mktemp("broker"))
    running = start_local_broker(env)
    yield running
    stop_local_broker(env)


@pytest.fixture
def world(broker: LocalBroker, tmp_path: Path) -> StreamWorld:
    env = make_environment(tmp_path / "data", bootstrap_servers=broker.bootstrap_servers)
    return StreamWorld(env=env, store=feature_store_with_definitions(env))



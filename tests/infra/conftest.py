"""Fixtures shared by the infra suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto_server import MotoServer


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    """moto's server on a free 127.0.0.1 port for one test module, stopped by its own pid."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()

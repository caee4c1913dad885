"""Serving suite fixtures: the tiny trained stack (built once per session) and scorers over it."""

from __future__ import annotations

import pytest
from serving_stack import TinyStack, build_tiny_stack


@pytest.fixture(scope="session")
def tiny_stack(tmp_path_factory: pytest.TempPathFactory) -> TinyStack:
    # A fixed folder under the session's base temp, so the e2e suite's fixture finds the same cached stack.
    return build_tiny_stack(tmp_path_factory.getbasetemp() / "serving-stack")

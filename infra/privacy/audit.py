"""The privacy audit log: one JSON line per erasure or prune, in ``<data>/privacy/audit.jsonl`` (mode 0600).

A record says who asked, when, which stores were touched and how many rows each lost, and names the customer
only by pseudonym: the audit log must not become the one place that lists who asked to be forgotten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from environments import Environment

AUDIT_FILE = "audit.jsonl"


def audit_path(env: Environment) -> Path:
    return env.paths.privacy / AUDIT_FILE


def append_record(env: Environment, record: Mapping[str, Any]) -> Path:
    """Append ``record`` as one line (a single ``write`` on an ``O_APPEND`` descriptor: never interleaved)."""
    path = audit_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record, sort_keys=True, default=str) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_records(env: Environment) -> list[dict[str, Any]]:
    path = audit_path(env)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

"""Small HTTP helpers for the end-to-end tests: scoring calls and reading Prometheus counters."""

from __future__ import annotations

import re
from typing import Any

import httpx


def score(url: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = httpx.post(f"{url}/score", json={"transactions": items}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 when there is none yet)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def transaction(customer_id: str, merchant_id: str = "m0001", **fields: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "merchant_id": merchant_id, "amount_aed": 120.0, "merchant_category": "grocery",
            "channel": "pos", "event_timestamp": "2026-01-14T12:00:00+04:00", "is_cross_border": False, **fields}


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (module-scoped servers cannot use the function-scoped fixture)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

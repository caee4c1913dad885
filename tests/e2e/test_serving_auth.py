"""A scoring API that only scores: bearer tokens on every route but health and readiness, rotated without a
restart, and a routing key no caller can compute, so crafted customer ids cannot steer (or roll back) a canary.

Before: the routing hash used a public constant, so 25 items with ids chosen under it all landed on the canary
and, with extreme overrides, rolled it back; no route asked for any credential.
"""

from __future__ import annotations

import hashlib

import httpx
import pytest
from http_helpers import free_port, transaction
from serving_stack import TinyStack, copy_stack, environment_with, write_environment_file

from bento_services.serving_secrets import create_local_token, revoke_local_token
from bento_services.server_process import start_server, stop_server
from environments.errors import ConfigError

pytestmark = pytest.mark.slow

#: The routing key every installation shared before it became a per-environment secret.
PUBLIC_KEY_OF_OLD = b"sahab-routing-v1"


def old_point(customer_id: str) -> float:
    digest = hashlib.blake2b(customer_id.encode("utf-8"), digest_size=8, key=PUBLIC_KEY_OF_OLD).digest()
    return int.from_bytes(digest, "big") / float(2**64)


@pytest.fixture(scope="module")
def guarded(tiny_stack: TinyStack, tmp_path_factory: pytest.TempPathFactory):
    """``serving.auth: bearer``, a stable and a healthy canary at 70/30 with rollback on errors."""
    folder = tmp_path_factory.mktemp("guarded")
    env = environment_with(copy_stack(tiny_stack, folder / "data"), port=free_port(), auth="bearer", variants=[
        {"name": "stable", "model_version": tiny_stack.v1, "weight": 0.7},
        {"name": "canary", "model_version": tiny_stack.v2, "weight": 0.3},
    ], canary={"variant": "canary", "min_requests": 20, "max_error_rate": 0.05, "window_seconds": 60})
    token = create_local_token(env, "tests")
    record = start_server(env, environment_ref=str(write_environment_file(env, folder / "env")), ready_timeout_s=240)
    yield env, f"http://127.0.0.1:{env.serving.port}", token
    stop_server(env)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_every_route_but_health_and_readiness_needs_a_token(guarded) -> None:
    _, url, token = guarded
    body = {"transactions": [transaction("c000001")]}
    refused = httpx.post(f"{url}/score", json=body, timeout=30)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert "sahab serve token create" in refused.json()["error"]
    assert httpx.post(f"{url}/score", json=body, headers=bearer("not-a-token"), timeout=30).status_code == 401
    assert httpx.post(f"{url}/score", json=body, headers=bearer(token), timeout=30).status_code == 200
    assert httpx.get(f"{url}/metrics", timeout=30).status_code == 401
    assert httpx.post(f"{url}/routing", timeout=30).status_code == 401
    assert httpx.get(f"{url}/readyz", timeout=30).status_code == 200
    assert httpx.get(f"{url}/livez", timeout=30).status_code == 200


def test_a_token_rotates_without_a_restart(guarded) -> None:
    env, url, _ = guarded
    body = {"transactions": [transaction("c000002")]}
    old = create_local_token(env, "rotating")
    assert httpx.post(f"{url}/score", json=body, headers=bearer(old), timeout=30).status_code == 200
    new = create_local_token(env, "rotating-next")
    revoke_local_token(env, "rotating")
    assert httpx.post(f"{url}/score", json=body, headers=bearer(old), timeout=30).status_code == 401
    assert httpx.post(f"{url}/score", json=body, headers=bearer(new), timeout=30).status_code == 200


def test_25_items_crafted_for_the_old_public_key_neither_steer_nor_roll_back_the_canary(guarded) -> None:
    _, url, token = guarded
    crafted = [c for c in (f"c{i:06d}" for i in range(100_000)) if old_point(c) >= 0.7][:25]  # the canary's slice then
    items = [transaction(c, transaction_id=f"crafted-{c}", features={"merchant_fraud_rate_30d": 1.0})
             for c in crafted]
    answers = httpx.post(f"{url}/score", json={"transactions": items}, headers=bearer(token), timeout=30).json()

    on_canary = sum(a["variant"] == "canary" for a in answers)
    assert on_canary < 20, f"{on_canary} of 25 crafted ids landed on the canary: the routing key is guessable"
    routing = httpx.post(f"{url}/routing", headers=bearer(token), timeout=30).json()
    assert routing["rolled_back"] == {} and routing["weights"] == {"stable": 0.7, "canary": 0.3}


def test_a_service_bound_beyond_loopback_without_auth_is_refused(tiny_stack: TinyStack) -> None:
    with pytest.raises(ConfigError, match="'serving.host' '0.0.0.0' is reachable beyond this machine"):
        environment_with(tiny_stack.env, host="0.0.0.0", auth="none")


def test_the_cluster_smoke_probe_scores_through_the_real_service_and_fails_on_a_refused_token(guarded) -> None:
    """``sahab up``'s in-cluster probe (``infra/smoke_probe.py``, run as ``python -c``) against the real service."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    import infra.smoke_probe as probe

    _, url, token = guarded
    source = Path(probe.__file__).read_text()

    def run(offered: str, deadline_s: str) -> tuple[int, dict]:
        done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120, env={
            "PATH": "/usr/bin:/bin", "SAHAB_SMOKE_URL": f"{url}/score", "SAHAB_SMOKE_TOKEN": offered,
            "SAHAB_SMOKE_DEADLINE_S": deadline_s})
        (line,) = [l for l in done.stdout.splitlines() if l.startswith(f"{probe.MARKER} ")]
        return done.returncode, json.loads(line.split(" ", 1)[1])

    code, scored = run(token, "30")
    assert code == 0 and scored["status"] == 200 and scored["attempts"] == 1
    assert 0.0 <= scored["answer"]["score"] <= 1.0 and scored["answer"]["variant"] in ("stable", "canary")
    assert set(scored["answer"]["unknown_entities"]) == {"customer", "merchant"}  # a synthetic customer, defaults
    code, refused = run("not-a-token", "1")
    assert code == 1 and refused["status"] == 401 and refused["attempts"] >= 1 and "answer" not in refused

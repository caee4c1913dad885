"""Canary rollback and signature refusal, each on its own copy of the stack and its own real server."""

from __future__ import annotations

import httpx
import pytest
from http_helpers import free_port, metric, score, transaction
from serving_stack import TinyStack, copy_stack, environment_with, register_failing_version, write_environment_file

from bento_services.server_process import running_server, start_server, stop_server
from environments.errors import CommandFailed

pytestmark = pytest.mark.slow


def test_a_canary_that_errors_is_rolled_back_automatically(tiny_stack: TinyStack, tmp_path) -> None:
    env = copy_stack(tiny_stack, tmp_path / "data")
    failing = register_failing_version(env, tmp_path / "work")
    env = environment_with(env, port=free_port(), variants=[
        {"name": "stable", "model_version": tiny_stack.v2, "weight": 0.8},
        {"name": "canary", "model_version": failing, "weight": 0.2},
    ], canary={"variant": "canary", "min_requests": 20, "max_error_rate": 0.05, "window_seconds": 60})
    record = start_server(env, environment_ref=str(write_environment_file(env, tmp_path / "env")))
    try:
        answers = []
        for start in range(0, 400, 40):
            answers += score(record.url, [transaction(f"c{i:06d}") for i in range(start, start + 40)])
        assert all(a["variant"] == "stable" for a in answers)  # a failing canary never answers a client
        assert any(a["fallback_from"] == "canary" for a in answers)
        routing = httpx.post(f"{record.url}/routing").json()
        assert routing["weights"] == {"stable": 1.0, "canary": 0.0}
        assert routing["rolled_back"]["canary"].startswith("error rate 1.00 > max_error_rate 0.05")
        assert metric(record.url, "sahab_canary_rollbacks_total", variant="canary") == 1
        assert metric(record.url, "sahab_variant_errors_total", variant="canary") >= 20
        after = score(record.url, [transaction(f"c{i:06d}") for i in range(40)])
        assert all(a["fallback_from"] is None for a in after)
    finally:
        stop_server(env)


def test_a_model_with_a_bad_signature_stops_the_server_naming_the_model_and_the_check(tiny_stack, tmp_path) -> None:
    env = copy_stack(tiny_stack, tmp_path / "data")
    manifest = env.data_path() / "models" / tiny_stack.v1 / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"environment": "local"', '"environment": "prod"'))
    env = environment_with(env, port=free_port(), variants=[{"name": "a", "model_version": tiny_stack.v1, "weight": 1.0}])
    with pytest.raises(CommandFailed) as failure:
        start_server(env, environment_ref=str(write_environment_file(env, tmp_path / "env")), ready_timeout_s=120)
    message = str(failure.value)
    assert message.startswith("the BentoML server refused to start: ")  # why first, in one line
    assert f"model version {tiny_stack.v1} failed the 'signature' check" in message
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert message.endswith(f"full log: {env.paths.run / 'bentoml.log'}")
    assert running_server(env) is None

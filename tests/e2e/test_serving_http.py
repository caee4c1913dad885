"""The real BentoML server (``bentoml serve`` on a free loopback port, A/B between v1 and v2) over HTTP."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from http_helpers import metric, score, transaction
from oracle import expected_scores
from typer.testing import CliRunner

from bento_services.prediction_log import predictions_dir, read_predictions
from bento_services.traffic import payloads_from_frame
from infra.cli.main import app

pytestmark = pytest.mark.slow


def test_scores_for_known_entities_equal_the_onnx_model_run_directly(ab_server, tiny_stack) -> None:
    env, _, record = ab_server
    items = payloads_from_frame(tiny_stack.transactions.sample(30, random_state=11), tiny_stack.env)
    answers = score(record.url, items)
    assert [a["transaction_id"] for a in answers] == [i["transaction_id"] for i in items]
    for version in {a["model_version"] for a in answers}:
        mine = [i for i, a in enumerate(answers) if a["model_version"] == version]
        np.testing.assert_allclose([answers[i]["score"] for i in mine],
                                   expected_scores(env, version, [items[i] for i in mine]), atol=1e-6)


def test_an_answer_is_json_as_the_openapi_document_says_and_is_logged_for_drift_and_in_the_json_log(ab_server) -> None:
    env, _, record = ab_server
    log_before = Path(record.log_path).stat().st_size
    response = httpx.post(f"{record.url}/score", json={"transactions": [transaction("c000002", transaction_id="t-logged")]})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    [answer] = response.json()
    assert answer["transaction_id"] == "t-logged" and answer["variant"] in ("a", "b") and answer["model_version"]
    documented = httpx.get(f"{record.url}/docs.json").json()["paths"]["/score"]["post"]["responses"]["200"]
    assert documented["content"]["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/TransactionScore"}
    logged = read_predictions(predictions_dir(env)).set_index("transaction_id").loc["t-logged"]
    assert (logged["variant"], logged["model_version"], logged["score"]) == (
        answer["variant"], answer["model_version"], pytest.approx(answer["score"]))
    with open(record.log_path, "rb") as log:  # only what this request wrote
        log.seek(log_before)
        written = log.read().decode()
    assert any('"event": "scored"' in line and '"items": 1,' in line for line in written.splitlines()), written


def test_ab_split_over_2000_entities_is_within_three_points_and_sticky(ab_server) -> None:
    _, _, record = ab_server
    ids = [f"c{i:06d}" for i in range(2000)]
    first = {}
    for start in range(0, len(ids), 50):
        for a in score(record.url, [transaction(c, transaction_id=c) for c in ids[start:start + 50]]):
            first[a["transaction_id"]] = a["variant"]
    share_b = sum(v == "b" for v in first.values()) / len(first)
    assert share_b == pytest.approx(0.5, abs=0.03)
    again = random.Random(5).sample(ids, 400)
    for start in range(0, len(again), 50):
        for a in score(record.url, [transaction(c, transaction_id=c) for c in again[start:start + 50]]):
            assert a["variant"] == first[a["transaction_id"]]


def test_malformed_json_is_422_and_the_service_keeps_serving(ab_server) -> None:
    _, _, record = ab_server
    response = httpx.post(f"{record.url}/score", content=b'{"transactions": [{"custo',
                          headers={"content-type": "application/json"})
    assert response.status_code == 422 and "Invalid JSON" in response.json()["error"]
    assert score(record.url, [transaction("c000001")])[0]["score"] >= 0


def test_an_unknown_field_alone_is_422_naming_it(ab_server) -> None:
    _, _, record = ab_server
    response = httpx.post(f"{record.url}/score", json={"transactions": [transaction("c000001", colour="red")]})
    assert response.status_code == 422 and response.json()["fields"] == ["transactions.0.colour"]


def test_wrong_types_are_422_naming_every_field(ab_server) -> None:
    _, _, record = ab_server
    bad = transaction("c000001", amount_aed="lots", event_timestamp="2026-01-14T12:00:00", channel="fax", colour="red")
    response = httpx.post(f"{record.url}/score", json={"transactions": [bad]})
    assert response.status_code == 422
    assert sorted(response.json()["fields"]) == [
        "transactions.0.amount_aed", "transactions.0.channel", "transactions.0.colour", "transactions.0.event_timestamp"]


def test_the_old_hour_field_is_422_saying_what_replaced_it(ab_server) -> None:
    _, _, record = ab_server
    response = httpx.post(f"{record.url}/score", json={"transactions": [transaction("c000001", hour=21)]})
    assert response.status_code == 422
    assert "'hour' is not a request field: send 'event_timestamp'" in response.json()["error"]


def test_a_feature_override_beyond_its_bound_is_422_naming_the_feature_and_nothing_is_scored(ab_server) -> None:
    """1e300 is finite and >= 0, yet it drove the model to NaN, which a canary counted against its variant."""
    _, _, record = ab_server
    before = metric(record.url, "sahab_predictions_total")
    bad = transaction("c000001", features={"merchant_fraud_rate_30d": 1e300, "txn_count_1h": 2})
    response = httpx.post(f"{record.url}/score", json={"transactions": [bad]})
    assert response.status_code == 422 and response.json()["fields"] == ["transactions.0.features"]
    assert "'features.merchant_fraud_rate_30d' must be between 0 and 1 (value: 1e+300)" in response.json()["error"]
    assert metric(record.url, "sahab_predictions_total") == before


def test_an_oversized_batch_is_413_naming_the_limit(ab_server) -> None:
    _, _, record = ab_server
    response = httpx.post(f"{record.url}/score", json={"transactions": [transaction("c000001")] * 65})
    assert response.status_code == 413
    assert response.json()["error"].startswith("'transactions' holds 65 items; the limit is serving.max_batch_size = 64")


def test_an_unknown_entity_gets_defaults_and_a_flag(ab_server) -> None:
    _, _, record = ab_server
    [answer] = score(record.url, [transaction("c424242", merchant_id="m0001")])
    assert answer["unknown_entities"] == ["customer"] and 0.0 <= answer["score"] <= 1.0


def test_metrics_count_rejections_predictions_and_unknown_entities(ab_server) -> None:
    _, _, record = ab_server
    url = record.url
    before = {k: metric(url, *k) for k in (("sahab_rejected_requests_total",), ("sahab_predictions_total",),
                                           ("sahab_unknown_entities_total",))}
    httpx.post(f"{url}/score", json={"transactions": [transaction("c000001", event_timestamp="not a time")]})
    httpx.post(f"{url}/score", json={"transactions": [transaction("c000001")] * 65})
    score(url, [transaction("c000001"), transaction("c777777")])
    assert metric(url, "sahab_rejected_requests_total", status="422") >= 1
    assert metric(url, "sahab_rejected_requests_total") == before[("sahab_rejected_requests_total",)] + 2
    assert metric(url, "sahab_predictions_total") == before[("sahab_predictions_total",)] + 2
    assert metric(url, "sahab_unknown_entities_total") == before[("sahab_unknown_entities_total",)] + 1
    assert metric(url, "bentoml_service_request_total", endpoint="/score", http_response_code="413") >= 1
    assert metric(url, "sahab_prediction_latency_seconds_count") > 0


def test_weights_shift_at_run_time_without_a_restart(ab_server) -> None:
    _, env_file, record = ab_server
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["serve", "weights", "--env", str(env_file), "a=0", "b=1"])
        assert result.exit_code == 0, result.output
        answers = score(record.url, [transaction(f"c{i:06d}") for i in range(60)])
        assert {a["variant"] for a in answers} == {"b"}
        assert httpx.post(f"{record.url}/routing").json()["reason"] == "sahab serve weights"
        assert record.is_alive()  # same process: no restart
    finally:
        assert runner.invoke(app, ["serve", "weights", "--env", str(env_file), "--reset"]).exit_code == 0
    assert {a["variant"] for a in score(record.url, [transaction(f"c{i:06d}") for i in range(60)])} == {"a", "b"}


def test_weights_that_do_not_sum_to_one_are_refused_with_exit_2(ab_server) -> None:
    _, env_file, _ = ab_server
    done = subprocess.run([str(Path(sys.executable).with_name("sahab")), "serve", "weights", "--env", str(env_file),
                           "a=0.7", "b=0.7"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "the weights of the variants must sum to 1 (sum: 1.4)" in done.stderr


def test_where_overrides_are_turned_off_a_request_with_features_is_422_naming_the_setting(tiny_stack, tmp_path) -> None:
    from http_helpers import free_port
    from serving_stack import copy_stack, environment_with, write_environment_file

    from bento_services.server_process import start_server, stop_server

    env = environment_with(copy_stack(tiny_stack, tmp_path / "data"), port=free_port(), allow_feature_overrides=False,
                           variants=[{"name": "a", "model_version": tiny_stack.v1, "weight": 1.0}])
    record = start_server(env, environment_ref=str(write_environment_file(env, tmp_path / "env")))
    try:
        plain = httpx.post(f"{record.url}/score", json={"transactions": [transaction("c000001")]})
        overriding = httpx.post(f"{record.url}/score", json={"transactions": [
            transaction("c000001"), transaction("c000002", features={"txn_count_1h": 0})]})
    finally:
        stop_server(env)
    assert plain.status_code == 200
    assert overriding.status_code == 422 and overriding.json()["fields"] == ["transactions"]
    assert "feature overrides are turned off in this environment (serving.allow_feature_overrides); transactions [1]" in (
        overriding.json()["error"])

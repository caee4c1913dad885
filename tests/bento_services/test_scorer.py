"""The scorer without BentoML: features from Feast, routing, the signed models, shadow, fallback, log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from oracle import expected_scores, online_records
from prometheus_client import CollectorRegistry
from serving_stack import TinyStack, copy_stack, environment_with, register_failing_version

from bento_services.fraud_scoring.assembly import build_scorer
from bento_services.fraud_scoring.metrics import ServingMetrics
from bento_services.fraud_scoring.schemas import TransactionIn
from bento_services.prediction_log import JsonlPredictionSink, read_predictions
from bento_services.traffic import payloads_from_frame
from environments import Environment
from environments.errors import ConfigError, IntegrityError


def scorer_for(env: Environment, log_dir: Path):
    return build_scorer(env, metrics=ServingMetrics.create(CollectorRegistry()), sink=JsonlPredictionSink(log_dir))


@pytest.fixture(scope="module")
def ab_env(tiny_stack: TinyStack) -> Environment:
    return environment_with(tiny_stack.env, variants=[
        {"name": "a", "model_version": tiny_stack.v1, "weight": 0.5},
        {"name": "b", "model_version": tiny_stack.v2, "weight": 0.5},
    ])


@pytest.fixture(scope="module")
def known_items(tiny_stack: TinyStack) -> list[dict]:
    return payloads_from_frame(tiny_stack.transactions.sample(40, random_state=7), tiny_stack.env)


def test_scores_of_known_entities_equal_the_signed_onnx_model_run_directly(ab_env, known_items, tmp_path) -> None:
    answers = scorer_for(ab_env, tmp_path).score([TransactionIn(**item) for item in known_items])
    for version in {a.model_version for a in answers}:
        mine = [(i, a) for i, a in enumerate(answers) if a.model_version == version]
        expected = expected_scores(ab_env, version, [known_items[i] for i, _ in mine])
        np.testing.assert_allclose([a.score for _, a in mine], expected, atol=1e-6)
    assert {a.variant for a in answers} == {"a", "b"} and not any(a.unknown_entities for a in answers)


def test_unknown_entities_are_flagged_and_scored_as_an_empty_history_and_the_merchant_default(ab_env, known_items, tmp_path) -> None:
    item = {**known_items[0], "customer_id": "c999999", "merchant_id": "m9999"}
    [answer] = scorer_for(ab_env, tmp_path).score([TransactionIn(**item)])
    assert answer.unknown_entities == ["customer", "merchant"]
    record = online_records(ab_env, [item])[0]
    assert all(v == 0 for k, v in record.items() if k.startswith("txn_"))  # an empty history, as training's first rows
    assert record["merchant_fraud_rate_30d"] is None  # the preprocessing's prior and missing flag
    assert answer.score == pytest.approx(expected_scores(ab_env, answer.model_version, [item])[0], abs=1e-6)


def test_a_request_feature_overrides_the_online_store(ab_env, known_items, tmp_path) -> None:
    scorer = scorer_for(ab_env, tmp_path)
    item = {**known_items[1], "features": {"txn_count_1h": 40.0, "amount_sum_1h_aed": 90000.0}}
    [plain] = scorer.score([TransactionIn(**known_items[1])])
    [overridden] = scorer.score([TransactionIn(**item)])
    assert overridden.score == pytest.approx(expected_scores(ab_env, overridden.model_version, [item])[0], abs=1e-6)
    assert overridden.score != pytest.approx(plain.score, abs=1e-6)


def test_every_prediction_is_logged_with_features_score_version_variant_and_latency(ab_env, known_items, tmp_path) -> None:
    scorer = scorer_for(ab_env, tmp_path)  # held until the log is read: a sink that only writes when freed must fail
    answers = scorer.score([TransactionIn(**item) for item in known_items[:5]])
    log = read_predictions(tmp_path)
    assert scorer.sink is not None
    assert list(log["transaction_id"]) == [a.transaction_id for a in answers]
    assert list(log["score"]) == pytest.approx([a.score for a in answers])
    assert list(log["variant"]) == [a.variant for a in answers]
    assert list(log["model_version"]) == [a.model_version for a in answers]
    assert (log["latency_ms"] > 0).all() and log["amount_aed"].tolist() == [i["amount_aed"] for i in known_items[:5]]


def test_the_shadow_variant_is_scored_and_logged_but_never_answers(tiny_stack, known_items, tmp_path) -> None:
    env = environment_with(tiny_stack.env, shadow_variant="s", variants=[
        {"name": "a", "model_version": tiny_stack.v1, "weight": 1.0},
        {"name": "s", "model_version": tiny_stack.v2, "weight": 0.0},
    ])
    answers = scorer_for(env, tmp_path).score([TransactionIn(**item) for item in known_items[:10]])
    assert {a.variant for a in answers} == {"a"}
    shadow = read_predictions(tmp_path, include_shadow=True).query("shadow")
    assert len(shadow) == 10 and set(shadow["model_version"]) == {tiny_stack.v2}
    np.testing.assert_allclose(shadow["score"], expected_scores(env, tiny_stack.v2, known_items[:10]), atol=1e-6)


@pytest.fixture(scope="module")
def failing_canary_env(tiny_stack, tmp_path_factory) -> Environment:
    env = copy_stack(tiny_stack, tmp_path_factory.mktemp("canary") / "data")
    failing = register_failing_version(env, tmp_path_factory.mktemp("failing"))
    return environment_with(
        env,
        variants=[{"name": "stable", "model_version": tiny_stack.v2, "weight": 0.7},
                  {"name": "canary", "model_version": failing, "weight": 0.3}],
        canary={"variant": "canary", "min_requests": 20, "max_error_rate": 0.05, "window_seconds": 60},
    )


def test_a_failing_canary_answers_through_the_stable_variant_then_is_rolled_back(failing_canary_env, tmp_path) -> None:
    scorer = scorer_for(failing_canary_env, tmp_path)
    items = [TransactionIn(customer_id=f"c{i:06d}", merchant_id="m0001", amount_aed=50.0, merchant_category="fuel",
                           channel="pos", is_cross_border=False) for i in range(300)]
    first = scorer.score(items[:150])
    assert any(a.fallback_from == "canary" for a in first) and {a.variant for a in first} == {"stable"}
    assert scorer.router.weights() == {"stable": 1.0, "canary": 0.0}
    assert "error rate" in scorer.routing_state().rolled_back["canary"]
    second = scorer.score(items[150:])
    assert all(a.variant == "stable" and a.fallback_from is None for a in second)


def test_a_tampered_model_stops_the_service_naming_the_version_and_the_check(tiny_stack, tmp_path) -> None:
    env = copy_stack(tiny_stack, tmp_path / "data")
    model = env.data_path() / "models" / tiny_stack.v2 / "model.onnx"
    raw = bytearray(model.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    model.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match=rf"model version {tiny_stack.v2} failed the 'artifact-digest' check"):
        scorer_for(env, tmp_path / "log")


def test_a_canary_without_a_variant_to_roll_back_to_is_refused(tiny_stack) -> None:
    with pytest.raises(ConfigError, match="'canary.variant' 'c' needs another non-shadow variant to roll back to"):
        environment_with(tiny_stack.env, variants=[{"name": "c", "model_version": "latest", "weight": 1.0}],
                         canary={"variant": "c"})


def test_a_shadow_variant_with_traffic_is_refused(tiny_stack) -> None:
    with pytest.raises(ConfigError, match="weight of the shadow variant 's' must be 0"):
        environment_with(tiny_stack.env, shadow_variant="s", variants=[
            {"name": "a", "model_version": "latest", "weight": 0.5},
            {"name": "s", "model_version": "previous", "weight": 0.5}])

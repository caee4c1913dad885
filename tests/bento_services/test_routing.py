"""The router: sticky weighted assignment, run-time weights through the file, canary rollback."""

from __future__ import annotations

import subprocess

import pytest

from bento_services.routing import Router, entity_point
from bento_services.weights_file import WeightsFile
from environments import CanaryConfig, ServingConfig, VariantConfig
from environments.errors import ConfigError

ENTITIES = [f"c{i:06d}" for i in range(2000)]
#: A routing key for the tests (an environment's is secret: ``serving_secrets.routing_key``).
KEY = bytes(range(32))
#: Where c000001 falls under ``KEY``: pinned, so a change of hash function fails (it would reshuffle customers).
PINNED_C000001 = 0.2704895336118159


def serving(weights: dict[str, float], *, shadow: str | None = None, canary: CanaryConfig | None = None) -> ServingConfig:
    return ServingConfig(
        variants=[VariantConfig(name=n, model_version="latest", weight=w) for n, w in weights.items()],
        shadow_variant=shadow,
        canary=canary,
    )


def share(router: Router, variant: str) -> float:
    return sum(router.assign(e) == variant for e in ENTITIES) / len(ENTITIES)


def test_entity_point_is_a_pinned_keyed_hash_not_python_hash() -> None:
    # Pinned values: Python's hash() changes per process (PYTHONHASHSEED); a change of hash function
    # here would silently reshuffle every customer between variants, so it must fail this test.
    assert entity_point("c000001", KEY) == pytest.approx(PINNED_C000001, abs=1e-15)
    assert entity_point("c000001", KEY) != entity_point("c000001", b"another key")  # the key decides



def test_split_over_2000_entities_is_within_three_points_of_the_weights() -> None:
    router = Router(routing_key=KEY, serving=serving({"a": 0.7, "b": 0.3}))
    assert share(router, "b") == pytest.approx(0.3, abs=0.03)


def test_assignment_is_sticky_across_router_instances() -> None:
    first = [Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5})).assign(e) for e in ENTITIES[:200]]
    again = [Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5})).assign(e) for e in ENTITIES[:200]]
    assert first == again


def test_raising_a_weight_moves_only_entities_into_the_grown_variant() -> None:
    before = Router(routing_key=KEY, serving=serving({"a": 0.9, "b": 0.1}))
    after = Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5}))
    moved = [e for e in ENTITIES if before.assign(e) != after.assign(e)]
    assert moved and all(before.assign(e) == "a" and after.assign(e) == "b" for e in moved)


def test_zero_weight_variant_gets_no_traffic() -> None:
    router = Router(routing_key=KEY, serving=serving({"a": 1.0, "b": 0.0}))
    assert share(router, "b") == 0.0


def test_weights_file_changes_routing_without_a_new_router(tmp_path) -> None:
    file = WeightsFile(tmp_path / "weights.json")
    router = Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5}), weights_file=file)
    Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5}), weights_file=file).set_weights({"a": 0.1, "b": 0.9}, reason="test")
    router.refresh()
    assert share(router, "b") == pytest.approx(0.9, abs=0.03)


def test_removing_the_weights_file_returns_to_the_environment_weights(tmp_path) -> None:
    file = WeightsFile(tmp_path / "weights.json")
    router = Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5}), weights_file=file)
    router.set_weights({"a": 1.0, "b": 0.0}, reason="test")
    file.remove()
    router.refresh()
    assert router.weights() == {"a": 0.5, "b": 0.5}


def test_set_weights_refuses_unknown_variants_and_bad_sums_naming_them() -> None:
    router = Router(routing_key=KEY, serving=serving({"a": 0.5, "b": 0.5}))
    with pytest.raises(ConfigError, match=r"(?s)unknown variant\(s\) \['z'\].*must sum to 1") as info:
        router.set_weights({"a": 0.5, "b": 0.4, "z": 0.3}, reason="test")
    assert len(info.value.problems) == 2


def test_fallback_is_the_heaviest_other_live_variant() -> None:
    router = Router(routing_key=KEY, serving=serving({"a": 0.6, "b": 0.3, "c": 0.1}))
    assert router.fallback_for("c") == "a"
    assert router.fallback_for("a") == "b"


class FakeClock:
    """A settable monotonic clock (time is an input here, not a collaborator to fake)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def canary_router(tmp_path, **rules) -> Router:
    canary = CanaryConfig(variant="canary", min_requests=20, window_seconds=60, **rules)
    return Router(routing_key=KEY, serving=serving({"a": 0.8, "canary": 0.2}, canary=canary), weights_file=WeightsFile(tmp_path / "w.json"))


def test_canary_is_rolled_back_when_its_error_rate_crosses_the_threshold(tmp_path) -> None:
    router = canary_router(tmp_path, max_error_rate=0.05)
    outcomes = [router.observe("canary", ok=False, latency_ms=1.0) for _ in range(20)]
    rollback = next(o for o in outcomes if o is not None)
    assert rollback.variant == "canary" and "error rate" in rollback.reason
    assert router.weights() == {"a": 1.0, "canary": 0.0}
    assert share(router, "canary") == 0.0


def test_canary_rollback_is_written_for_the_other_workers(tmp_path) -> None:
    router = canary_router(tmp_path, max_error_rate=0.05)
    for _ in range(20):
        router.observe("canary", ok=False, latency_ms=1.0)
    state = WeightsFile(tmp_path / "w.json").read()
    assert state is not None and state.weights["canary"] == 0.0 and "canary" in state.rolled_back


def test_canary_is_rolled_back_when_its_p95_latency_crosses_the_threshold(tmp_path) -> None:
    router = canary_router(tmp_path, max_p95_latency_ms=50.0)
    rollbacks = [router.observe("canary", ok=True, latency_ms=80.0, count=20)]
    assert rollbacks[0] is not None and "p95 latency 80.0 ms" in rollbacks[0].reason


def test_a_healthy_canary_keeps_its_weight(tmp_path) -> None:
    router = canary_router(tmp_path)
    for _ in range(100):
        assert router.observe("canary", ok=True, latency_ms=2.0) is None
    assert router.weights()["canary"] == 0.2


def test_errors_of_the_stable_variant_never_roll_anything_back(tmp_path) -> None:
    router = canary_router(tmp_path)
    assert all(router.observe("a", ok=False, latency_ms=1.0) is None for _ in range(50))
    assert router.weights() == {"a": 0.8, "canary": 0.2}


def test_a_rollback_whose_weights_cannot_be_written_holds_in_this_process(tmp_path, caplog) -> None:
    """In a cluster the weights file is a read-only ConfigMap mount: the rollback must still take effect.

    Tests run as root, whom permissions do not stop: the folder is made immutable (``chattr +i``) instead.
    """
    folder = tmp_path / "run"
    folder.mkdir()
    canary = CanaryConfig(variant="canary", min_requests=20, window_seconds=60, max_error_rate=0.05)
    router = Router(routing_key=KEY, serving=serving({"a": 0.8, "canary": 0.2}, canary=canary), weights_file=WeightsFile(folder / "weights.json"))
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("needs chattr (e2fsprogs) on a file system that supports it, to make a folder unwritable for root")
    try:
        rollbacks = [r for r in (router.observe("canary", ok=False, latency_ms=1.0) for _ in range(20)) if r]
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert len(rollbacks) == 1 and router.weights() == {"a": 1.0, "canary": 0.0}
    assert not (folder / "weights.json").exists()
    assert "in force in this process only" in caplog.text

"""A tiny but real local stack for the serving tests: data, Feast stores, two trained signed versions.

Built once per test session (``build_tiny_stack`` is cached in-process; the serving and e2e suites
both ask for it) with the same step functions ``sahab up`` runs, on a data set small enough to
train in seconds. Helpers write environment files that point a server at this stack with other
serving settings (ports, variants, canary), the way a user edits ``environments/<env>.yaml``.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from features.pseudonyms import LOCAL_KEY_FILE, pseudonymiser_for
from environments import DataConfig, Environment, TrainingConfig, load_environment, parse_environment

TINY_DATA = DataConfig(customers=300, merchants=40, days=14)
TINY_TRAINING = TrainingConfig(epochs=2, validation_days=4)


@dataclass(frozen=True)
class TinyStack:
    env: Environment
    v1: str
    v2: str
    transactions: pd.DataFrame

    @property
    def data_dir(self) -> Path:
        return self.env.data_path()


def tiny_environment(data_dir: Path) -> Environment:
    env = load_environment("local")
    return env.model_copy(update={"data_dir": str(data_dir), "data": TINY_DATA, "training": TINY_TRAINING})


@functools.cache
def build_tiny_stack(root: Path) -> TinyStack:
    """Generate, apply, materialise and train v1 + v2 under ``root`` (once per session)."""
    from infra.local.runner import StackRun, feast_apply, feast_materialize, generate_data, train_versions

    env = tiny_environment(root / "data")
    # A fixed routing key (an environment's own is random and secret): the same customers reach the same variant in
    # every run, so tests that compare a variant's logged scores with its reference are reproducible.
    env.paths.keys.mkdir(parents=True, exist_ok=True)
    (env.paths.keys / "routing.key").write_text("tiny-stack-test-routing-key\n")
    (env.paths.keys / LOCAL_KEY_FILE).write_bytes(b"tiny-stack-test-pseudonym-key-32")  # the same pseudonyms each run
    run = StackRun(env)
    for step in (generate_data, feast_apply, feast_materialize, train_versions):
        step(run)
    v1, v2 = run.facts["versions"]
    transactions = pd.read_parquet(env.data_path() / "offline" / "transactions.parquet")
    return TinyStack(env, v1, v2, transactions)


def environment_with(env: Environment, **serving: Any) -> Environment:
    """``env`` with serving settings replaced, validated as an environment file would be."""
    data = env.model_dump(mode="json", exclude_none=True)
    data["serving"].update(serving)
    return parse_environment(data, source="test environment")


def write_environment_file(env: Environment, folder: Path) -> Path:
    """Write ``env`` as ``<folder>/<name>.yaml`` (the file name must be the environment's name)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{env.name}.yaml"
    path.write_text(yaml.safe_dump(env.model_dump(mode="json", exclude_none=True), sort_keys=False))
    return path


def copy_stack(stack: TinyStack, destination: Path) -> Environment:
    """A separate copy of the stack's data (stores, models, keys), for tests that add or break versions."""
    shutil.copytree(stack.data_dir, destination, ignore=shutil.ignore_patterns("run", "predictions", "reports",
                                                                               "training", "bentoml"))
    return stack.env.model_copy(update={"data_dir": str(destination)})


def register_failing_version(env: Environment, work_dir: Path) -> str:
    """Sign and register a valid ONNX model that fails at inference: it expects 99 numeric inputs.

    This is the "bad canary": it passes every signature and digest check, loads, and then raises on
    every batch (ONNX Runtime refuses the real input width), like a model exported against other
    preprocessing.
    """
    import onnx
    from onnx import TensorProto, helper

    from training.registry import load_version, register_version

    good = load_version(env, "latest")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["numeric", "axes"], ["total"], keepdims=0),
            helper.make_node("Sigmoid", ["total"], ["fraud_probability"]),
        ],
        "expects_99_numeric_inputs",
        [helper.make_tensor_value_info("categorical", TensorProto.INT64, ["batch", 3]),
         helper.make_tensor_value_info("numeric", TensorProto.FLOAT, ["batch", 99])],
        [helper.make_tensor_value_info("fraud_probability", TensorProto.FLOAT, ["batch"])],
        initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
    )
    export = work_dir / "failing-export"
    export.mkdir(parents=True)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), export / "model.onnx")
    (export / "preprocessing.json").write_bytes(good.read_artifact("preprocessing.json"))
    version = register_version(
        env, export, metrics={"purpose": "test: fails at inference"}, feature_service=good.manifest.feature_service,
        features=good.manifest.features, data_snapshot_sha256=good.manifest.data_snapshot_sha256,
    )
    return version.version_id


def pseudonyms_of(env: Environment, transactions: list[Any]) -> list[str]:
    """The customer pseudonyms of request items, as the service derives them (the online store's keys)."""
    return pseudonymiser_for(env).many(t.customer_id for t in transactions)

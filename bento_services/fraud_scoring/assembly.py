"""Build a ready ``Scorer`` from an environment: verified models, online store, router, log sink.

Kept apart from ``service.py`` so that tests and benchmarks get the exact object the service
runs, without BentoML in between. Every variant's version is loaded through the registry's
verification; the first failure stops the build with the registry's message (version + check).
"""

from __future__ import annotations

import logging
from typing import Any

from bento_services.fraud_scoring.metrics import ServingMetrics, serving_metrics
from bento_services.fraud_scoring.model_runtime import OnnxRuntimeModel, VariantModel
from bento_services.fraud_scoring.online_features import OnlineFeatures
from bento_services.fraud_scoring.scorer import Scorer
from bento_services.json_logging import serving_logger
from bento_services.prediction_log import PredictionSink, sink_for
from bento_services.serving_secrets import routing_key
from bento_services.routing import Router
from bento_services.weights_file import WeightsFile
from environments import Environment, ServingConfig
from environments.errors import ConfigError, IntegrityError
from training.manifest import FP32_MODEL_FILE, INT8_MODEL_FILE, PREPROCESSING_FILE

#: Environment variable that marks an image build (``bentoml build`` imports the service without models).
BUILD_FLAG = "SAHAB_BUILDING_IMAGE"
#: Which ONNX file runs for each ``serving.model_precision``.
MODEL_FILES = {"fp32": FP32_MODEL_FILE, "int8": INT8_MODEL_FILE}


def weights_file_for(env: Environment) -> WeightsFile:
    return WeightsFile.for_run_dir(env.paths.run)


def verify_variants(env: Environment, logger: logging.Logger) -> dict[str, Any]:
    """Resolve and verify the version of every variant; the first failure is logged and raised.

    The service calls this when its module is imported, before BentoML starts a worker: BentoML
    respawns a worker whose start-up fails, forever, so a check that only ran in the worker would
    leave a server that never becomes ready instead of one that refuses to start.
    """
    from training.registry import load_version

    verified: dict[str, Any] = {}
    for variant in env.serving.variants:
        try:
            verified[variant.name] = load_version(env, variant.model_version)
        except IntegrityError as exc:
            logger.error("refusing to start: model failed verification", extra={"fields": {
                "variant": variant.name, "model_version": variant.model_version,
                "check": getattr(exc, "check", None), "error": str(exc)}})
            raise
    return verified


def load_variant_models(env: Environment, logger: logging.Logger) -> tuple[dict[str, VariantModel], Any]:
    """Verify and load the version of every variant (a version shared by variants loads once).

    Returns the models by variant name and the manifest they share (feature service, features).
    """
    from training.preprocessing import Preprocessor

    loaded: dict[str, tuple[Any, Any, Any]] = {}
    models: dict[str, VariantModel] = {}
    verified_by_variant = verify_variants(env, logger)
    for variant in env.serving.variants:
        verified = verified_by_variant[variant.name]
        if verified.version_id not in loaded:
            preprocessor = Preprocessor.from_json(verified.read_artifact(PREPROCESSING_FILE).decode("utf-8"))
            runtime = make_runtime(verified, env.serving)
            loaded[verified.version_id] = (verified, preprocessor, runtime)
        verified, preprocessor, runtime = loaded[verified.version_id]
        models[variant.name] = VariantModel(variant.name, verified.version_id, preprocessor.transform, runtime)
        logger.info("variant loaded", extra={"fields": {
            "variant": variant.name, "model_version": verified.version_id, "ref": variant.model_version,
            "weight": variant.weight, "device": env.serving.device}})
    services = {entry[0].manifest.feature_service for entry in loaded.values()}
    if len(services) != 1:
        raise ConfigError(
            f"all served versions must read one feature service; these read {sorted(services)}: "
            f"serve versions trained on the same service, or retrain"
        )
    first = next(iter(loaded.values()))
    return models, first[0].manifest


def make_runtime(verified: Any, serving: ServingConfig) -> Any:
    """ONNX Runtime on CPU, or torch on CUDA (``serving.device``); see ``model_runtime``."""
    if serving.device == "cuda":
        from bento_services.fraud_scoring.torch_runtime import TorchModel

        return TorchModel(verified.read_artifact(FP32_MODEL_FILE), device="cuda")
    name = MODEL_FILES[serving.model_precision]
    if name not in verified.manifest.artifacts:
        raise ConfigError(
            f"'serving.model_precision' is {serving.model_precision!r} but version {verified.version_id} has no {name}"
        )
    return OnnxRuntimeModel(verified.read_artifact(name), serving)


def build_scorer(
    env: Environment,
    *,
    metrics: ServingMetrics | None = None,
    sink: PredictionSink | None = None,
) -> Scorer:
    """Everything the service needs, from the environment file."""
    from features.pseudonyms import pseudonymiser_for
    from features.store import feature_store_for

    logger = serving_logger()
    models, manifest = load_variant_models(env, logger)
    store = feature_store_for(env)
    features = OnlineFeatures(store, manifest.feature_service, read_timeout_ms=env.serving.online_read_timeout_ms)
    return Scorer(
        models=models,
        router=Router(env.serving, routing_key=routing_key(env), weights_file=weights_file_for(env)),
        features=features,
        sink=sink or sink_for(env),
        metrics=metrics or serving_metrics(),
        score_threshold=env.serving.score_threshold,
        logger=logger,
        pseudonymise=pseudonymiser_for(env),
    )

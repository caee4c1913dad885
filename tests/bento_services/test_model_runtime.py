"""The two runtimes agree on the trained, signed model: ONNX Runtime (CPU) and torch (CPU here, CUDA on GPUs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from serving_stack import TinyStack

from bento_services.fraud_scoring.model_runtime import OnnxRuntimeModel
from bento_services.fraud_scoring.torch_runtime import TorchModel
from environments import ServingConfig
from environments.errors import ConfigError
from training.preprocessing import Preprocessor
from training.registry import load_version


@pytest.fixture(scope="module")
def model_and_inputs(tiny_stack: TinyStack):
    verified = load_version(tiny_stack.env, tiny_stack.v2)
    preprocessor = Preprocessor.from_json(verified.read_artifact("preprocessing.json").decode())
    rows = tiny_stack.transactions.sample(256, random_state=3)
    return verified.read_artifact("model.onnx"), preprocessor.transform(rows)


def test_torch_rebuilt_from_the_signed_onnx_matches_onnx_runtime(model_and_inputs) -> None:
    model_bytes, inputs = model_and_inputs
    np.testing.assert_allclose(TorchModel(model_bytes, device="cpu").run(inputs),
                               OnnxRuntimeModel(model_bytes, ServingConfig()).run(inputs), atol=1e-5)


def test_int8_model_scores_close_to_fp32(tiny_stack, model_and_inputs) -> None:
    _, inputs = model_and_inputs
    verified = load_version(tiny_stack.env, tiny_stack.v2)
    fp32 = OnnxRuntimeModel(verified.read_artifact("model.onnx"), ServingConfig()).run(inputs)
    int8 = OnnxRuntimeModel(verified.read_artifact("model.int8.onnx"), ServingConfig(model_precision="int8")).run(inputs)
    assert np.abs(fp32 - int8).max() < 0.05


def test_a_graph_that_is_not_a_fraud_scorer_is_refused_for_torch(tmp_path) -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Sigmoid", ["numeric"], ["p"])], "g",
                              [helper.make_tensor_value_info("numeric", TensorProto.FLOAT, ["b", 1])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["b", 1])])
    with pytest.raises(ConfigError, match="no embedding or MLP weights"):
        TorchModel(helper.make_model(graph).SerializeToString(), device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine (torch CPU build)")
def test_torch_on_cuda_matches_onnx_runtime(model_and_inputs) -> None:
    model_bytes, inputs = model_and_inputs
    np.testing.assert_allclose(TorchModel(model_bytes, device="cuda").run(inputs),
                               OnnxRuntimeModel(model_bytes, ServingConfig()).run(inputs), atol=1e-4)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA; the refusal is for CPU-only hosts")
def test_cuda_requested_without_a_gpu_is_a_clear_config_error(model_and_inputs) -> None:
    with pytest.raises(ConfigError, match="'serving.device' is 'cuda' but torch sees no CUDA device"):
        TorchModel(model_and_inputs[0], device="cuda")

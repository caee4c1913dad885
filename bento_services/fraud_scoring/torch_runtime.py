"""The signed ONNX model run by torch, on CUDA when ``serving.device`` is ``cuda``.

The version folder ships ONNX only, and only the ONNX bytes are covered by the signature. So the
torch model is rebuilt from them: ``training.model.FraudScorer`` with the shape the initializers
reveal, loaded with the initializers as its weights (the dynamo exporter names them after the
module's parameters, ``scorer.<parameter>``). Loading is strict, so an ONNX graph of another
architecture is refused rather than half-loaded; ``tests/bento_services`` checks torch and ONNX
Runtime agree on the same inputs (on the CPU; the CUDA path is the same code on another device).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from environments.errors import ConfigError

#: Prefix of the trained scorer's parameters inside the exported ``FraudProbability`` graph.
PARAMETER_PREFIX = "scorer."


class TorchModel:
    """``run(inputs) -> probabilities`` with torch on ``device`` (``cuda`` or ``cpu``)."""

    def __init__(self, model_bytes: bytes, *, device: str = "cuda") -> None:
        import onnx
        import torch
        from onnx import numpy_helper

        from training.model import FraudProbability, FraudScorer

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(
                "'serving.device' is 'cuda' but torch sees no CUDA device "
                f"(torch {torch.__version__}); use device 'cpu' (ONNX Runtime) or run on a GPU node"
            )
        graph = onnx.load_model_from_string(model_bytes).graph
        weights = {
            init.name.removeprefix(PARAMETER_PREFIX): torch.from_numpy(numpy_helper.to_array(init).copy())
            for init in graph.initializer if init.name.startswith(PARAMETER_PREFIX)
        }
        spec = _spec_from_weights(weights)
        scorer = FraudScorer(spec)
        try:
            scorer.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise ConfigError(f"the ONNX model is not a training.model.FraudScorer export: {exc}") from None
        self.device = torch.device(device)
        self.model = FraudProbability(scorer).to(self.device).eval()
        self._torch = torch

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            categorical = torch.from_numpy(inputs["categorical"]).to(self.device, non_blocking=True)
            numeric = torch.from_numpy(inputs["numeric"]).to(self.device, non_blocking=True)
            return self.model(categorical, numeric).double().cpu().numpy().reshape(-1)


def _spec_from_weights(weights: dict) -> Any:
    """The ``ModelSpec`` the initializer shapes imply (members, vocabularies, numeric width, hidden layers)."""
    from training.model import ModelSpec

    members = {int(key.split(".")[1]) for key in weights if key.startswith("members.")}
    first = {key.removeprefix("members.0."): value for key, value in weights.items() if key.startswith("members.0.")}
    tables = sorted((k for k in first if k.startswith("embeddings.")), key=lambda k: int(k.split(".")[1]))
    linears = sorted((k for k in first if k.startswith("mlp.") and k.endswith(".weight")),
                     key=lambda k: int(k.split(".")[1]))
    if not tables or not linears:
        raise ConfigError("the ONNX model has no embedding or MLP weights named like a training.model.FraudScorer")
    vocabulary_sizes = [int(first[k].shape[0]) for k in tables]
    embedded = sum(int(first[k].shape[1]) for k in tables)
    numeric_width = int(first[linears[0]].shape[1]) - embedded
    hidden_sizes = [int(first[k].shape[0]) for k in linears[:-1]]
    return ModelSpec(vocabulary_sizes=vocabulary_sizes, numeric_width=numeric_width, hidden_sizes=hidden_sizes,
                     members=len(members))

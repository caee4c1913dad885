"""Run one model version: ONNX Runtime on CPU (default) or the torch model on a CUDA GPU.

| serving.device | runtime                       | model file                                  |
|----------------|-------------------------------|---------------------------------------------|
| cpu            | ONNX Runtime, CPU provider    | model.onnx (fp32) or model.int8.onnx        |
| cuda           | torch on ``cuda:0``           | the ONNX graph's weights in a torch module  |

ONNX Runtime session options: full graph optimisation (constant folding, fusions), sequential
execution, and thread counts from ``serving.ort_intra_op_threads``/``ort_inter_op_threads`` (1 by
default: for a small MLP at small batches, more threads cost more in synchronisation than they
save, and the server's workers already use the other cores; ``bench/serving.py`` measures it).
The session is built from bytes that were digest-checked, never re-read from disk after the check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from environments import ServingConfig
from environments.telemetry import quiet_onnxruntime

#: Turns model-input records into named arrays: ``Preprocessor.transform`` from the version folder.
Transform = Callable[[Sequence[Mapping[str, Any]]], dict[str, np.ndarray]]


class Runtime(Protocol):
    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray: ...


def session_options(serving: ServingConfig) -> Any:
    ort = quiet_onnxruntime()

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = serving.ort_intra_op_threads
    options.inter_op_num_threads = serving.ort_inter_op_threads
    return options


class OnnxRuntimeModel:
    """An ONNX Runtime CPU session; ``run`` returns one fraud probability per row."""

    def __init__(self, model_bytes: bytes, serving: ServingConfig) -> None:
        ort = quiet_onnxruntime()

        self.session = ort.InferenceSession(model_bytes, sess_options=session_options(serving),
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: inputs[name] for name in self.input_names}
        return np.asarray(self.session.run([self.output_name], feed)[0], dtype=np.float64).reshape(-1)


@dataclass
class VariantModel:
    """One routed variant: its name, the registered version it serves, preprocessing and runtime."""

    variant: str
    version_id: str
    transform: Transform
    runtime: Runtime

    def score(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.runtime.run(self.transform(records))

"""ONNX export, parity check and int8 dynamic quantisation of a trained model.

| file               | what                                                       | acceptance (``GateFailed`` if not)     |
|--------------------|------------------------------------------------------------|----------------------------------------|
| ``model.onnx``       | fp32, opset ``OPSET``, dynamic batch axis, one file          | max abs diff vs torch <= ``PARITY_TOLERANCE`` on the validation set |
| ``model.int8.onnx``  | ``onnxruntime.quantization.quantize_dynamic``, int8 weights  | PR-AUC within ``INT8_PR_AUC_TOLERANCE`` of fp32 |

torch 2.13's ``torch.onnx.export`` is the dynamo exporter: ``dynamic_shapes`` is keyed by
``forward``'s parameter names, and ``external_data=False`` keeps the weights inside the file (a
``.onnx.data`` file beside it would not be covered by the manifest's digest of ``model.onnx`` alone).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from environments.errors import GateFailed
from environments.telemetry import quiet_onnxruntime
from training.manifest import FP32_MODEL_FILE, INT8_MODEL_FILE
from training.metrics import average_precision
from training.model import FraudProbability, FraudScorer

OPSET = 18
PARITY_TOLERANCE = 1e-4
INT8_PR_AUC_TOLERANCE = 0.02
INPUT_NAMES = ("categorical", "numeric")
OUTPUT_NAME = "fraud_probability"


@dataclass(frozen=True)
class ExportReport:
    """What export measured (all of it goes into the version's metrics)."""

    fp32_path: Path
    int8_path: Path
    opset: int
    parity_max_abs_diff: float
    int8_max_abs_diff: float
    fp32_pr_auc: float
    int8_pr_auc: float

    @property
    def int8_pr_auc_delta(self) -> float:
        return self.int8_pr_auc - self.fp32_pr_auc


def onnx_session(path: Path):
    """An ONNX Runtime session on the CPU (the provider is explicit, as ORT asks)."""
    onnxruntime = quiet_onnxruntime()

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def predict_onnx(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Fraud probabilities from an ONNX file for preprocessed inputs."""
    return onnx_session(path).run([OUTPUT_NAME], inputs)[0]


def export_fp32(model: FraudScorer, example: dict[str, np.ndarray], path: Path) -> Path:
    """Write ``model`` as a single-file ONNX graph with a dynamic batch axis."""
    served = FraudProbability(model).eval()
    batch = torch.export.Dim("batch", min=1)
    # The exporter logs a warning per torchvision operator it cannot register; none is used here.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    arguments = tuple(torch.from_numpy(example[name][:2]) for name in INPUT_NAMES)
    with warnings.catch_warnings():
        # Two known-harmless notices of torch 2.13's exporter: its own use of a deprecated pytree
        # class, and that both inputs share the one "batch" axis (they do: the graph names it batch).
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*axis name: batch will not be used.*", category=UserWarning)
        torch.onnx.export(
            served,
            arguments,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            opset_version=OPSET,
            dynamic_shapes={"categorical": {0: batch}, "numeric": {0: batch}},
            external_data=False,
            dynamo=True,
            verbose=False,
        )
    return path


def quantise_int8(fp32_path: Path, int8_path: Path) -> Path:
    """Dynamic int8 quantisation of the weights (activations quantised per batch at run time).

    ONNX Runtime's ``quant_pre_process`` (shape inference and graph optimisation) runs first, as its
    quantiser asks: a tensor of unknown shape cannot be quantised.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = int8_path.with_name(f".{int8_path.stem}.prepared.onnx")
    try:
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(int8_path), weight_type=QuantType.QInt8)
    finally:
        prepared.unlink(missing_ok=True)
    return int8_path


def export_and_check(
    model: FraudScorer, validation_inputs: dict[str, np.ndarray], validation_labels: np.ndarray, folder: Path
) -> ExportReport:
    """Export fp32 and int8 into ``folder`` and enforce both acceptance checks (table above)."""
    folder.mkdir(parents=True, exist_ok=True)
    fp32_path = export_fp32(model, validation_inputs, folder / FP32_MODEL_FILE)
    with torch.no_grad():
        reference = FraudProbability(model).eval()(
            *(torch.from_numpy(validation_inputs[name]) for name in INPUT_NAMES)
        ).numpy()
    fp32 = predict_onnx(fp32_path, validation_inputs)
    parity = float(np.max(np.abs(fp32 - reference)))
    require_parity(parity)
    int8_path = quantise_int8(fp32_path, folder / INT8_MODEL_FILE)
    int8 = predict_onnx(int8_path, validation_inputs)
    report = ExportReport(
        fp32_path=fp32_path,
        int8_path=int8_path,
        opset=OPSET,
        parity_max_abs_diff=parity,
        int8_max_abs_diff=float(np.max(np.abs(int8 - fp32))),
        fp32_pr_auc=average_precision(validation_labels, fp32),
        int8_pr_auc=average_precision(validation_labels, int8),
    )
    require_int8_close(report.fp32_pr_auc, report.int8_pr_auc)
    return report


def require_parity(max_abs_diff: float) -> None:
    """The parity gate: ONNX must match torch within ``PARITY_TOLERANCE`` (NaN fails too)."""
    if not max_abs_diff <= PARITY_TOLERANCE:
        raise GateFailed(
            f"ONNX parity check failed: max abs difference to torch is {max_abs_diff:.3g} on the validation set "
            f"(tolerance {PARITY_TOLERANCE:g})"
        )


def require_int8_close(fp32_pr_auc: float, int8_pr_auc: float) -> None:
    """The quantisation gate: int8 PR-AUC within ``INT8_PR_AUC_TOLERANCE`` of fp32 (NaN fails too)."""
    delta = int8_pr_auc - fp32_pr_auc
    if not abs(delta) <= INT8_PR_AUC_TOLERANCE:
        raise GateFailed(
            f"int8 quantisation check failed: PR-AUC {int8_pr_auc:.4f} vs fp32 {fp32_pr_auc:.4f} "
            f"(delta {delta:+.4f}, tolerance {INT8_PR_AUC_TOLERANCE})"
        )

"""ONNX export: opset, dynamic batch, a single file, parity with torch, and the int8 variant's delta."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from environments.errors import GateFailed
from training.export import PARITY_TOLERANCE, predict_onnx, require_int8_close, require_parity
from training.manifest import FP32_MODEL_FILE, INT8_MODEL_FILE, PREPROCESSING_FILE
from training.pipeline import EXPORT_DIR
from training.preprocessing import Preprocessor


def test_parity_with_torch_on_the_validation_set_is_within_tolerance_and_recorded(ml_exported) -> None:
    assert 0 <= ml_exported["onnx"]["parity_max_abs_diff"] <= PARITY_TOLERANCE


def test_the_int8_variants_pr_auc_is_within_two_points_of_fp32_and_its_delta_recorded(ml_exported) -> None:
    onnx_metrics = ml_exported["onnx"]
    assert abs(onnx_metrics["int8_pr_auc_delta"]) <= 0.02
    assert onnx_metrics["int8_pr_auc"] == pytest.approx(ml_exported["pr_auc"] + onnx_metrics["int8_pr_auc_delta"])


def test_the_fp32_graph_has_opset_17_or_later_and_a_dynamic_batch_axis(ml_exported, ml_single_run: Path) -> None:
    model = onnx.load(ml_single_run / EXPORT_DIR / FP32_MODEL_FILE)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    for graph_input in model.graph.input:
        batch = graph_input.type.tensor_type.shape.dim[0]
        assert batch.dim_param and not batch.dim_value, graph_input.name


def test_the_export_folder_holds_one_self_contained_file_per_variant(ml_exported, ml_single_run: Path) -> None:
    files = sorted(path.name for path in (ml_single_run / EXPORT_DIR).iterdir())
    assert files == sorted([FP32_MODEL_FILE, INT8_MODEL_FILE, PREPROCESSING_FILE])


@pytest.mark.parametrize("variant", [FP32_MODEL_FILE, INT8_MODEL_FILE])
def test_both_variants_score_one_row_and_many_rows_alike(ml_exported, ml_single_run: Path, ml_training_set, variant) -> None:
    preprocessor = Preprocessor.from_json((ml_single_run / EXPORT_DIR / "preprocessing.json").read_text())
    rows = ml_training_set.validation.head(64)
    batch = predict_onnx(ml_single_run / EXPORT_DIR / variant, preprocessor.transform(rows))
    single = predict_onnx(ml_single_run / EXPORT_DIR / variant, preprocessor.transform(rows.head(1)))
    assert batch.shape == (64,) and ((0 < batch) & (batch < 1)).all()
    assert single[0] == pytest.approx(batch[0], abs=1e-6 if variant == FP32_MODEL_FILE else 1e-2)


@pytest.mark.parametrize("difference", [2e-4, float("nan")])
def test_a_parity_difference_beyond_tolerance_fails_the_gate(difference: float) -> None:
    with pytest.raises(GateFailed, match="parity"):
        require_parity(difference)


def test_an_int8_pr_auc_more_than_two_points_off_fails_the_gate() -> None:
    require_int8_close(0.40, 0.385)
    with pytest.raises(GateFailed, match="int8"):
        require_int8_close(0.40, 0.37)

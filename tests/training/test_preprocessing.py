"""The Preprocessor: what travels with the model and turns request records into ONNX inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.names import FRAUD_MODEL_FEATURES, REQUEST_FIELDS
from environments.errors import ConfigError
from training.preprocessing import NUMERIC_NAMES, InvalidRecords, Preprocessor


def record(**overrides) -> dict:
    base = {
        "amount_aed": 250.0, "merchant_category": "electronics", "channel": "ecommerce", "hour": 2,
        "is_cross_border": True,
        "seconds_since_previous_txn": 1800.0, "txn_count_1h": 1, "amount_sum_1h_aed": 90.0, "txn_count_2h": 2,
        "amount_sum_2h_aed": 150.0, "ecommerce_count_2h": 1, "cross_border_count_2h": 0, "amount_max_2h_aed": 90.0,
        "txn_count_24h": 3, "amount_sum_24h_aed": 400.0, "txn_count_7d": 9, "amount_mean_7d_aed": 120.0,
        "amount_max_7d_aed": 600.0,
        "merchant_fraud_rate_30d": 0.04, "merchant_txn_count_7d": 80,
    }
    return {**base, **overrides}


@pytest.fixture(scope="module")
def fitted() -> Preprocessor:
    rng = np.random.default_rng(0)
    rows = [
        record(
            amount_aed=float(rng.lognormal(5, 1)), merchant_category=str(rng.choice(["grocery", "fuel", "electronics"])),
            channel=str(rng.choice(["pos", "ecommerce"])), hour=int(rng.integers(0, 24)),
            is_cross_border=bool(rng.random() < 0.1), txn_count_7d=int(rng.integers(0, 20)),
            merchant_fraud_rate_30d=float(rng.random() * 0.05),
        )
        for _ in range(200)
    ]
    return Preprocessor.fit(pd.DataFrame(rows))


def test_outputs_are_the_two_named_onnx_inputs_with_their_dtypes_and_widths(fitted: Preprocessor) -> None:
    inputs = fitted.transform([record(), record()])
    assert set(inputs) == {"categorical", "numeric"}
    assert inputs["categorical"].dtype == np.int64 and inputs["categorical"].shape == (2, 3)
    assert inputs["numeric"].dtype == np.float32 and inputs["numeric"].shape == (2, len(NUMERIC_NAMES))


def test_json_round_trip_gives_the_same_inputs(fitted: Preprocessor) -> None:
    again = Preprocessor.from_json(fitted.to_json())
    assert again == fitted
    for name, values in fitted.transform([record()]).items():
        np.testing.assert_array_equal(values, again.transform([record()])[name])


def test_the_json_names_the_feature_service_and_the_features_to_look_up(fitted: Preprocessor) -> None:
    data = json.loads(fitted.to_json())
    assert data["feature_service"] == "fraud_model_v1"
    assert data["feature_columns"] == list(FRAUD_MODEL_FEATURES)
    assert data["request_fields"] == list(REQUEST_FIELDS)


def test_a_dataframe_and_a_list_of_dicts_give_identical_inputs(fitted: Preprocessor) -> None:
    rows = [record(), record(amount_aed=12.5, hour=23, is_cross_border=False)]
    from_list, from_frame = fitted.transform(rows), fitted.transform(pd.DataFrame(rows))
    for name in from_list:
        np.testing.assert_array_equal(from_list[name], from_frame[name])


def test_an_unknown_category_maps_to_the_unknown_index_instead_of_failing(fitted: Preprocessor) -> None:
    inputs = fitted.transform([record(merchant_category="space_tourism")])
    assert inputs["categorical"][0, 0] == 0


def test_a_missing_feature_is_imputed_and_flagged_the_same_whether_absent_or_null(fitted: Preprocessor) -> None:
    absent = {name: value for name, value in record().items() if name not in FRAUD_MODEL_FEATURES}
    nulls = {**absent, **{name: None for name in FRAUD_MODEL_FEATURES}}
    flags = [NUMERIC_NAMES.index("customer_history_missing"), NUMERIC_NAMES.index("merchant_history_missing")]
    from_absent, from_nulls, known = fitted.transform([absent]), fitted.transform([nulls]), fitted.transform([record()])
    np.testing.assert_array_equal(from_absent["numeric"], from_nulls["numeric"])
    assert (from_nulls["numeric"][0, flags] > known["numeric"][0, flags]).all()
    assert np.isfinite(from_nulls["numeric"]).all()


def test_invalid_records_name_every_bad_field_and_row_at_once(fitted: Preprocessor) -> None:
    bad = [record(), record(amount_aed=-5.0, hour=24, channel=None, is_cross_border="yes", txn_count_1h=-1)]
    with pytest.raises(InvalidRecords) as caught:
        fitted.transform(bad)
    message = str(caught.value)
    for field in ("amount_aed", "hour", "channel", "is_cross_border", "txn_count_1h"):
        assert f"'{field}'" in message
    assert "row 1" in message and "row 0" not in message
    assert len(caught.value.problems) == 5


def test_an_empty_batch_is_refused(fitted: Preprocessor) -> None:
    with pytest.raises(InvalidRecords, match="at least one record"):
        fitted.transform([])


def test_a_preprocessing_file_of_another_format_is_refused(fitted: Preprocessor) -> None:
    data = json.loads(fitted.to_json())
    data["format"] = "something/else"
    with pytest.raises(ConfigError, match="format"):
        Preprocessor.from_json(json.dumps(data))


def test_a_constant_training_column_is_centred_not_blown_up() -> None:
    frame = pd.DataFrame([record(is_cross_border=False, amount_aed=float(a)) for a in (10, 20, 30)])
    fitted = Preprocessor.fit(frame)
    cross_border = NUMERIC_NAMES.index("is_cross_border")
    assert fitted.transform([record(is_cross_border=True)])["numeric"][0, cross_border] == pytest.approx(1.0)

"""Model versions on the local environment: registration, listing, resolving, BentoML, tampering.

Every version here is a real ONNX export (a tiny linear model and its int8 variant) signed with a
real Ed25519 key; tampering tests work on copies so that the shared versions stay intact.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from registry_fixtures import FEATURES, METRICS, SNAPSHOT_SHA256, environment_in, write_tiny_export

from environments import Environment
from environments.errors import ConfigError, IntegrityError
from training.bento_model_store import bentoml_version_dir
from training.manifest import MANIFEST_FILE, SIGNATURE_FILE, VERSION_ID_PATTERN, Manifest
from training.registry import (
    ModelVersion,
    _claim_version_folder,
    list_versions,
    load_verified,
    load_version,
    register_version,
    resolve_version,
)
from training.signing import Ed25519FileSigner, verifier_for
from training.verification import IntegrityCheckFailed


def _register(env: Environment, export_dir: Path, **overrides: object) -> ModelVersion:
    arguments: dict = {
        "metrics": METRICS, "feature_service": "fraud_model_v1", "features": FEATURES,
        "data_snapshot_sha256": SNAPSHOT_SHA256, **overrides,
    }
    return register_version(env, export_dir, **arguments)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_export(tmp_path_factory.mktemp("export") / "export")


@pytest.fixture(scope="module")
def local_env(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    return environment_in("local", tmp_path_factory.mktemp("local") / "data")


@pytest.fixture(scope="module")
def two_versions(local_env: Environment, export_dir: Path) -> tuple[ModelVersion, ModelVersion]:
    """Two versions registered one after the other (read-only for the tests that use them)."""
    return _register(local_env, export_dir), _register(local_env, export_dir, metrics={**METRICS, "pr_auc": 0.45})


@pytest.fixture
def version_copy(two_versions: tuple[ModelVersion, ModelVersion], tmp_path: Path) -> Path:
    """A private copy of the newest version, to tamper with."""
    newest = two_versions[1]
    return Path(shutil.copytree(newest.path, tmp_path / "models" / newest.version_id))


@pytest.fixture
def trusted(local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion]):  # noqa: ANN201
    return verifier_for(local_env)


def _failed_check(version_dir: Path, verifier) -> IntegrityCheckFailed:  # noqa: ANN001
    with pytest.raises(IntegrityCheckFailed) as caught:
        load_verified(version_dir, verifier)
    return caught.value


# ---- registration --------------------------------------------------------------------------------------

def test_registration_copies_every_export_file_and_adds_the_manifest_and_signature(
    two_versions: tuple[ModelVersion, ModelVersion], export_dir: Path
) -> None:
    files = sorted(p.name for p in two_versions[0].path.iterdir())
    assert files == sorted([p.name for p in export_dir.iterdir()] + [MANIFEST_FILE, SIGNATURE_FILE])


def test_manifest_records_digests_features_snapshot_git_metrics_and_library_versions(
    two_versions: tuple[ModelVersion, ModelVersion], export_dir: Path
) -> None:
    import hashlib

    manifest = json.loads((two_versions[0].path / MANIFEST_FILE).read_text())
    assert manifest["artifacts"]["model.onnx"]["sha256"] == hashlib.sha256((export_dir / "model.onnx").read_bytes()).hexdigest()
    assert set(manifest["artifacts"]) == {"model.onnx", "model.int8.onnx", "preprocessing.json"}
    assert (manifest["feature_service"], manifest["features"]) == ("fraud_model_v1", FEATURES)
    assert manifest["data_snapshot_sha256"] == SNAPSHOT_SHA256
    assert len(manifest["git"]["commit"]) == 40
    assert manifest["metrics"] == METRICS
    assert {"python", "torch", "onnx", "onnxruntime", "bentoml"} <= set(manifest["library_versions"])


def test_version_ids_sort_by_registration_time(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    first, second = two_versions
    assert VERSION_ID_PATTERN.match(first.version_id) and VERSION_ID_PATTERN.match(second.version_id)
    assert first.version_id < second.version_id
    assert first.manifest and second.manifest and first.manifest.created_at < second.manifest.created_at


def test_two_versions_claimed_at_the_same_instant_get_distinct_ids_in_claim_order(tmp_path: Path) -> None:
    instant = datetime(2026, 11, 23, 13, 45, 1, 500, tzinfo=UTC)
    first, _ = _claim_version_folder(tmp_path, "ab" * 32, clock=lambda: instant)
    second, _ = _claim_version_folder(tmp_path, "ab" * 32, clock=lambda: instant)
    assert first.name == "v20261123-134501-000500-abababab"
    assert second.name == "v20261123-134501-000501-abababab"


def test_an_export_without_preprocessing_is_refused_naming_the_missing_file(local_env: Environment, tmp_path: Path) -> None:
    export = write_tiny_export(tmp_path / "export")
    (export / "preprocessing.json").unlink()
    with pytest.raises(ConfigError, match=r"missing: \['preprocessing.json'\]"):
        _register(local_env, export)


def test_an_export_with_a_nested_file_is_refused_naming_it(local_env: Environment, tmp_path: Path) -> None:
    export = write_tiny_export(tmp_path / "export")
    (export / "extra").mkdir()
    (export / "extra" / "notes.txt").write_text("nested")
    with pytest.raises(ConfigError, match=r"no folders: \['extra/notes.txt'\]"):
        _register(local_env, export)


@pytest.mark.parametrize("name", ["../escaped", "/etc/passwd", "sub/model.onnx", ".hidden", "", MANIFEST_FILE])
def test_a_manifest_naming_an_artifact_that_is_not_a_plain_file_name_does_not_parse(
    two_versions: tuple[ModelVersion, ModelVersion], name: str
) -> None:
    manifest = json.loads((two_versions[0].path / MANIFEST_FILE).read_text())
    manifest["artifacts"][name] = next(iter(manifest["artifacts"].values()))
    with pytest.raises(ValueError, match="artifact names must be plain file names"):
        Manifest.from_bytes(json.dumps(manifest).encode())


def test_a_file_named_onnx_that_is_not_onnx_is_refused(local_env: Environment, tmp_path: Path) -> None:
    export = write_tiny_export(tmp_path / "export")
    (export / "model.int8.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="'model.int8.onnx' is not a valid ONNX model"):
        _register(local_env, export)


def test_every_bad_argument_is_reported_in_one_error(local_env: Environment, export_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _register(local_env, export_dir, features=[], data_snapshot_sha256="abc", feature_service=" ")
    assert {p.split("'")[1] for p in caught.value.problems} == {"features", "data_snapshot_sha256", "feature_service"}


def test_a_nan_metric_is_refused_naming_the_metric(local_env: Environment, export_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"'metrics.int8.pr_auc' must be a finite number"):
        _register(local_env, export_dir, metrics={"pr_auc": 0.4, "int8": {"pr_auc": float("nan")}})


def test_numpy_metrics_are_stored_as_plain_numbers(local_env: Environment, export_dir: Path, tmp_path: Path) -> None:
    env = environment_in("local", tmp_path / "data")
    version = _register(env, export_dir, metrics={"pr_auc": np.float32(0.5), "rows": np.int64(12)})
    assert version.manifest and version.manifest.metrics == {"pr_auc": 0.5, "rows": 12}


def test_a_failed_registration_leaves_no_version_behind(local_env: Environment, tmp_path: Path) -> None:
    env = environment_in("local", tmp_path / "data")
    export = write_tiny_export(tmp_path / "export")
    (export / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match="the registry writes them"):
        _register(env, export)
    assert list_versions(env) == []


# ---- listing and resolving --------------------------------------------------------------------------

def test_listing_shows_versions_oldest_first_with_their_manifests(
    local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion]
) -> None:
    listed = [(v.version_id, v.manifest.metrics["pr_auc"] if v.manifest else None) for v in list_versions(local_env)]
    assert listed == [(two_versions[0].version_id, 0.41), (two_versions[1].version_id, 0.45)]


def test_latest_and_previous_resolve_to_the_two_newest_versions(
    local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion]
) -> None:
    assert resolve_version(local_env, "latest").version_id == two_versions[1].version_id
    assert resolve_version(local_env, "previous").version_id == two_versions[0].version_id


def test_a_version_resolves_by_its_exact_id(local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    assert resolve_version(local_env, two_versions[0].version_id).path == two_versions[0].path


def test_an_unknown_id_is_a_config_error_listing_known_versions(
    local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion]
) -> None:
    with pytest.raises(ConfigError, match=two_versions[1].version_id):
        resolve_version(local_env, "v20000101-000000-000000-00000000")


def test_previous_with_a_single_version_says_how_many_exist(export_dir: Path, tmp_path: Path) -> None:
    env = environment_in("local", tmp_path / "data")
    _register(env, export_dir)
    with pytest.raises(ConfigError, match=r"no model version 'previous'.*holds 1 version"):
        resolve_version(env, "previous")


def test_a_folder_without_its_signature_is_not_listed(export_dir: Path, tmp_path: Path) -> None:
    env = environment_in("local", tmp_path / "data")
    version = _register(env, export_dir)
    half = version.path.parent / "v20990101-000000-000000-00000000"
    shutil.copytree(version.path, half)
    (half / SIGNATURE_FILE).unlink()
    assert [v.version_id for v in list_versions(env)] == [version.version_id]


# ---- verified loading ----------------------------------------------------------------------------------

def test_a_registered_version_verifies_and_its_model_scores_in_onnx_runtime(
    local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion]
) -> None:
    import onnxruntime as ort

    verified = load_version(local_env, "latest")
    session = ort.InferenceSession(verified.read_artifact("model.onnx"), providers=["CPUExecutionProvider"])
    scores = session.run(None, {"features": np.ones((3, 4), dtype=np.float32)})[0]
    assert scores.shape == (3, 1) and np.all((scores > 0) & (scores < 1))
    assert verified.int8_onnx_path is not None and verified.int8_onnx_path.is_file()


def test_without_a_verifier_the_keys_beside_the_models_folder_are_trusted(
    two_versions: tuple[ModelVersion, ModelVersion]
) -> None:
    assert load_verified(two_versions[0].path).version_id == two_versions[0].version_id


def test_flipping_one_byte_of_the_model_fails_the_digest_check(version_copy: Path, trusted) -> None:  # noqa: ANN001
    model = version_copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    failure = _failed_check(version_copy, trusted)
    assert failure.check == "artifact-digest"
    assert "'artifact-digest' check" in str(failure) and "model.onnx" in str(failure)


def test_editing_the_manifest_fails_the_signature_check(version_copy: Path, trusted) -> None:  # noqa: ANN001
    manifest = json.loads((version_copy / MANIFEST_FILE).read_text())
    manifest["metrics"]["pr_auc"] = 0.99
    (version_copy / MANIFEST_FILE).write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n")
    failure = _failed_check(version_copy, trusted)
    assert failure.check == "signature"
    assert "'signature' check" in str(failure) and "does not match manifest.json" in str(failure)


def test_a_signature_from_another_version_fails_the_signature_check(
    version_copy: Path, two_versions: tuple[ModelVersion, ModelVersion], trusted  # noqa: ANN001
) -> None:
    shutil.copyfile(two_versions[0].path / SIGNATURE_FILE, version_copy / SIGNATURE_FILE)
    assert _failed_check(version_copy, trusted).check == "signature"


def test_a_manifest_re_signed_with_a_stranger_key_fails_the_signature_check(
    version_copy: Path, trusted, tmp_path: Path  # noqa: ANN001
) -> None:
    manifest_bytes = (version_copy / MANIFEST_FILE).read_bytes()
    (version_copy / SIGNATURE_FILE).write_bytes(Ed25519FileSigner(tmp_path / "stranger").sign(manifest_bytes).to_bytes())
    failure = _failed_check(version_copy, trusted)
    assert failure.check == "signature" and "not among the trusted keys" in str(failure)


def test_a_missing_artifact_fails_the_presence_check_naming_the_file(version_copy: Path, trusted) -> None:  # noqa: ANN001
    (version_copy / "model.int8.onnx").unlink()
    failure = _failed_check(version_copy, trusted)
    assert failure.check == "artifact-present" and "model.int8.onnx" in str(failure)


def test_a_missing_signature_file_fails_its_presence_check(version_copy: Path, trusted) -> None:  # noqa: ANN001
    (version_copy / SIGNATURE_FILE).unlink()
    assert _failed_check(version_copy, trusted).check == "signature-present"


def test_a_garbled_signature_file_fails_the_format_check(version_copy: Path, trusted) -> None:  # noqa: ANN001
    (version_copy / SIGNATURE_FILE).write_text("garbage")
    assert _failed_check(version_copy, trusted).check == "signature-format"


def test_a_file_added_after_signing_fails_the_unlisted_file_check(version_copy: Path, trusted) -> None:  # noqa: ANN001
    (version_copy / "extra_ops.so").write_bytes(b"\x7fELF")
    failure = _failed_check(version_copy, trusted)
    assert failure.check == "unlisted-file" and "extra_ops.so" in str(failure)


def test_an_old_version_renamed_to_a_newer_id_fails_the_version_id_check(
    two_versions: tuple[ModelVersion, ModelVersion], tmp_path: Path, trusted  # noqa: ANN001
) -> None:
    disguised = Path(shutil.copytree(two_versions[0].path, tmp_path / "v20991231-235959-999999-ffffffff"))
    assert _failed_check(disguised, trusted).check == "version-id"


def test_every_failed_check_is_an_integrity_error(version_copy: Path, trusted) -> None:  # noqa: ANN001
    (version_copy / "preprocessing.json").write_text("{}")
    with pytest.raises(IntegrityError):
        load_verified(version_copy, trusted)


def test_reading_an_artifact_rechecks_it_after_verification(version_copy: Path, trusted) -> None:  # noqa: ANN001
    verified = load_verified(version_copy, trusted)
    (version_copy / "model.onnx").write_bytes(b"swapped after the check")
    with pytest.raises(IntegrityCheckFailed, match="model.onnx changed after it was verified"):
        verified.read_artifact("model.onnx")


def test_a_signed_manifest_parses_back_to_the_same_manifest(two_versions: tuple[ModelVersion, ModelVersion]) -> None:
    raw = (two_versions[0].path / MANIFEST_FILE).read_bytes()
    assert Manifest.from_bytes(raw).to_bytes() == raw


# ---- BentoML model store and local artifact folder ------------------------------------------------------

def test_each_version_is_a_bentoml_model_whose_copy_verifies(
    local_env: Environment, two_versions: tuple[ModelVersion, ModelVersion], trusted  # noqa: ANN001
) -> None:
    import bentoml
    from bentoml._internal.models.model import ModelStore

    store = ModelStore(local_env.data_path() / "bentoml" / "models")
    tags = sorted(str(m.tag) for m in bentoml.models.list("sahab-fraud", _model_store=store))
    assert tags == sorted(f"sahab-fraud:{v.version_id}" for v in two_versions)
    copy = bentoml_version_dir(local_env, two_versions[1].version_id)
    assert load_verified(copy, trusted).manifest.metrics["pr_auc"] == 0.45


def test_a_configured_artifact_folder_receives_each_version_and_serves_an_empty_cache(
    export_dir: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    trainer = environment_in("local", tmp_path / "trainer", artifact_dir=str(backup))
    version = _register(trainer, export_dir)
    assert (backup / version.version_id / SIGNATURE_FILE).is_file()
    server = environment_in("local", tmp_path / "server", artifact_dir=str(backup))
    shutil.copytree(tmp_path / "trainer" / "keys", tmp_path / "server" / "keys")
    assert load_version(server, "latest").path == tmp_path / "server" / "models" / version.version_id

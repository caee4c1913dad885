"""Model versions: register an exported model as a signed version, list them, resolve and load one.

``register_version`` turns an export folder (``model.onnx``, ``model.int8.onnx``,
``preprocessing.json``, anything else there) into ``<data>/models/<version_id>/`` with a
``manifest.json`` (sha256 of every file, feature service and features, data snapshot, git commit,
metrics, library versions) and its ``manifest.sig``; checks that the written version verifies; then
registers it in BentoML's model store and publishes it to the environment's artifact store
(a local folder, or S3 with SSE-KMS). The version appears under its final name only once it is
complete (written in a staging folder, then renamed), so readers never see half a version.

``resolve_version(env, "latest" | "previous" | id)`` picks from the artifact store (the source of
truth; versions sort by id, which sorts by creation time) and makes sure a local copy exists;
``load_verified`` (from ``training.verification``) checks it before anything reads a model file.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from environments import Environment
from environments.errors import ConfigError
from training.artifact_store import artifact_store_for, models_root
from training.bento_model_store import register_in_bentoml
from training.manifest import (
    ARTIFACT_NAME,
    FP32_MODEL_FILE,
    MANIFEST_FILE,
    PREPROCESSING_FILE,
    RESERVED_FILES,
    SIGNATURE_FILE,
    Manifest,
    content_digest,
    digest_artifacts,
    git_source,
    library_versions,
    new_version_id,
    normalise_metrics,
)
from training.signing import Signer, signer_for, verifier_for
from training.verification import IntegrityCheckFailed, VerifiedModel, load_verified

__all__ = [
    "REQUIRED_ARTIFACTS", "IntegrityCheckFailed", "ModelVersion", "VerifiedModel", "list_versions", "load_verified",
    "load_version", "register_version", "resolve_version",
]

#: Files an export folder must hold: a version without its preprocessing cannot be served.
REQUIRED_ARTIFACTS: tuple[str, ...] = (FP32_MODEL_FILE, PREPROCESSING_FILE)
VERSION_REFS: tuple[str, ...] = ("latest", "previous")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_ID_ATTEMPTS = 1000


@dataclass(frozen=True)
class ModelVersion:
    """A registered version. ``manifest`` is as read (``None`` with ``manifest_problem`` if unreadable);
    only ``load_verified`` vouches for it."""

    version_id: str
    path: Path
    location: str
    manifest: Manifest | None
    manifest_problem: str | None = None
    bentoml_tag: str | None = None


def register_version(
    env: Environment,
    export_dir: Path,
    *,
    metrics: Mapping[str, Any],
    feature_service: str,
    features: Sequence[str],
    data_snapshot_sha256: str,
    signer: Signer | None = None,
) -> ModelVersion:
    """Copy ``export_dir`` into a new signed version, register it in BentoML and the artifact store.

    Raises ``ConfigError`` naming every problem with the inputs, ``CommandFailed`` when KMS or S3
    refuses, and ``IntegrityCheckFailed`` if the written version does not verify (a signer whose
    verifier disagrees with it, a disk that changed the bytes).
    """
    export_dir = Path(export_dir)
    _check_inputs(export_dir, feature_service, features, data_snapshot_sha256)
    clean_metrics = normalise_metrics(metrics)
    signer = signer or signer_for(env)
    root = models_root(env)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex}"
    final: Path | None = None
    try:
        shutil.copytree(export_dir, staging)
        artifacts = digest_artifacts(staging)  # digests of the copies: what is signed is what is stored
        final, created_at = _claim_version_folder(root, content_digest(artifacts))
        manifest = Manifest(
            version_id=final.name,
            created_at=created_at,
            environment=env.name,
            artifacts=artifacts,
            feature_service=feature_service,
            features=list(features),
            data_snapshot_sha256=data_snapshot_sha256,
            git=git_source(),
            metrics=clean_metrics,
            library_versions=library_versions(),
        )
        manifest_bytes = manifest.to_bytes()
        (staging / MANIFEST_FILE).write_bytes(manifest_bytes)
        (staging / SIGNATURE_FILE).write_bytes(signer.sign(manifest_bytes).to_bytes())
        staging.rename(final)  # POSIX rename replaces the empty placeholder that reserved the id
    except BaseException:
        if final is not None and final.is_dir() and not any(final.iterdir()):
            final.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    verified = load_verified(final, signer.verifier())
    tag = register_in_bentoml(env, final, verified.manifest)
    location = artifact_store_for(env).publish(final)
    return ModelVersion(final.name, final, location, verified.manifest, bentoml_tag=tag)


def _check_inputs(export_dir: Path, feature_service: str, features: Sequence[str], data_snapshot_sha256: str) -> None:
    """Every problem with the inputs at once, each naming the argument and the fix."""
    problems: list[str] = []
    if not export_dir.is_dir():
        raise ConfigError(f"'export_dir' must be a folder holding the exported model (value: {str(export_dir)!r})")
    present = {p.relative_to(export_dir).as_posix() for p in export_dir.rglob("*")}
    missing = [name for name in REQUIRED_ARTIFACTS if name not in present]
    if missing:
        problems.append(f"'export_dir' must contain {list(REQUIRED_ARTIFACTS)}; missing: {missing} (in {export_dir})")
    reserved = sorted(present & RESERVED_FILES)
    if reserved:
        problems.append(f"'export_dir' must not contain {reserved}: the registry writes them")
    links = sorted(p.relative_to(export_dir).as_posix() for p in export_dir.rglob("*") if p.is_symlink())
    if links:
        problems.append(f"'export_dir' must hold plain files, not symbolic links: {links}")
    nested = sorted(name for name in present - RESERVED_FILES if not ARTIFACT_NAME.match(name))
    if nested:
        problems.append(f"'export_dir' must hold plain files named with letters, digits, '.', '_', '-', no folders: {nested}")
    problems.extend(_onnx_problems(export_dir))
    if not feature_service.strip():
        problems.append("'feature_service' must name the Feast feature service the model reads (e.g. fraud_model_v1)")
    if not features or not all(isinstance(f, str) and f for f in features):
        problems.append(f"'features' must be a non-empty list of feature names (value: {list(features)!r})")
    elif len(set(features)) != len(features):
        problems.append(f"'features' must not repeat a name (value: {list(features)!r})")
    if not _SHA256_HEX.match(data_snapshot_sha256 or ""):
        problems.append(f"'data_snapshot_sha256' must be 64 lowercase hex digits (value: {data_snapshot_sha256!r})")
    if problems:
        raise ConfigError(problems)


def _onnx_problems(export_dir: Path) -> list[str]:
    """Refuse to sign a file named ``.onnx`` that ONNX cannot read: a signature must not bless garbage."""
    import onnx

    problems = []
    for path in sorted(export_dir.rglob("*.onnx")):
        try:
            onnx.checker.check_model(str(path))
        except (onnx.checker.ValidationError, OSError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(f"'{path.relative_to(export_dir).as_posix()}' is not a valid ONNX model ({first_line})")
    return problems


def _claim_version_folder(
    root: Path, content_sha256: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> tuple[Path, datetime]:
    """Reserve ``root/<new id>`` with an exclusive mkdir: two registrations can never share an id.

    On a collision (same microsecond, same content; or a coarse clock) the next microsecond is
    tried, so ids stay unique and still sort in the order the versions were registered.
    """
    moment = clock()
    for attempt in range(_ID_ATTEMPTS):
        created_at = moment + timedelta(microseconds=attempt)
        candidate = root / new_version_id(content_sha256, created_at)
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate, created_at
    raise ConfigError(f"could not find a free version id in {root} after {_ID_ATTEMPTS} attempts")


def list_versions(env: Environment) -> list[ModelVersion]:
    """Every complete version in the artifact store, oldest first, with its manifest as stored."""
    store = artifact_store_for(env)
    root = models_root(env)
    versions = []
    for version_id in store.version_ids():
        manifest, problem = None, None
        try:
            manifest = Manifest.from_bytes(store.read(version_id, MANIFEST_FILE))
        except (ValueError, OSError) as exc:
            problem = str(exc)
        versions.append(ModelVersion(version_id, root / version_id, store.uri(version_id), manifest, problem))
    return versions


def pick_version_id(version_ids: Sequence[str], ref: str, *, where: str) -> str:
    """``latest`` is the newest id, ``previous`` the one before it; anything else must be an exact id."""
    ordered = sorted(version_ids)
    shown = ", ".join(ordered[-5:]) or "none"
    if ref in VERSION_REFS:
        needed = VERSION_REFS.index(ref) + 1
        if len(ordered) < needed:
            raise ConfigError(
                f"no model version {ref!r}: {where} holds {len(ordered)} version(s) ({shown}); "
                "register one with `sahab train`, or name a version id"
            )
        return ordered[-needed]
    if ref not in ordered:
        raise ConfigError(f"no model version {ref!r} in {where} (newest: {shown}); use 'latest', 'previous' or an id")
    return ref


def resolve_version(env: Environment, ref: str) -> ModelVersion:
    """Pick a version (``latest``, ``previous`` or an id) and make sure it is in ``<data>/models``.

    The manifest's signature is verified before any artifact is fetched; the artifacts themselves are not:
    pass ``version.path`` to ``load_verified``.
    """
    store = artifact_store_for(env)
    version_id = pick_version_id(store.version_ids(), ref, where=f"the artifact store {store.uri('')}")
    path = store.fetch(version_id, models_root(env), verifier=verifier_for(env))
    manifest, problem = None, None
    try:
        manifest = Manifest.from_bytes((path / MANIFEST_FILE).read_bytes())
    except (ValueError, OSError) as exc:
        problem = str(exc)
    return ModelVersion(version_id, path, store.uri(version_id), manifest, problem)


def load_version(env: Environment, ref: str = "latest") -> VerifiedModel:
    """Resolve and verify in one call, with the environment's trusted keys: what serving wants."""
    return load_verified(resolve_version(env, ref).path, verifier_for(env))

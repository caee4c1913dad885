"""The manifest of a model version: what the model is, what made it, and the sha256 of every file.

The manifest is the one document that gets signed. It names each artifact with its digest and
size, so that one signature covers every byte of the version; it records the feature service and
feature list the model was trained on, the data snapshot, the git commit and the library versions,
so a version can be traced and rebuilt. The bytes on disk are canonical JSON (sorted keys, fixed
indentation, UTF-8): the signature is over those exact bytes, and any edit, even whitespace, fails it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from environments import project_root
from environments.errors import ConfigError

MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
#: The artifacts of a version (export writes them, the registry requires them, serving and drift read them).
FP32_MODEL_FILE = "model.onnx"
INT8_MODEL_FILE = "model.int8.onnx"
PREPROCESSING_FILE = "preprocessing.json"
#: Names the registry writes itself; an export folder must not bring its own.
RESERVED_FILES: frozenset[str] = frozenset({MANIFEST_FILE, SIGNATURE_FILE})
#: An artifact is a plain file name in its version folder: no folder, no '..', no hidden or absolute name.
#: Whoever fetches a version writes exactly these names, so no object key can steer a write elsewhere.
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MANIFEST_SCHEMA_VERSION = 1

#: ``v<UTC date>-<time>-<microseconds>-<8 hex of the content digest>``: sorts by creation time as
#: plain text, and stays unique within one second (microseconds, then content).
VERSION_ID_PATTERN = re.compile(r"^v\d{8}-\d{6}-\d{6}-[0-9a-f]{8}$")

#: Distributions whose versions go into every manifest (those installed; the rest are skipped).
RECORDED_LIBRARIES: tuple[str, ...] = (
    "sahab", "torch", "onnx", "onnxruntime", "onnxscript", "numpy", "pandas", "pyarrow", "feast", "bentoml",
    "scipy", "cryptography", "boto3",
)

_SHA256_HEX = r"^[0-9a-f]{64}$"
_CHUNK_BYTES = 1 << 20


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArtifactDigest(_Frozen):
    """One file of the version: its sha256 and size, checked on every load."""

    sha256: str = Field(pattern=_SHA256_HEX)
    size_bytes: int = Field(ge=0)


class GitSource(_Frozen):
    """The commit the training code came from; ``dirty`` when tracked files had uncommitted edits."""

    commit: str
    dirty: bool


class Manifest(_Frozen):
    """Everything a reviewer, an auditor or the serving layer needs to trust and trace a model version."""

    schema_version: int = Field(default=MANIFEST_SCHEMA_VERSION, ge=1, le=MANIFEST_SCHEMA_VERSION)
    version_id: str = Field(pattern=VERSION_ID_PATTERN.pattern)
    created_at: datetime
    environment: str
    artifacts: dict[str, ArtifactDigest] = Field(min_length=1)
    feature_service: str = Field(min_length=1)
    features: list[str] = Field(min_length=1)
    data_snapshot_sha256: str = Field(pattern=_SHA256_HEX)
    git: GitSource
    metrics: dict[str, Any]
    library_versions: dict[str, str]

    @field_validator("artifacts")
    @classmethod
    def _plain_file_names(cls, value: dict[str, ArtifactDigest]) -> dict[str, ArtifactDigest]:
        bad = sorted(name for name in value if not ARTIFACT_NAME.match(name) or name in RESERVED_FILES)
        if bad:
            raise ValueError(
                f"artifact names must be plain file names (letters, digits, '.', '_', '-'; no folders, no "
                f"{sorted(RESERVED_FILES)}); not: {bad}"
            )
        return value

    def to_bytes(self) -> bytes:
        """The canonical bytes that are written to ``manifest.json`` and signed."""
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        """Parse manifest bytes; raises ``ValueError`` naming the field when they do not fit the schema."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            problems = "; ".join(f"'{'.'.join(map(str, e['loc']))}' {e['msg']}" for e in exc.errors())
            raise ValueError(problems) from None


def canonical_json(value: Any) -> bytes:
    """Sorted keys, two-space indent, UTF-8, trailing newline; NaN and infinity are refused."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks so large models do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def digest_artifacts(folder: Path) -> dict[str, ArtifactDigest]:
    """Digest every regular file under ``folder`` (nested ones by their POSIX relative path)."""
    found: dict[str, ArtifactDigest] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            found[name] = ArtifactDigest(sha256=sha256_file(path), size_bytes=path.stat().st_size)
    return found


def content_digest(artifacts: Mapping[str, ArtifactDigest]) -> str:
    """One sha256 over the names and digests of all artifacts: the content part of a version id."""
    lines = "".join(f"{name}\0{artifacts[name].sha256}\n" for name in sorted(artifacts))
    return hashlib.sha256(lines.encode()).hexdigest()


def new_version_id(content_sha256: str, now: datetime | None = None) -> str:
    """A version id that sorts by UTC creation time, e.g. ``v20261123-134501-048213-3fa9c1d0``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"v{moment:%Y%m%d-%H%M%S}-{moment.microsecond:06d}-{content_sha256[:8]}"


def normalise_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Make metrics plain JSON: numpy scalars become Python numbers; NaN or infinity is an error.

    A NaN metric means training went wrong; it must not be signed into a manifest as if it were a value.
    """
    problems: list[str] = []

    def plain(value: Any, where: str) -> Any:
        if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
            value = value.item()
        if isinstance(value, Mapping):
            return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"'metrics.{where}' must be a finite number (value: {value!r})")
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            problems.append(f"'metrics.{where}' must be a number, string, list or mapping (type: {type(value).__name__})")
        return value

    result = {str(k): plain(v, str(k)) for k, v in metrics.items()}
    if problems:
        raise ConfigError(problems)
    return result


def git_source(root: Path | None = None) -> GitSource:
    """The commit of the working tree; ``SAHAB_GIT_COMMIT`` wins (images built without ``.git``)."""
    pinned = os.environ.get("SAHAB_GIT_COMMIT")
    if pinned:
        return GitSource(commit=pinned, dirty=False)
    where = str(root or project_root())
    try:
        commit = subprocess.run(
            ["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return GitSource(commit="unknown", dirty=False)
    return GitSource(commit=commit, dirty=bool(status.strip()))


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries that shape a model's numbers."""
    import platform

    found = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found

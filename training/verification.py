"""Loading a model version only after its signature and every digest check out.

``load_verified`` runs the checks in this order and stops at the first failure, raising
``IntegrityCheckFailed`` (an ``environments.errors.IntegrityError``) whose ``check`` is the name below:

| check              | fails when                                                               |
|--------------------|--------------------------------------------------------------------------|
| ``manifest-present``  | ``manifest.json`` is missing                                          |
| ``signature-present`` | ``manifest.sig`` is missing                                           |
| ``signature-format``  | ``manifest.sig`` is not a signature envelope                          |
| ``signature``         | the signature does not match ``manifest.json`` under a trusted key    |
| ``manifest-format``   | the (signed) manifest does not fit the schema                         |
| ``version-id``        | the folder's name is not the version id the manifest was signed for   |
| ``artifact-present``  | a file listed in the manifest is missing                              |
| ``artifact-digest``   | a file's size or sha256 differs from the manifest                     |
| ``unlisted-file``     | the folder holds a file the manifest does not list                    |

The signature is checked before the manifest is parsed, so nothing unsigned is ever interpreted.
Fetching a version from S3 runs the signature checks (``verify_signed_manifest``) before any artifact is
downloaded, and refuses a name that would be written outside the version folder (``artifact-name``).
The ``version-id`` check stops a rollback by renaming: an old, validly signed version copied into
a folder with a newer id would otherwise be served as "latest".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from environments.errors import ConfigError, IntegrityError
from training.manifest import (
    FP32_MODEL_FILE,
    INT8_MODEL_FILE,
    MANIFEST_FILE,
    PREPROCESSING_FILE,
    SIGNATURE_FILE,
    Manifest,
    sha256_file,
)
from training.signing import ManifestSignature, PublicKeyVerifier, SignatureInvalid, Verifier

_RESTORE = (
    "restore the version from the artifact store (a cached copy: delete it and resolve the version again), "
    "or register a new one with `sahab train`"
)


class IntegrityCheckFailed(IntegrityError):
    """A model version failed one named check; ``check`` and ``version_dir`` say which and where."""

    def __init__(self, check: str, version_dir: Path, detail: str, fix: str = _RESTORE) -> None:
        self.check = check
        self.version_dir = version_dir
        super().__init__(f"model version {version_dir.name} failed the '{check}' check: {detail}; {fix} ({version_dir})")


@dataclass(frozen=True)
class VerifiedModel:
    """A version folder whose signature and digests were checked, with its parsed manifest."""

    path: Path
    manifest: Manifest
    signature: ManifestSignature

    @property
    def version_id(self) -> str:
        return self.manifest.version_id

    def artifact_path(self, name: str) -> Path:
        if name not in self.manifest.artifacts:
            raise ConfigError(f"version {self.version_id} has no artifact {name!r} (has: {sorted(self.manifest.artifacts)})")
        return self.path / name

    @property
    def onnx_path(self) -> Path:
        return self.artifact_path(FP32_MODEL_FILE)

    @property
    def int8_onnx_path(self) -> Path | None:
        return self.path / INT8_MODEL_FILE if INT8_MODEL_FILE in self.manifest.artifacts else None

    @property
    def preprocessing_path(self) -> Path:
        return self.artifact_path(PREPROCESSING_FILE)

    def read_artifact(self, name: str) -> bytes:
        """An artifact's bytes, checked against the manifest again as they are read.

        Hand these to ONNX Runtime (``InferenceSession(bytes)``) to close the gap between
        verifying a file and opening it.
        """
        data = self.artifact_path(name).read_bytes()
        if hashlib.sha256(data).hexdigest() != self.manifest.artifacts[name].sha256:
            raise IntegrityCheckFailed("artifact-digest", self.path, f"{name} changed after it was verified")
        return data


def default_verifier(version_dir: Path) -> Verifier:
    """Trust the public keys of the environment the folder belongs to: ``<data>/models/<id>`` → ``<data>/keys``."""
    return PublicKeyVerifier.from_key_dir(version_dir.resolve().parent.parent / "keys")


def verify_signed_manifest(
    manifest_bytes: bytes, signature_bytes: bytes, verifier: Verifier, where: Path
) -> tuple[Manifest, ManifestSignature]:
    """The manifest, once its signature verifies under ``verifier`` and it fits the schema (checks 3-5).

    Also what a fetch runs before it downloads any artifact: only the files a signed manifest names are
    fetched, so an object planted beside a version is never written anywhere.
    """
    try:
        signature = ManifestSignature.from_bytes(signature_bytes)
    except ValueError as exc:
        raise IntegrityCheckFailed("signature-format", where, f"{SIGNATURE_FILE} {exc}") from None
    try:
        verifier.verify(manifest_bytes, signature)
    except SignatureInvalid as exc:
        raise IntegrityCheckFailed(
            "signature", where, f"{exc} (verifier: {verifier.describe()})",
            "the manifest was edited or signed by another key: " + _RESTORE,
        ) from None
    try:
        manifest = Manifest.from_bytes(manifest_bytes)
    except ValueError as exc:
        raise IntegrityCheckFailed("manifest-format", where, f"{MANIFEST_FILE}: {exc}") from None
    return manifest, signature


def load_verified(version_dir: Path, verifier: Verifier | None = None) -> VerifiedModel:
    """Check a version folder (see the module docstring) and return it with its manifest.

    ``verifier`` defaults to the public keys in the environment's ``keys`` folder beside
    ``models``; pass ``verifier_for(env)`` for cloud environments or another key.
    """
    version_dir = Path(version_dir)
    manifest_path, signature_path = version_dir / MANIFEST_FILE, version_dir / SIGNATURE_FILE
    if not manifest_path.is_file():
        raise IntegrityCheckFailed("manifest-present", version_dir, f"{MANIFEST_FILE} is missing")
    if not signature_path.is_file():
        raise IntegrityCheckFailed("signature-present", version_dir, f"{SIGNATURE_FILE} is missing")
    manifest, signature = verify_signed_manifest(
        manifest_path.read_bytes(), signature_path.read_bytes(), verifier or default_verifier(version_dir), version_dir
    )
    if manifest.version_id != version_dir.name:
        raise IntegrityCheckFailed(
            "version-id", version_dir,
            f"the folder is named {version_dir.name!r} but its signed manifest is version {manifest.version_id!r}",
            "a version folder must keep the name it was registered under",
        )
    _check_artifacts(version_dir, manifest)
    return VerifiedModel(path=version_dir, manifest=manifest, signature=signature)


def _check_artifacts(version_dir: Path, manifest: Manifest) -> None:
    for name, expected in sorted(manifest.artifacts.items()):
        path = version_dir / name
        if not path.is_file():
            raise IntegrityCheckFailed("artifact-present", version_dir, f"{name} is listed in the manifest but missing")
        size = path.stat().st_size
        if size != expected.size_bytes:
            raise IntegrityCheckFailed(
                "artifact-digest", version_dir, f"{name} is {size} bytes, the manifest says {expected.size_bytes}"
            )
        actual = sha256_file(path)
        if actual != expected.sha256:
            raise IntegrityCheckFailed(
                "artifact-digest", version_dir,
                f"{name} has sha256 {actual[:16]}..., the manifest says {expected.sha256[:16]}...",
            )
    listed = set(manifest.artifacts) | {MANIFEST_FILE, SIGNATURE_FILE}
    present = sorted(p.relative_to(version_dir).as_posix() for p in version_dir.rglob("*") if p.is_file())
    unlisted = [name for name in present if name not in listed]
    if unlisted:
        raise IntegrityCheckFailed(
            "unlisted-file", version_dir, f"{', '.join(unlisted)} not listed in the manifest",
            "remove the file(s); a version folder holds only what was signed",
        )

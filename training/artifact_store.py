"""The environment's artifact store: where signed model versions live for everyone who serves them.

Locally it is a folder (by default ``<data>/models`` itself; ``models.artifact_dir`` adds a copy
elsewhere, e.g. a backup volume). In the cloud it is the data stack's S3 models bucket, and every
object is uploaded with SSE-KMS under the models key (``ServerSideEncryption="aws:kms"`` +
``SSEKMSKeyId``); an upload that comes back without that encryption is an error, not a warning.

A version is complete when its ``manifest.sig`` exists: it is written (or uploaded) last, so a
reader never lists a half-copied version. Stores hold bytes; trust comes from ``load_verified``.

Fetching from S3 trusts no object key: it reads the manifest and its signature first, verifies them
(given a verifier), then downloads exactly the artifacts the signed manifest names, each a plain file name
proven to land inside the staging folder. A key with ``../`` or ``//`` beside a version is never written,
and an id that is not a version id is refused before any request.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, Protocol

from environments import Environment, names, project_root
from environments.errors import CommandFailed, ConfigError
from training.manifest import MANIFEST_FILE, SIGNATURE_FILE, VERSION_ID_PATTERN, Manifest
from training.signing import Verifier
from training.verification import IntegrityCheckFailed, verify_signed_manifest


class ArtifactStore(Protocol):
    """Publishes, lists and fetches complete model versions."""

    def publish(self, version_dir: Path) -> str:
        """Store a complete local version folder; return where it now lives (a path or ``s3://`` URI)."""
        ...

    def version_ids(self) -> list[str]:
        """Ids of complete versions, oldest first."""
        ...

    def read(self, version_id: str, name: str) -> bytes:
        """One file of a version (e.g. its manifest, for listing without downloading models)."""
        ...

    def fetch(self, version_id: str, dest_root: Path, *, verifier: Verifier | None = None) -> Path:
        """Copy a version into ``dest_root/<version_id>`` (atomically) and return that folder; with a
        ``verifier``, only once the version's manifest signature verifies."""
        ...

    def uri(self, version_id: str) -> str: ...


def _upload_order(version_dir: Path) -> list[Path]:
    """Artifacts first, then the manifest, the signature last: its presence marks a complete version."""
    files = [p for p in sorted(version_dir.rglob("*")) if p.is_file()]
    rank = {MANIFEST_FILE: 1, SIGNATURE_FILE: 2}
    return sorted(files, key=lambda p: (rank.get(p.relative_to(version_dir).as_posix(), 0), p.as_posix()))


def _replace_atomically(staging: Path, final: Path) -> None:
    """Rename a filled staging folder into place; a concurrent identical copy that won the race is kept."""
    try:
        staging.rename(final)
    except OSError:
        if (final / SIGNATURE_FILE).exists():
            shutil.rmtree(staging, ignore_errors=True)
            return
        raise


class LocalFolderArtifactStore:
    """A folder of version folders. When it is the models folder itself, publishing is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def publish(self, version_dir: Path) -> str:
        final = self.root / version_dir.name
        if version_dir.resolve() == final.resolve():
            return str(final)
        if (final / SIGNATURE_FILE).exists():
            return str(final)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".staging-{version_dir.name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        for path in _upload_order(version_dir):
            target = staging / path.relative_to(version_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        _replace_atomically(staging, final)
        return str(final)

    def version_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir()
            if VERSION_ID_PATTERN.match(p.name) and (p / SIGNATURE_FILE).is_file()
        )

    def read(self, version_id: str, name: str) -> bytes:
        return (self.root / version_id / name).read_bytes()

    def fetch(self, version_id: str, dest_root: Path, *, verifier: Verifier | None = None) -> Path:
        _require_version_id(version_id)
        source = self.root / version_id
        if not (source / SIGNATURE_FILE).is_file():
            raise ConfigError(f"no complete model version {version_id!r} in {self.root}")
        if verifier is not None:
            verify_signed_manifest((source / MANIFEST_FILE).read_bytes(), (source / SIGNATURE_FILE).read_bytes(),
                                   verifier, source)
        return Path(LocalFolderArtifactStore(dest_root).publish(source))

    def uri(self, version_id: str) -> str:
        return str(self.root / version_id)


class S3ArtifactStore:
    """Model versions under ``s3://<bucket>/<prefix><version_id>/``, each object SSE-KMS with ``kms_key_id``."""

    def __init__(self, bucket: str, *, prefix: str, kms_key_id: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.kms_key_id = kms_key_id
        self._client = client

    def _key(self, version_id: str, name: str) -> str:
        return f"{self.prefix}{version_id}/{name}"

    def publish(self, version_dir: Path) -> str:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        for path in _upload_order(version_dir):
            key = self._key(version_dir.name, path.relative_to(version_dir).as_posix())
            try:
                self._client.upload_file(
                    str(path), self.bucket, key,
                    ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id},
                )
                encryption = self._client.head_object(Bucket=self.bucket, Key=key).get("ServerSideEncryption")
            except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
                raise CommandFailed(
                    f"upload of {path.name} to s3://{self.bucket}/{key} failed ({exc}); check the bucket exists in "
                    f"this region and the caller may s3:PutObject and kms:GenerateDataKey on {self.kms_key_id}"
                ) from None
            if encryption != "aws:kms":
                raise CommandFailed(
                    f"s3://{self.bucket}/{key} was stored with encryption {encryption!r}, not 'aws:kms'; the models "
                    "bucket must enforce SSE-KMS"
                )
        return self.uri(version_dir.name)

    def _keys_under(self, prefix: str) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        keys: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise CommandFailed(f"listing s3://{self.bucket}/{prefix} failed ({exc})") from None
        return keys

    def version_ids(self) -> list[str]:
        suffix = f"/{SIGNATURE_FILE}"
        ids = {
            key[len(self.prefix):-len(suffix)]
            for key in self._keys_under(self.prefix)
            if key.endswith(suffix)
        }
        return sorted(i for i in ids if VERSION_ID_PATTERN.match(i))

    def read(self, version_id: str, name: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(version_id, name)
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise CommandFailed(f"reading s3://{self.bucket}/{key} failed ({exc})") from None

    def fetch(self, version_id: str, dest_root: Path, *, verifier: Verifier | None = None) -> Path:
        from botocore.exceptions import BotoCoreError, ClientError

        _require_version_id(version_id)
        final = dest_root / version_id
        if (final / SIGNATURE_FILE).exists():
            return final  # a cached copy: load_verified checks it in full before use
        base = self._key(version_id, "")
        if base + SIGNATURE_FILE not in self._keys_under(base):
            raise ConfigError(f"no complete model version {version_id!r} in {self.uri(version_id)}")
        manifest_bytes, signature_bytes = self.read(version_id, MANIFEST_FILE), self.read(version_id, SIGNATURE_FILE)
        names = _listed_artifacts(manifest_bytes, signature_bytes, verifier, self.uri(version_id))
        dest_root.mkdir(parents=True, exist_ok=True)
        staging = dest_root / f".staging-{version_id}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            (staging / MANIFEST_FILE).write_bytes(manifest_bytes)
            (staging / SIGNATURE_FILE).write_bytes(signature_bytes)
            for name in names:
                self._client.download_file(self.bucket, self._key(version_id, name), str(_inside(staging, name)))
        except (BotoCoreError, ClientError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CommandFailed(f"download of {self.uri(version_id)} failed ({exc})") from None
        _replace_atomically(staging, final)
        return final

    def uri(self, version_id: str) -> str:
        return f"s3://{self.bucket}/{self._key(version_id, '')}"


def _require_version_id(version_id: str) -> None:
    if not VERSION_ID_PATTERN.match(version_id):
        raise ConfigError(f"{version_id!r} is not a model version id (v<date>-<time>-<microseconds>-<8 hex>)")


def _listed_artifacts(manifest_bytes: bytes, signature_bytes: bytes, verifier: Verifier | None, where: str) -> list[str]:
    """The artifact names of a version's manifest, verified first when a verifier is given."""
    if verifier is not None:
        manifest, _ = verify_signed_manifest(manifest_bytes, signature_bytes, verifier, Path(where))
        return sorted(manifest.artifacts)
    try:
        return sorted(Manifest.from_bytes(manifest_bytes).artifacts)
    except ValueError as exc:
        raise IntegrityCheckFailed("manifest-format", Path(where), f"{MANIFEST_FILE}: {exc}") from None


def _inside(folder: Path, name: str) -> Path:
    """``folder/name``, proven to be a direct child of ``folder`` (a manifest's names are plain already)."""
    target = folder / name
    if target.resolve().parent != folder.resolve():
        raise IntegrityCheckFailed("artifact-name", folder, f"{name!r} would be written outside the version folder")
    return target


def models_root(env: Environment) -> Path:
    """Local folder of version folders: the store itself locally, a verified cache in the cloud."""
    return env.paths.models


def _resolve_local(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else project_root() / candidate


def artifact_store_for(env: Environment, *, endpoint_url: str | None = None) -> ArtifactStore:
    """The store of an environment (see the module docstring); AWS clients honour ``AWS_ENDPOINT_URL``."""
    config = env.models
    if not env.is_cloud:
        return LocalFolderArtifactStore(_resolve_local(config.artifact_dir) if config.artifact_dir else models_root(env))
    import boto3

    bucket = config.artifact_bucket or _default_bucket(env, endpoint_url)
    client = boto3.client("s3", region_name=env.region, endpoint_url=endpoint_url)
    return S3ArtifactStore(bucket, prefix=config.artifact_prefix, kms_key_id=config.artifact_kms_key_id(env.name), client=client)


def _default_bucket(env: Environment, endpoint_url: str | None) -> str:
    """The data stack names the models bucket ``sahab-<env>-models-<account id>``; ask STS for the account."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        account = boto3.client("sts", region_name=env.region, endpoint_url=endpoint_url).get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise CommandFailed(
            f"cannot name the models bucket: STS GetCallerIdentity failed ({exc}); configure AWS credentials or set "
            "'models.artifact_bucket'"
        ) from None
    return names.account_scoped(env.resource_name(names.MODELS), account)

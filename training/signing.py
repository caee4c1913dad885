"""Signing and verifying model manifests: an Ed25519 key file locally, a KMS asymmetric key in the cloud.

What is signed is a short statement, ``sahab-manifest-v1 sha256:<hex of manifest.json>``, not the
manifest itself: AWS KMS signs at most 4096 bytes with ``MessageType=RAW``, a manifest with a long
feature list can exceed that, and moto's KMS does not implement ``MessageType=DIGEST`` (it hashes
again). A RAW signature over the statement behaves the same on AWS and on moto, and is as strong as
SHA-256 itself.

``manifest.sig`` is a small JSON envelope: algorithm, key id, the sha256 of the signer's public key
(DER SubjectPublicKeyInfo) and the signature in base64. Trust never comes from the envelope: a
``Verifier`` holds the trusted key(s) and the envelope only says which of them to try.

| environment | signer                                   | verifier (default)                                 |
|-------------|------------------------------------------|----------------------------------------------------|
| local       | ``Ed25519FileSigner`` (``<data>/keys``,  | ``PublicKeyVerifier`` over ``<data>/keys/*.pub.pem`` |
|             | key created on first use, mode 0600)     |                                                    |
| cloud       | ``KmsSigner`` (``alias/sahab-<env>-      | ``PublicKeyVerifier`` from ``models.trusted_public_ |
|             | models-signing``, ECDSA_SHA_256)         | key_path``, else from KMS ``GetPublicKey`` (one    |
|             |                                          | call; checks run offline); ``KmsVerifier`` asks KMS |
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from environments import Environment, project_root
from environments.errors import CommandFailed, ConfigError, IntegrityError

SIGNATURE_FORMAT = "sahab-manifest-signature/v1"
STATEMENT_PREFIX = b"sahab-manifest-v1 sha256:"

ED25519 = "ED25519"
#: KMS signing algorithms we accept, by key family. Every one is verifiable offline with ``cryptography``.
KMS_ALGORITHMS: tuple[str, ...] = ("ECDSA_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256")

ED25519_PRIVATE_KEY_FILE = "manifest-signing-ed25519.pem"
ED25519_PUBLIC_KEY_FILE = "manifest-signing-ed25519.pub.pem"
PUBLIC_KEY_SUFFIX = ".pub.pem"

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class SignatureInvalid(IntegrityError):
    """The signature does not verify, or was made by a key this verifier does not trust."""


def signing_statement(manifest_bytes: bytes) -> bytes:
    """The bytes actually signed: a fixed prefix and the sha256 of the manifest file (82 bytes)."""
    return STATEMENT_PREFIX + hashlib.sha256(manifest_bytes).hexdigest().encode()


@dataclass(frozen=True)
class ManifestSignature:
    """The content of ``manifest.sig``."""

    algorithm: str
    key_id: str
    public_key_sha256: str
    signature: bytes

    def to_bytes(self) -> bytes:
        body = {
            "format": SIGNATURE_FORMAT,
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "public_key_sha256": self.public_key_sha256,
            "signature": base64.b64encode(self.signature).decode(),
        }
        return (json.dumps(body, sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ManifestSignature:
        """Parse ``manifest.sig``; raises ``ValueError`` saying what is wrong with it."""
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"is not JSON ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != SIGNATURE_FORMAT:
            raise ValueError(f"'format' must be {SIGNATURE_FORMAT!r}")
        missing = [k for k in ("algorithm", "key_id", "public_key_sha256", "signature") if not isinstance(body.get(k), str)]
        if missing:
            raise ValueError(f"fields {missing} must be strings")
        try:
            signature = base64.b64decode(body["signature"], validate=True)
        except ValueError:
            raise ValueError("'signature' is not base64") from None
        return cls(body["algorithm"], body["key_id"], body["public_key_sha256"], signature)


class Signer(Protocol):
    """Signs manifest bytes; ``verifier()`` gives the matching offline check."""

    def sign(self, manifest_bytes: bytes) -> ManifestSignature: ...

    def verifier(self) -> Verifier: ...


class Verifier(Protocol):
    """Checks a signature over manifest bytes; raises ``SignatureInvalid`` saying why it failed."""

    def verify(self, manifest_bytes: bytes, signature: ManifestSignature) -> None: ...

    def describe(self) -> str: ...


# ---- public keys --------------------------------------------------------------------------------

def public_key_sha256(key: PublicKey) -> str:
    """Fingerprint of a public key: sha256 of its DER SubjectPublicKeyInfo (what KMS GetPublicKey returns)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_key_pem(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(data: bytes) -> PublicKey:
    """A public key from PEM or DER bytes; ``ConfigError`` if it is neither or of an unsupported kind."""
    try:
        key = (
            serialization.load_pem_public_key(data) if data.lstrip().startswith(b"-----") else serialization.load_der_public_key(data)
        )
    except ValueError as exc:
        raise ConfigError(f"not a PEM or DER public key ({exc})") from None
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise ConfigError(f"public keys must be Ed25519, ECDSA or RSA (got {type(key).__name__})")
    return key


def _check_with_key(key: PublicKey, algorithm: str, signature: bytes, statement: bytes) -> None:
    """Verify with ``cryptography``; raises ``InvalidSignature`` (or ``SignatureInvalid`` on a key/algorithm mismatch)."""
    if algorithm == ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, statement)
    elif algorithm == "ECDSA_SHA_256" and isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, statement, ec.ECDSA(hashes.SHA256()))
    elif algorithm == "RSASSA_PKCS1_V1_5_SHA_256" and isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, statement, padding.PKCS1v15(), hashes.SHA256())
    elif algorithm == "RSASSA_PSS_SHA_256" and isinstance(key, rsa.RSAPublicKey):
        # AWS KMS uses a salt as long as the digest, moto the maximum: AUTO accepts either.
        key.verify(signature, statement, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO), hashes.SHA256())
    else:
        raise SignatureInvalid(f"algorithm {algorithm!r} does not fit a {type(key).__name__} key")


class PublicKeyVerifier:
    """Verifies offline against one or more trusted public keys (several: key rotation keeps old versions valid)."""

    def __init__(self, keys: list[PublicKey], *, source: str) -> None:
        self._keys = {public_key_sha256(k): k for k in keys}
        self.source = source

    @classmethod
    def from_pem_files(cls, paths: list[Path]) -> PublicKeyVerifier:
        keys: list[PublicKey] = []
        for path in paths:
            try:
                keys.append(load_public_key(path.read_bytes()))
            except ConfigError as exc:
                raise ConfigError(f"trusted public key {path}: {exc}") from None
            except OSError as exc:
                raise ConfigError(f"trusted public key {path} cannot be read ({exc.strerror})") from None
        return cls(keys, source=", ".join(str(p) for p in paths) or "no key files")

    @classmethod
    def from_key_dir(cls, key_dir: Path) -> PublicKeyVerifier:
        """Trust every ``*.pub.pem`` in ``key_dir`` (the local environment's ``<data>/keys``)."""
        paths = sorted(key_dir.glob(f"*{PUBLIC_KEY_SUFFIX}")) if key_dir.is_dir() else []
        verifier = cls.from_pem_files(paths)
        verifier.source = f"{key_dir}/*{PUBLIC_KEY_SUFFIX}"
        return verifier

    @property
    def fingerprints(self) -> list[str]:
        return sorted(self._keys)

    def describe(self) -> str:
        return f"{len(self._keys)} trusted public key(s) from {self.source}"

    def verify(self, manifest_bytes: bytes, signature: ManifestSignature) -> None:
        if not self._keys:
            raise SignatureInvalid(
                f"there is no trusted public key to check it with ({self.source}); the local key is created when "
                f"the first version is registered, or copy the signer's {ED25519_PUBLIC_KEY_FILE} there"
            )
        key = self._keys.get(signature.public_key_sha256)
        if key is None:
            trusted = ", ".join(f[:16] for f in self.fingerprints) or "none"
            raise SignatureInvalid(
                f"manifest.sig names key {signature.key_id!r} (public key sha256 {signature.public_key_sha256[:16]}...), "
                f"which is not among the trusted keys ({trusted}) from {self.source}"
            )
        try:
            _check_with_key(key, signature.algorithm, signature.signature, signing_statement(manifest_bytes))
        except InvalidSignature:
            raise SignatureInvalid(
                f"the {signature.algorithm} signature in manifest.sig does not match manifest.json under key "
                f"{signature.key_id!r}"
            ) from None


# ---- local: an Ed25519 key file -----------------------------------------------------------------

def _write_atomically(path: Path, data: bytes) -> None:
    spare = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    spare.write_bytes(data)
    os.replace(spare, path)


class Ed25519FileSigner:
    """Signs with an Ed25519 private key kept in ``key_dir``; creates it (mode 0600) on first use."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir
        self._private_key: ed25519.Ed25519PrivateKey | None = None

    @property
    def private_key_path(self) -> Path:
        return self.key_dir / ED25519_PRIVATE_KEY_FILE

    @property
    def public_key_path(self) -> Path:
        return self.key_dir / ED25519_PUBLIC_KEY_FILE

    def _key(self) -> ed25519.Ed25519PrivateKey:
        if self._private_key is None:
            self._private_key = self._load() if self.private_key_path.exists() else self._create()
        return self._private_key

    def _create(self) -> ed25519.Ed25519PrivateKey:
        self.key_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.key_dir, 0o700)
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        # Written aside, then hard-linked into place: the link fails if another process won the race,
        # and nobody ever reads a half-written key.
        spare = self.key_dir / f".{ED25519_PRIVATE_KEY_FILE}.{os.getpid()}.tmp"
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            os.link(spare, self.private_key_path)
        except FileExistsError:
            return self._load()
        finally:
            spare.unlink()
        _write_atomically(self.public_key_path, public_key_pem(key.public_key()))
        return key

    def _load(self) -> ed25519.Ed25519PrivateKey:
        try:
            key = serialization.load_pem_private_key(self.private_key_path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"signing key {self.private_key_path} is not an unencrypted PEM private key ({exc}); "
                "move it away to have a new key created"
            ) from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ConfigError(f"signing key {self.private_key_path} must be Ed25519 (got {type(key).__name__})")
        if not self.public_key_path.exists():
            _write_atomically(self.public_key_path, public_key_pem(key.public_key()))
        return key

    @property
    def key_id(self) -> str:
        return f"ed25519:{public_key_sha256(self._key().public_key())[:16]}"

    def sign(self, manifest_bytes: bytes) -> ManifestSignature:
        key = self._key()
        return ManifestSignature(
            algorithm=ED25519,
            key_id=self.key_id,
            public_key_sha256=public_key_sha256(key.public_key()),
            signature=key.sign(signing_statement(manifest_bytes)),
        )

    def verifier(self) -> PublicKeyVerifier:
        return PublicKeyVerifier([self._key().public_key()], source=str(self.public_key_path))


# ---- cloud: a KMS asymmetric key ----------------------------------------------------------------

def kms_client(region_name: str, endpoint_url: str | None = None) -> Any:
    """A boto3 KMS client; without ``endpoint_url`` boto3 also honours ``AWS_ENDPOINT_URL``."""
    import boto3

    return boto3.client("kms", region_name=region_name, endpoint_url=endpoint_url)


def _check_kms_algorithm(algorithm: str) -> None:
    if algorithm not in KMS_ALGORITHMS:
        raise ConfigError(f"'models.signing_algorithm' must be one of {list(KMS_ALGORITHMS)} (value: {algorithm!r})")


class KmsSigner:
    """Signs with a KMS asymmetric key (ECC_NIST_P256 or RSA), ``MessageType=RAW`` over the short statement."""

    def __init__(
        self, key_id: str, *, region_name: str, algorithm: str = "ECDSA_SHA_256",
        endpoint_url: str | None = None, client: Any = None,
    ) -> None:
        _check_kms_algorithm(algorithm)
        self.key_id = key_id
        self.algorithm = algorithm
        self._client = client or kms_client(region_name, endpoint_url)
        self._public_key: PublicKey | None = None

    def public_key(self) -> PublicKey:
        """The key's public half (``kms:GetPublicKey``), fetched once."""
        if self._public_key is None:
            self._public_key = fetch_kms_public_key(self._client, self.key_id)
        return self._public_key

    def sign(self, manifest_bytes: bytes) -> ManifestSignature:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.sign(
                KeyId=self.key_id, Message=signing_statement(manifest_bytes), MessageType="RAW",
                SigningAlgorithm=self.algorithm,
            )
        except (BotoCoreError, ClientError) as exc:
            raise CommandFailed(
                f"KMS could not sign with key {self.key_id!r} ({exc}); check that the key exists, is enabled, has "
                f"KeyUsage SIGN_VERIFY with {self.algorithm}, and that the caller may kms:Sign"
            ) from None
        return ManifestSignature(
            algorithm=self.algorithm,
            key_id=response["KeyId"],
            public_key_sha256=public_key_sha256(self.public_key()),
            signature=response["Signature"],
        )

    def verifier(self) -> PublicKeyVerifier:
        return PublicKeyVerifier([self.public_key()], source=f"KMS key {self.key_id}")


def fetch_kms_public_key(client: Any, key_id: str) -> PublicKey:
    """``kms:GetPublicKey`` as a ``cryptography`` key, for offline verification."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        der = client.get_public_key(KeyId=key_id)["PublicKey"]
    except (BotoCoreError, ClientError) as exc:
        raise CommandFailed(
            f"KMS could not return the public key of {key_id!r} ({exc}); check the key exists and the caller may "
            "kms:GetPublicKey, or set 'models.trusted_public_key_path' to verify without KMS"
        ) from None
    return load_public_key(der)


class KmsVerifier:
    """Asks KMS itself (``kms:Verify``) whether the signature is valid: no public key on this machine."""

    def __init__(self, key_id: str, *, region_name: str, endpoint_url: str | None = None, client: Any = None) -> None:
        self.key_id = key_id
        self._client = client or kms_client(region_name, endpoint_url)

    def describe(self) -> str:
        return f"KMS Verify with key {self.key_id}"

    def verify(self, manifest_bytes: bytes, signature: ManifestSignature) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        _check_kms_algorithm(signature.algorithm)
        try:
            response = self._client.verify(
                KeyId=self.key_id, Message=signing_statement(manifest_bytes), MessageType="RAW",
                Signature=signature.signature, SigningAlgorithm=signature.algorithm,
            )
            valid = bool(response.get("SignatureValid"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "KMSInvalidSignatureException":
                raise CommandFailed(f"KMS could not verify with key {self.key_id!r} ({exc})") from None
            valid = False  # AWS answers an invalid signature with this error; moto with SignatureValid false
        except BotoCoreError as exc:
            raise CommandFailed(f"KMS could not verify with key {self.key_id!r} ({exc})") from None
        if not valid:
            raise SignatureInvalid(
                f"KMS key {self.key_id!r} says the {signature.algorithm} signature in manifest.sig does not match "
                "manifest.json"
            )


# ---- chosen from the environment ----------------------------------------------------------------

def key_dir(env: Environment) -> Path:
    """Where the local signing key and trusted public keys live: ``<data>/keys``."""
    return env.paths.keys


def signer_for(env: Environment, *, endpoint_url: str | None = None) -> Signer:
    """Local: the environment's Ed25519 key file. Cloud: its KMS signing key (``models.signing_key``)."""
    if not env.is_cloud:
        return Ed25519FileSigner(key_dir(env))
    return KmsSigner(
        env.models.signing_key_id(env.name), region_name=env.region, algorithm=env.models.signing_algorithm,
        endpoint_url=endpoint_url,
    )


def verifier_for(env: Environment, *, endpoint_url: str | None = None) -> Verifier:
    """The trusted keys of an environment; checks run offline (cloud: one ``GetPublicKey`` call at most).

    ``models.trusted_public_key_path`` wins everywhere: an auditor can verify a copied version with
    nothing but that PEM file.
    """
    configured = env.models.trusted_public_key_path
    if configured:
        path = Path(configured)
        return PublicKeyVerifier.from_pem_files([path if path.is_absolute() else project_root() / path])
    if not env.is_cloud:
        return PublicKeyVerifier.from_key_dir(key_dir(env))
    key_id = env.models.signing_key_id(env.name)
    client = kms_client(env.region, endpoint_url)
    return PublicKeyVerifier([fetch_kms_public_key(client, key_id)], source=f"KMS key {key_id}")

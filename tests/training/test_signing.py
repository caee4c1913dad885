"""Manifest signing: the local Ed25519 key file, and KMS asymmetric keys on moto's server.

moto implements KMS Sign/Verify/GetPublicKey with real cryptography, so these tests prove our
calls and our offline verification; moto enforces no key policy or key state, so nothing here
proves a policy.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from registry_fixtures import aws, environment_in, free_port, kms_signing_key, moto_url  # noqa: F401  (fixtures)

from environments.errors import CommandFailed, ConfigError
from training.signing import (
    ED25519_PRIVATE_KEY_FILE,
    ED25519_PUBLIC_KEY_FILE,
    Ed25519FileSigner,
    KmsSigner,
    KmsVerifier,
    ManifestSignature,
    PublicKeyVerifier,
    SignatureInvalid,
    fetch_kms_public_key,
    kms_client,
    public_key_pem,
    signer_for,
    verifier_for,
)

MANIFEST = b'{\n  "version_id": "v20261123-134501-000001-0123abcd"\n}\n'


# ---- Ed25519 key file ------------------------------------------------------------------------------

def test_ed25519_key_is_created_on_first_use_readable_only_by_its_owner(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    Ed25519FileSigner(key_dir).sign(MANIFEST)
    mode = stat.S_IMODE((key_dir / ED25519_PRIVATE_KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert (key_dir / ED25519_PUBLIC_KEY_FILE).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_a_later_signer_reuses_the_key_created_first(tmp_path: Path) -> None:
    first = Ed25519FileSigner(tmp_path).sign(MANIFEST)
    second = Ed25519FileSigner(tmp_path).sign(MANIFEST)
    assert first.public_key_sha256 == second.public_key_sha256
    assert first.key_id == second.key_id


def test_ed25519_signature_verifies_with_the_public_key_file_alone(tmp_path: Path) -> None:
    signature = Ed25519FileSigner(tmp_path / "keys").sign(MANIFEST)
    (tmp_path / "keys" / ED25519_PRIVATE_KEY_FILE).unlink()
    PublicKeyVerifier.from_key_dir(tmp_path / "keys").verify(MANIFEST, signature)


def test_ed25519_signature_fails_when_one_byte_of_the_manifest_changes(tmp_path: Path) -> None:
    signer = Ed25519FileSigner(tmp_path)
    signature = signer.sign(MANIFEST)
    with pytest.raises(SignatureInvalid, match="does not match manifest.json"):
        signer.verifier().verify(MANIFEST.replace(b"0001", b"0002"), signature)


def test_a_signature_from_a_key_outside_the_trusted_set_is_refused(tmp_path: Path) -> None:
    stranger = Ed25519FileSigner(tmp_path / "stranger").sign(MANIFEST)
    trusted = Ed25519FileSigner(tmp_path / "trusted").verifier()
    with pytest.raises(SignatureInvalid, match="not among the trusted keys"):
        trusted.verify(MANIFEST, stranger)


def test_a_verifier_trusts_every_public_key_in_the_folder_so_rotated_keys_still_verify(tmp_path: Path) -> None:
    old = Ed25519FileSigner(tmp_path / "old")
    old_signature = old.sign(MANIFEST)
    new = Ed25519FileSigner(tmp_path / "keys")
    new.sign(MANIFEST)
    (tmp_path / "keys" / "retired-2026-01.pub.pem").write_bytes(old.public_key_path.read_bytes())
    PublicKeyVerifier.from_key_dir(tmp_path / "keys").verify(MANIFEST, old_signature)


def test_processes_racing_to_create_the_key_all_end_up_with_the_same_one(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from training.signing import Ed25519FileSigner; "
        "print(Ed25519FileSigner(Path(sys.argv[1])).sign(b'm').public_key_sha256)"
    )
    racers = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "keys")], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    fingerprints = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert len(fingerprints) == 1 and all(len(f) == 64 for f in fingerprints)
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [ED25519_PRIVATE_KEY_FILE, ED25519_PUBLIC_KEY_FILE]


def test_a_verifier_without_any_key_says_where_the_key_should_be(tmp_path: Path) -> None:
    signature = Ed25519FileSigner(tmp_path / "elsewhere").sign(MANIFEST)
    with pytest.raises(SignatureInvalid, match=r"no trusted public key.*keys/\*\.pub\.pem"):
        PublicKeyVerifier.from_key_dir(tmp_path / "keys").verify(MANIFEST, signature)


def test_an_unreadable_private_key_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / ED25519_PRIVATE_KEY_FILE).write_text("not a key")
    with pytest.raises(ConfigError, match=ED25519_PRIVATE_KEY_FILE):
        Ed25519FileSigner(tmp_path).sign(MANIFEST)


def test_signature_envelope_survives_a_round_trip_through_its_file_format(tmp_path: Path) -> None:
    signature = Ed25519FileSigner(tmp_path).sign(MANIFEST)
    assert ManifestSignature.from_bytes(signature.to_bytes()) == signature


def test_an_envelope_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'format'"):
        ManifestSignature.from_bytes(b'{"format": "something-else"}')


def test_local_environments_sign_with_the_key_file_under_the_data_folder(tmp_path: Path) -> None:
    env = environment_in("local", tmp_path)
    signer = signer_for(env)
    assert isinstance(signer, Ed25519FileSigner)
    assert signer.key_dir == tmp_path / "keys"


def test_cloud_environments_sign_with_the_models_signing_alias_by_default(tmp_path: Path) -> None:
    env = environment_in("dev", tmp_path)
    signer = signer_for(env)
    assert isinstance(signer, KmsSigner)
    assert (signer.key_id, signer.algorithm) == ("alias/sahab-dev-models-signing", "ECDSA_SHA_256")


# ---- KMS on moto's server ----------------------------------------------------------------------------

def test_kms_ecdsa_signature_verifies_offline_with_the_public_key(aws: str) -> None:
    alias = kms_signing_key("ECC_NIST_P256")
    signer = KmsSigner(alias, region_name="me-central-1")
    signature = signer.sign(MANIFEST)
    assert signature.algorithm == "ECDSA_SHA_256"
    assert signature.key_id.startswith("arn:aws:kms:me-central-1:")
    public_key = fetch_kms_public_key(kms_client("me-central-1"), alias)
    PublicKeyVerifier([public_key], source="test").verify(MANIFEST, signature)


def test_kms_signature_verifies_through_kms_verify(aws: str) -> None:
    alias = kms_signing_key("ECC_NIST_P256")
    signature = KmsSigner(alias, region_name="me-central-1").sign(MANIFEST)
    KmsVerifier(alias, region_name="me-central-1").verify(MANIFEST, signature)


def test_kms_verify_refuses_a_changed_manifest(aws: str) -> None:
    alias = kms_signing_key("ECC_NIST_P256")
    signature = KmsSigner(alias, region_name="me-central-1").sign(MANIFEST)
    with pytest.raises(SignatureInvalid, match="does not match"):
        KmsVerifier(alias, region_name="me-central-1").verify(MANIFEST + b" ", signature)


def test_offline_verification_refuses_a_kms_signature_over_a_changed_manifest(aws: str) -> None:
    alias = kms_signing_key("ECC_NIST_P256")
    signer = KmsSigner(alias, region_name="me-central-1")
    signature = signer.sign(MANIFEST)
    with pytest.raises(SignatureInvalid, match="does not match manifest.json"):
        signer.verifier().verify(MANIFEST + b" ", signature)


@pytest.mark.parametrize("algorithm", ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256"])
def test_kms_rsa_signatures_verify_offline(aws: str, algorithm: str) -> None:
    alias = kms_signing_key("RSA_2048")
    signer = KmsSigner(alias, region_name="me-central-1", algorithm=algorithm)
    signer.verifier().verify(MANIFEST, signer.sign(MANIFEST))


def test_a_manifest_over_the_kms_raw_limit_signs_with_a_message_under_4096_bytes(aws: str) -> None:
    # AWS refuses RAW messages over 4096 bytes; moto does not, so the test watches what is sent.
    alias = kms_signing_key("ECC_NIST_P256")
    big_manifest = b'{"features": [' + b",".join(b'"customer_transactions:f%05d"' % i for i in range(2000)) + b"]}"
    client = kms_client("me-central-1")
    sent: list[bytes] = []
    client.meta.events.register("provide-client-params.kms.Sign", lambda params, **_: sent.append(params["Message"]))
    signer = KmsSigner(alias, region_name="me-central-1", client=client)
    signature = signer.sign(big_manifest)
    assert len(big_manifest) > 4096
    assert len(sent) == 1 and len(sent[0]) <= 4096
    signer.verifier().verify(big_manifest, signature)


def test_signing_with_a_missing_kms_key_names_the_key_and_the_permission(aws: str) -> None:
    with pytest.raises(CommandFailed, match=r"alias/does-not-exist.*kms:Sign"):
        KmsSigner("alias/does-not-exist", region_name="me-central-1").sign(MANIFEST)


def test_an_unsupported_kms_algorithm_is_a_config_error(aws: str) -> None:
    with pytest.raises(ConfigError, match="signing_algorithm"):
        KmsSigner("alias/x", region_name="me-central-1", algorithm="ECDSA_SHA_384")


def test_cloud_verifier_fetches_the_public_key_of_the_configured_alias(aws: str, tmp_path: Path) -> None:
    alias = kms_signing_key("ECC_NIST_P256")
    env = environment_in("dev", tmp_path, signing_key=alias)
    signature = signer_for(env).sign(MANIFEST)
    verifier_for(env).verify(MANIFEST, signature)


def test_a_configured_public_key_verifies_without_any_aws_call(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alias = kms_signing_key("ECC_NIST_P256")
    signer = KmsSigner(alias, region_name="me-central-1")
    signature = signer.sign(MANIFEST)
    pem = tmp_path / "models-signing.pub.pem"
    pem.write_bytes(public_key_pem(signer.public_key()))
    # Any AWS call from here on would hit a closed port and fail.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    env = environment_in("dev", tmp_path, trusted_public_key_path=str(pem))
    verifier_for(env).verify(MANIFEST, signature)

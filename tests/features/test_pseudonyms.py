"""Customer pseudonyms: keyed, deterministic, the key file's life locally and KMS's HMAC key in the cloud."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import stat
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from environments import load_environment
from environments.errors import CommandFailed, ConfigError
from features.pseudonyms import (
    KEY_BYTES,
    LOCAL_KEY_FILE,
    KmsMacKey,
    LocalMacKey,
    Pseudonymiser,
    is_pseudonym,
    local_key_path,
    pseudonymise_column,
    pseudonymiser_for,
)

REGION = "me-central-1"


def local_env(tmp_path: Path):
    return load_environment("local").model_copy(update={"data_dir": str(tmp_path / "data")})


def test_a_pseudonym_is_the_keyed_mac_of_the_id_and_never_the_id_or_its_plain_hash(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / LOCAL_KEY_FILE
    key_file.parent.mkdir()
    key_file.write_bytes(b"k" * KEY_BYTES)
    pseudonym = Pseudonymiser(LocalMacKey(key_file))("c000123")
    assert pseudonym == "p" + hmac.new(b"k" * KEY_BYTES, b"c000123", hashlib.sha256).hexdigest()[:32]
    assert is_pseudonym(pseudonym) and not is_pseudonym("c000123")
    assert hashlib.sha256(b"c000123").hexdigest()[:32] not in pseudonym  # a dictionary of plain hashes finds nothing


def test_the_same_key_gives_the_same_pseudonym_and_another_key_another(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / LOCAL_KEY_FILE, tmp_path / "b" / LOCAL_KEY_FILE
    ids = [f"c{i:06d}" for i in range(50)]
    once = Pseudonymiser(LocalMacKey(first)).many(ids)
    assert Pseudonymiser(LocalMacKey(first)).many(ids) == once  # consistent keys: features join as before
    assert len(set(once)) == 50
    assert not set(once) & set(Pseudonymiser(LocalMacKey(second)).many(ids))


def test_the_local_key_is_created_once_with_mode_0600_in_a_0700_folder(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    pseudonym = pseudonymiser_for(env)("c000001")
    path = local_key_path(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(path.read_bytes()) == KEY_BYTES
    assert pseudonymiser_for(env)("c000001") == pseudonym  # a second process reads the same key


def _first_pseudonym(key_file: str, queue) -> None:
    queue.put(Pseudonymiser(LocalMacKey(Path(key_file)))("c000001"))


def test_processes_racing_to_create_the_key_all_end_with_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / LOCAL_KEY_FILE
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_first_pseudonym, args=(str(key_file), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert {queue.get(timeout=5) for _ in workers} == {Pseudonymiser(LocalMacKey(key_file))("c000001")}
    assert [p.name for p in key_file.parent.iterdir()] == [LOCAL_KEY_FILE]  # no spare left behind


def test_a_damaged_key_is_refused_with_the_way_out_not_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / LOCAL_KEY_FILE
    key_file.write_bytes(b"short")
    with pytest.raises(ConfigError, match=r"holds 5 bytes, not 32.*Restore it from your backup"):
        Pseudonymiser(LocalMacKey(key_file))("c000001")
    assert key_file.read_bytes() == b"short"


def test_a_column_is_pseudonymised_in_place_of_the_ids_and_the_rest_is_kept(tmp_path: Path) -> None:
    pseudonymise = Pseudonymiser(LocalMacKey(tmp_path / LOCAL_KEY_FILE))
    frame = pd.DataFrame({"customer_id": ["c000002", "c000001", "c000002"], "amount_aed": [1.0, 2.0, 3.0]})
    out = pseudonymise_column(frame, pseudonymise)
    assert out["customer_id"].tolist() == pseudonymise.many(["c000002", "c000001", "c000002"])
    assert out["amount_aed"].tolist() == [1.0, 2.0, 3.0] and frame["customer_id"].iloc[0] == "c000002"


@mock_aws
def test_in_the_cloud_the_kms_hmac_key_makes_the_pseudonym_and_the_key_never_leaves_kms() -> None:
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/sahab-smb-customer-pseudonym", TargetKeyId=key)
    env = load_environment("smb")
    pseudonymise = pseudonymiser_for(env, kms_client=kms)
    assert pseudonymise.describe() == f"KMS key alias/sahab-smb-customer-pseudonym ({env.region})"
    expected = kms.generate_mac(KeyId=key, Message=b"c000123", MacAlgorithm="HMAC_SHA_256")["Mac"].hex()[:32]
    assert pseudonymise("c000123") == "p" + expected
    assert pseudonymise("c000123") == pseudonymise("c000123") != pseudonymise("c000124")


@mock_aws
def test_a_kms_refusal_names_the_key_and_the_permission_the_workload_needs() -> None:
    pseudonymise = Pseudonymiser(KmsMacKey("alias/missing", region_name=REGION, client=boto3.client("kms", region_name=REGION)))
    with pytest.raises(CommandFailed, match=r"KMS key 'alias/missing' in me-central-1.*kms:GenerateMac"):
        pseudonymise("c000123")

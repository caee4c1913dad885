"""The cloud feature path end to end, with real servers on 127.0.0.1 standing in for AWS.

What runs for real: the ``feature_store.yaml`` rendered for ``smb``; Feast 0.67 with its S3
registry (boto3), its file offline store reading ``s3://`` parquet (dask through
``features.s3_filesystem``, pyarrow's S3 client) and its Redis online store; moto's server as S3
and KMS (a bucket whose default encryption is SSE-KMS with a customer key, the tables uploaded
with SSE-KMS); Debian's ``redis-server`` with TLS only (no plain port), a throwaway CA and server
certificate made here with ``cryptography``, and an AUTH password (``requirepass``). The rendered
connection string is used unchanged: ``ssl=true``, the token from ``${SAHAB_REDIS_AUTH_TOKEN}``,
and the test CA through the optional ``redis_ca_file`` setting.

Proven here: ``apply`` writes the registry to S3 (under the bucket's KMS key); ``materialize``
loads Redis with each entity's latest parquet row; the training join
(``training.dataset.historical_rows``) from S3 equals an independent ``merge_asof`` row for row;
a push appends to the S3 table and reaches Redis; the service's direct Redis read equals
``get_online_features``; a new stream state is seeded from the S3
transactions inside the windows (only those); the Redis refuses plain TCP and clients without
the token; and ``sahab features materialize --outputs`` (a subprocess, stack outputs in a file,
endpoint and CA from ``SAHAB_S3_ENDPOINT_URL``/``SAHAB_REDIS_CA_FILE``) refills a flushed Redis.

What this does not prove: moto enforces no bucket policy, no KMS key policy or key state and no
IAM, so the encryption asserted here is metadata (that our writes inherit the bucket's SSE-KMS key),
not that AWS would allow the calls; ``redis-server`` 7 is not ElastiCache (its certificate is
publicly signed there, no CA file needed); credentials are static dummies, not IRSA.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from features.aggregations import pack_events
from features.names import (
    CUSTOMER_TRANSACTIONS_FILE,
    CUSTOMER_TRANSACTIONS_PUSH_SOURCE,
    FRAUD_MODEL_FEATURE_SERVICE,
    MERCHANT_RISK_FILE,
    TRANSACTIONS_FILE,
)
from features.store import CloudStoreSettings
from environments import Environment, load_environment, parse_environment
from environments.errors import CommandFailed
from environments.process_records import stop_child

if TYPE_CHECKING:
    from feast import FeatureStore

pytestmark = pytest.mark.slow

REGION = "me-central-1"
BUCKET = "sahab-smb-data-test"
REDIS_TOKEN = "test-only-token-0123456789abcdef"
TABLES = (TRANSACTIONS_FILE, CUSTOMER_TRANSACTIONS_FILE, MERCHANT_RISK_FILE)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (as tests/conftest.py's helper; conftest modules are not importable by name)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(ready: Callable[[], object], process: subprocess.Popen, name: str, log: Path, timeout_s: float = 30.0) -> None:
    """Poll ``ready()`` until it returns; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            ready()
            return
        except Exception:  # noqa: BLE001 - not up yet, whatever the client says
            time.sleep(0.05)
    stop_child(process)
    raise RuntimeError(f"{name} did not answer within {timeout_s} s:\n{log.read_text()[-2000:]}")


# ---- servers ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aws_environment() -> Iterator[None]:
    """Dummy credentials and the UAE region; no profile, endpoint or metadata service can reach AWS."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                     "AWS_ENDPOINT_URL_S3", "FEAST_S3_ENDPOINT_URL", "SAHAB_S3_ENDPOINT_URL", "SAHAB_REDIS_CA_FILE"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.setenv("SAHAB_REDIS_AUTH_TOKEN", REDIS_TOKEN)
        yield


@pytest.fixture(scope="module")
def moto_url(aws_environment: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server (S3 and KMS) on a free loopback port, logging to a file, stopped by its pid."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: httpx.get(f"{url}/moto-api/", timeout=1.0).raise_for_status(), process, "moto_server", log)
        yield url
    finally:
        stop_child(process)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    certificate: Path
    key: Path


def make_tls_files(folder: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (EC P-256, valid one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sahab test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(ca=folder / "ca.pem", certificate=folder / "server.pem", key=folder / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


@dataclass(frozen=True)
class TlsRedis:
    port: int
    tls: TlsFiles


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """Debian's redis-server, TLS only (``port 0``), AUTH required, on a free loopback port; stopped by pid."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: `make test` installs it (apt-get install -y redis-server); "
                    "a skip here would hide 12 cloud feature-store tests")
    import redis

    folder = tmp_path_factory.mktemp("redis")
    tls = make_tls_files(folder)
    port = free_port()
    config = folder / "redis.conf"
    config.write_text("\n".join([
        "bind 127.0.0.1", "port 0", f"tls-port {port}", f"tls-cert-file {tls.certificate}", f"tls-key-file {tls.key}",
        f"tls-ca-cert-file {tls.ca}", "tls-auth-clients no", f"requirepass {REDIS_TOKEN}", 'save ""', "appendonly no",
        f"dir {folder}", f"logfile {folder / 'redis.log'}",
    ]) + "\n")
    process = subprocess.Popen(["redis-server", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(tls.ca),
                                       password=REDIS_TOKEN, socket_timeout=2).ping(), process, "redis-server", folder / "redis.log")
        yield TlsRedis(port=port, tls=tls)
    finally:
        stop_child(process)


# ---- the cloud repository -----------------------------------------------------------------------

@dataclass(frozen=True)
class CloudRepository:
    env: Environment
    settings: CloudStoreSettings
    kms_key_arn: str
    local_tables: dict[str, pd.DataFrame]
    store: FeatureStore
    moto_url: str


def tiny_local_env(data_dir: Path) -> Environment:
    return parse_environment(
        {
            "name": "cloudgen", "target": "local", "region": REGION, "data_dir": str(data_dir / "{name}"),
            "tags": {"owner": "o", "cost-centre": "c", "data-classification": "internal", "environment": "cloudgen"},
            "data": {"customers": 40, "merchants": 10, "days": 8, "seed": 11},
        }
    )


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, moto_url: str, tls_redis: TlsRedis) -> CloudRepository:
    """Tables generated at a tiny size, uploaded with SSE-KMS, then ``apply`` and ``materialize`` for ``smb``."""
    import boto3

    from features.store import apply, feature_store_for, materialize
    from training.data.offline import offline_dir, write_offline_store

    work = tmp_path_factory.mktemp("cloud")
    generator_env = tiny_local_env(work)
    write_offline_store(generator_env)
    local_tables = {name: pd.read_parquet(offline_dir(generator_env) / name) for name in TABLES}

    kms = boto3.client("kms", endpoint_url=moto_url, region_name=REGION)
    key_arn = kms.create_key(Description="sahab test data key")["KeyMetadata"]["Arn"]
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True,
        }]},
    )
    for name in TABLES:  # a table is a file or a folder of parts (customer_transactions.parquet/batch.parquet)
        local = offline_dir(generator_env) / name
        for path in sorted(local.rglob("*.parquet")) if local.is_dir() else [local]:
            key = f"offline/{path.relative_to(offline_dir(generator_env)).as_posix()}"
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes(), ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)

    settings = CloudStoreSettings(
        data_bucket=BUCKET,
        online_store_endpoint=f"127.0.0.1:{tls_redis.port}",
        s3_endpoint_url=moto_url,
        redis_ca_file=str(tls_redis.tls.ca),
    )
    env = load_environment("smb").model_copy(update={"data_dir": str(work / "{name}")})
    apply(env, settings)
    materialize(env, cloud=settings)
    return CloudRepository(env=env, settings=settings, kms_key_arn=key_arn, local_tables=local_tables,
                           store=feature_store_for(env, settings), moto_url=moto_url)


def latest_rows(table: pd.DataFrame, key: str) -> pd.DataFrame:
    return table.sort_values("event_timestamp").groupby(key).tail(1).set_index(key)


# ---- tests --------------------------------------------------------------------------------------

def test_the_rendered_yaml_is_the_cloud_one_with_tls_the_token_reference_and_the_s3_registry(cloud: CloudRepository) -> None:
    import yaml

    from features.store import feature_repo_dir

    text = (feature_repo_dir(cloud.env) / "feature_store.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["provider"] == "aws"
    assert config["registry"]["path"] == f"s3://{BUCKET}/feast/registry.db"
    assert config["online_store"]["connection_string"] == (
        f"127.0.0.1:{cloud.settings.online_store_endpoint.split(':')[1]},ssl=true,"
        f"password=${{SAHAB_REDIS_AUTH_TOKEN}},socket_timeout=2,socket_connect_timeout=2,"
        f"ssl_ca_certs={cloud.settings.redis_ca_file}"
    )
    assert REDIS_TOKEN not in text


def test_apply_writes_the_registry_to_s3_under_the_buckets_kms_key(cloud: CloudRepository) -> None:
    import boto3
    from feast import FileSource

    s3 = boto3.client("s3", endpoint_url=cloud.moto_url, region_name=REGION)
    head = s3.head_object(Bucket=BUCKET, Key="feast/registry.db")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", cloud.kms_key_arn)
    source = cloud.store.get_data_source("customer_transactions_parquet")
    assert isinstance(source, FileSource)
    assert source.path == f"s3://{BUCKET}/offline/{CUSTOMER_TRANSACTIONS_FILE}"
    assert source.s3_endpoint_override == cloud.moto_url


def test_materialise_puts_each_customers_and_merchants_latest_s3_row_into_redis(cloud: CloudRepository) -> None:
    customers = latest_rows(cloud.local_tables[CUSTOMER_TRANSACTIONS_FILE], "customer_id")
    merchants = latest_rows(cloud.local_tables[MERCHANT_RISK_FILE], "merchant_id")
    chosen = list(zip(customers.index[:4], merchants.index[:4], strict=True))
    online = cloud.store.get_online_features(
        features=cloud.store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE),
        entity_rows=[{"customer_id": c, "merchant_id": m} for c, m in chosen],
    ).to_dict()
    assert online["recent_events"] == [customers.loc[c, "recent_events"] for c, _ in chosen]
    assert online["merchant_fraud_rate_30d"] == pytest.approx([merchants.loc[m, "merchant_fraud_rate_30d"] for _, m in chosen])
    assert online["merchant_txn_count_7d"] == [int(merchants.loc[m, "merchant_txn_count_7d"]) for _, m in chosen]


def test_the_redis_it_wrote_to_refuses_plain_connections_and_clients_without_the_token(
    cloud: CloudRepository, tls_redis: TlsRedis
) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    once: dict[str, Any] = {"host": "127.0.0.1", "port": tls_redis.port, "socket_timeout": 1, "retry": Retry(NoBackoff(), 0)}
    tls: dict[str, Any] = {**once, "ssl": True, "ssl_ca_certs": str(tls_redis.tls.ca)}
    assert redis.Redis(**tls, password=REDIS_TOKEN).dbsize() > 0
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(**tls).get("any")
    with pytest.raises((redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        redis.Redis(**once, password=REDIS_TOKEN).ping()


def test_the_training_join_from_s3_equals_an_independent_point_in_time_join(cloud: CloudRepository) -> None:
    from features.aggregations import CUSTOMER_FEATURES, MERCHANT_FEATURES, RECENT_EVENT_COLUMNS
    from features.store import read_offline_table
    from training.dataset import TRANSACTION_TIME, entity_dataframe, historical_rows, with_customer_features

    transactions = read_offline_table(cloud.env, TRANSACTIONS_FILE, cloud.settings)
    pd.testing.assert_frame_equal(transactions, cloud.local_tables[TRANSACTIONS_FILE])
    rows = historical_rows(cloud.store, transactions)
    assert len(rows) == len(transactions) and rows["transaction_id"].is_unique

    expected = entity_dataframe(transactions).sort_values("event_timestamp")
    for table, key, view_features in ((CUSTOMER_TRANSACTIONS_FILE, "customer_id", RECENT_EVENT_COLUMNS),
                                      (MERCHANT_RISK_FILE, "merchant_id", MERCHANT_FEATURES)):
        history = cloud.local_tables[table].sort_values("event_timestamp")[[key, "event_timestamp", *view_features]]
        history["event_timestamp"] = history["event_timestamp"].astype(expected["event_timestamp"].dtype)
        expected = pd.merge_asof(expected, history, on="event_timestamp", by=key, direction="backward")
    expected = with_customer_features(expected).sort_values([TRANSACTION_TIME, "transaction_id"], ignore_index=True)
    features = [*CUSTOMER_FEATURES, *MERCHANT_FEATURES]
    assert list(rows["transaction_id"]) == list(expected["transaction_id"])
    pd.testing.assert_frame_equal(rows[features].astype("float64"), expected[features].astype("float64"), rtol=1e-9)
    assert rows[CUSTOMER_FEATURES[0]].notna().sum() > len(rows) // 2  # most rows found a customer history
    with_history = expected[expected["txn_count_7d"].notna()].iloc[[0, -1]]
    for _, wanted in with_history.iterrows():
        row = rows.set_index("transaction_id").loc[wanted["transaction_id"]]
        assert (row["txn_count_7d"], row["amount_max_7d_aed"], row["is_fraud"]) == (
            wanted["txn_count_7d"], pytest.approx(wanted["amount_max_7d_aed"]), wanted["is_fraud"])


def test_the_training_set_of_a_cloud_environment_reads_its_labels_from_s3(
    cloud: CloudRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``sahab train --env smb`` does in a Kubernetes Job: settings from the environment variables."""
    from training.dataset import build_training_set

    for variable, value in (("SAHAB_DATA_BUCKET", BUCKET), ("SAHAB_ONLINE_STORE_ENDPOINT", cloud.settings.online_store_endpoint),
                            ("SAHAB_S3_ENDPOINT_URL", cloud.moto_url), ("SAHAB_REDIS_CA_FILE", cloud.settings.redis_ca_file)):
        monkeypatch.setenv(variable, value)
    labelled = cloud.local_tables[TRANSACTIONS_FILE]
    # The tiny table has few frauds: hold out just enough days for the last one to fall in validation.
    last_fraud = labelled.loc[labelled["is_fraud"] == 1, "event_timestamp"].max()
    validation_days = int((labelled["event_timestamp"].max() - last_fraud) / pd.Timedelta(days=1)) + 1
    training = cloud.env.training.model_copy(update={"validation_days": validation_days, "early_stopping_days": 1})
    env = cloud.env.model_copy(update={"training": training})
    training_set = build_training_set(env, store=cloud.store)
    assert len(training_set.train) + len(training_set.stopping) + len(training_set.validation) == len(labelled)
    assert set(training_set.validation["transaction_id"]) <= set(labelled["transaction_id"])
    assert training_set.validation["event_timestamp"].min() > training_set.train["event_timestamp"].max()


def test_the_streams_partition_files_land_in_the_s3_table_and_the_online_write_reaches_redis(cloud: CloudRepository) -> None:
    """What the ingestor's sink does in the cloud: a partition's rows as a file beside batch.parquet on S3
    (a replay of the same checkpoint replaces it), one online row per customer in Redis."""
    from feast.data_source import PushMode

    from features.ingest.offline import sink_for_source
    from features.store import read_offline_table

    before = len(read_offline_table(cloud.env, CUSTOMER_TRANSACTIONS_FILE, cloud.settings))
    row = {"customer_id": "c000003", "event_timestamp": pd.Timestamp.now(tz="UTC").floor("us").to_pydatetime(),
           "recent_events": pack_events([(41, 2.5, 0)])}
    source = cloud.store.get_feature_view("customer_transactions").batch_source
    sink = sink_for_source(source.path, repo_path=str(cloud.store.repo_path), region=cloud.env.region,
                           s3_endpoint_override=source.file_options.s3_endpoint_override)
    assert sink.write("transactions", 2, 1000, [row]) == 1
    assert sink.write("transactions", 2, 1000, [row]) == 1  # the same checkpoint read again: replaced, not added
    cloud.store.push(CUSTOMER_TRANSACTIONS_PUSH_SOURCE, pd.DataFrame([row]), to=PushMode.ONLINE)

    after = read_offline_table(cloud.env, CUSTOMER_TRANSACTIONS_FILE, cloud.settings)
    assert len(after) == before + 1 and (after["recent_events"] == row["recent_events"]).sum() == 1
    online = cloud.store.get_online_features(features=["customer_transactions:recent_events"],
                                             entity_rows=[{"customer_id": "c000003"}]).to_dict()
    assert online["recent_events"] == [row["recent_events"]]


def test_sahab_features_materialize_from_terraform_outputs_refills_redis(
    cloud: CloudRepository, tls_redis: TlsRedis, tmp_path: Path
) -> None:
    """The real command, as a user runs it: stack outputs in a file, the endpoint and CA from the environment."""
    import json

    import redis
    import yaml

    from features.store import read_offline_table

    redis.Redis(host="127.0.0.1", port=tls_redis.port, ssl=True, ssl_ca_certs=str(tls_redis.tls.ca),
                password=REDIS_TOKEN).flushall()
    (tmp_path / "smb").mkdir()
    document = yaml.safe_load((Path(__file__).parents[2] / "environments" / "smb.yaml").read_text())
    environment_file = tmp_path / "smb" / "smb.yaml"
    environment_file.write_text(yaml.safe_dump({**document, "data_dir": str(tmp_path / "{name}")}))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"data_bucket": {"value": BUCKET, "type": "string", "sensitive": False},
                                   "online_store_endpoint": {"value": cloud.settings.online_store_endpoint}}))
    environ = {name: value for name, value in os.environ.items() if name != "FEAST_S3_ENDPOINT_URL"}
    environ.update(SAHAB_S3_ENDPOINT_URL=cloud.moto_url, SAHAB_REDIS_CA_FILE=str(tls_redis.tls.ca), COLUMNS="200")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sahab")), "features", "materialize", "--env", str(environment_file),
         "--outputs", str(outputs)],
        env=environ, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "materialised customer_transactions, merchant_risk" in done.stdout

    customers = latest_rows(read_offline_table(cloud.env, CUSTOMER_TRANSACTIONS_FILE, cloud.settings), "customer_id")
    chosen = list(customers.index[-3:])
    online = cloud.store.get_online_features(features=["customer_transactions:recent_events"],
                                             entity_rows=[{"customer_id": c} for c in chosen]).to_dict()
    assert online["recent_events"] == [customers.loc[c, "recent_events"] for c in chosen]


def test_a_missing_s3_table_names_where_to_upload_it(cloud: CloudRepository) -> None:
    from features.store import read_offline_table
    from environments.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"s3://{BUCKET}/offline/nothing.parquet.*upload the offline tables"):
        read_offline_table(cloud.env, "nothing.parquet", cloud.settings)


def test_the_services_direct_redis_read_equals_get_online_features(cloud: CloudRepository) -> None:
    """Serving reads Redis through ``OnlineStore.online_read`` per view: the same values and types as Feast's own call."""
    from bento_services.fraud_scoring.online_features import OnlineFeatures
    from bento_services.fraud_scoring.schemas import EXAMPLE_INPUT, TransactionIn
    from features.aggregations import MERCHANT_FEATURES, RECENT_EVENT_COLUMNS, customer_features_at

    online = OnlineFeatures(cloud.store, FRAUD_MODEL_FEATURE_SERVICE)
    labelled = cloud.local_tables[TRANSACTIONS_FILE].head(12)
    pairs = [*zip(labelled["customer_id"], labelled["merchant_id"], strict=True), ("c999999", "m9999")]
    items = [TransactionIn(**{**EXAMPLE_INPUT["transactions"][0], "customer_id": c, "merchant_id": m}) for c, m in pairs]
    expected = cloud.store.get_online_features(
        features=online.service, entity_rows={"customer_id": [c for c, _ in pairs], "merchant_id": [m for _, m in pairs]},
    ).to_dict()
    found = online.lookup(items, [c for c, _ in pairs])  # the stored keys are the pseudonyms already
    assert not online.reads_in_process
    for i, (item, transaction) in enumerate(zip(found, items, strict=True)):
        recent = {name: expected[name][i] for name in RECENT_EVENT_COLUMNS}
        want = {**customer_features_at(recent, transaction.event_timestamp),
                **{name: expected[name][i] for name in MERCHANT_FEATURES}}
        assert item.values == want
        assert {name: type(v) for name, v in item.values.items()} == {name: type(v) for name, v in want.items()}
    assert found[-1].unknown_entities == ["customer", "merchant"] and not any(f.unknown_entities for f in found[:-1])


def test_a_new_stream_state_is_seeded_from_the_s3_transactions_inside_the_windows(cloud: CloudRepository) -> None:
    """What a new ingestor in the cloud starts its windows from: the S3 table's rows since the retention."""
    from features.ingest.seeding import recorded_entries_since

    labelled = cloud.local_tables[TRANSACTIONS_FILE]
    since = (labelled["event_timestamp"].max() - pd.Timedelta(days=3)).to_pydatetime()
    recorded, source = recorded_entries_since(cloud.env, since, cloud.settings)
    assert source == f"s3://{BUCKET}/offline/{TRANSACTIONS_FILE}"
    inside = labelled[labelled["event_timestamp"] >= since]
    assert sorted((customer, entry[2]) for customer, entry in recorded) == sorted(zip(inside["customer_id"], inside["transaction_id"]))
    assert 0 < len(recorded) < len(labelled)


def test_without_an_s3_transactions_table_a_new_stream_state_starts_empty_and_says_so(cloud: CloudRepository) -> None:
    import boto3

    from features.ingest.seeding import NO_RECORDED_TRANSACTIONS, recorded_entries_since

    empty = "sahab-smb-data-empty"
    boto3.client("s3", endpoint_url=cloud.moto_url, region_name=REGION).create_bucket(
        Bucket=empty, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings = dataclasses.replace(cloud.settings, data_bucket=empty)
    assert recorded_entries_since(cloud.env, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), settings) == ([], NO_RECORDED_TRANSACTIONS)


def test_bad_optional_settings_are_refused_together_naming_their_variables() -> None:
    from environments.errors import ConfigError

    with pytest.raises(ConfigError, match=r"(?s)2 problems.*SAHAB_S3_ENDPOINT_URL.*127.0.0.1:9000.*SAHAB_REDIS_CA_FILE"):
        CloudStoreSettings.from_environ({"SAHAB_DATA_BUCKET": "b", "SAHAB_ONLINE_STORE_ENDPOINT": "r",
                                         "SAHAB_S3_ENDPOINT_URL": "127.0.0.1:9000", "SAHAB_REDIS_CA_FILE": "/a,b.pem"})


def test_the_s3_filesystem_refuses_s3fs_options_it_cannot_honour() -> None:
    from features.s3_filesystem import ArrowS3FileSystem

    with pytest.raises(ValueError, match=r"\['client_kwargs.verify', 'requester_pays'\]"):
        ArrowS3FileSystem(requester_pays=True, client_kwargs={"verify": False}, skip_instance_cache=True)


def test_a_conflicting_feast_endpoint_variable_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from features.store import feature_store_for
    from environments.errors import ConfigError

    monkeypatch.setenv("FEAST_S3_ENDPOINT_URL", "http://127.0.0.1:1")
    settings = CloudStoreSettings("b", "r", s3_endpoint_url="http://127.0.0.1:2")
    env = load_environment("smb").model_copy(update={"data_dir": str(tmp_path / "{name}")})
    with pytest.raises(ConfigError, match="FEAST_S3_ENDPOINT_URL"):
        feature_store_for(env, settings)


def test_without_the_token_variable_the_store_reads_the_redis_token_from_its_secret(
    cloud: CloudRepository, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a pod does: no token in its environment, GetSecretValue under its role, the secret the stack made."""
    import boto3

    from environments import names
    from features.store import REDIS_AUTH_TOKEN_VARIABLE, feature_store_for

    secret = names.auth_token_secret(cloud.env.resource_name(names.ONLINE_STORE))
    boto3.client("secretsmanager", endpoint_url=moto_url, region_name=REGION).create_secret(Name=secret, SecretString=REDIS_TOKEN)
    monkeypatch.delenv(REDIS_AUTH_TOKEN_VARIABLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url)
    store = feature_store_for(cloud.env, cloud.settings)
    customers = latest_rows(cloud.local_tables[CUSTOMER_TRANSACTIONS_FILE], "customer_id")
    customer = customers.index[0]
    rows = store.get_online_features(features=store.get_feature_service(FRAUD_MODEL_FEATURE_SERVICE),
                                     entity_rows=[{"customer_id": customer, "merchant_id": "m0001"}]).to_dict()
    assert rows["recent_events"] == [customers.loc[customer, "recent_events"]]  # Redis took the token from the secret
    assert os.environ[REDIS_AUTH_TOKEN_VARIABLE] == REDIS_TOKEN


def test_without_the_token_variable_or_a_readable_secret_the_store_says_which_secret_and_the_fix(
    cloud: CloudRepository, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.store import REDIS_AUTH_TOKEN_VARIABLE, feature_store_for

    env = cloud.env.model_copy(update={"name": "nosecret", "tags": {**cloud.env.tags, "environment": "nosecret"}})
    monkeypatch.delenv(REDIS_AUTH_TOKEN_VARIABLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url)
    with pytest.raises(CommandFailed, match=r"cannot read the Redis AUTH token from the secret 'sahab-nosecret-online/auth-token'"):
        feature_store_for(env, cloud.settings)


# ---- erasure in the cloud stores (last: these change the shared stores) ---------------------------

def test_erasure_removes_one_customer_from_redis_and_every_s3_table_and_no_one_else(cloud: CloudRepository) -> None:
    """The Redis hash of the customer goes, the S3 parquet files holding them are rewritten (still SSE-KMS under
    the bucket's key), files and customers that do not hold them are untouched."""
    import boto3

    from features.aggregations import RECENT_EVENT_COLUMNS
    from features.names import CUSTOMER_TRANSACTIONS_VIEW
    from features.offline_rows import CUSTOMER_TABLES, remove_rows, rows_of_customer
    from features.online_erasure import erase_online
    from features.store import read_offline_table

    customers = latest_rows(cloud.local_tables[CUSTOMER_TRANSACTIONS_FILE], "customer_id").index.tolist()
    erased, kept = customers[0], customers[1:6]
    view = [f"{CUSTOMER_TRANSACTIONS_VIEW}:{name}" for name in RECENT_EVENT_COLUMNS]
    before = cloud.store.get_online_features(features=view, entity_rows=[{"customer_id": c} for c in kept]).to_dict()
    s3 = boto3.client("s3", endpoint_url=cloud.moto_url, region_name=REGION)
    merchants_etag = s3.head_object(Bucket=BUCKET, Key=f"offline/{MERCHANT_RISK_FILE}")["ETag"]
    tables = CUSTOMER_TABLES[:2]  # the drift table is not uploaded here
    originals = {table: read_offline_table(cloud.env, table, cloud.settings) for table in tables}  # earlier tests add rows

    assert erase_online(cloud.store, erased) == 1
    rewritten = remove_rows(cloud.env, rows_of_customer(erased), cloud.settings)

    after = cloud.store.get_online_features(features=view, entity_rows=[{"customer_id": erased}, *[{"customer_id": c} for c in kept]]).to_dict()
    assert all(after[name][0] is None for name in RECENT_EVENT_COLUMNS)
    assert {name: after[name][1:] for name in before} == before
    for table, original in originals.items():
        remaining = read_offline_table(cloud.env, table, cloud.settings)
        assert erased not in set(remaining["customer_id"])
        pd.testing.assert_frame_equal(remaining.sort_values(list(remaining.columns), ignore_index=True),
                                      original[original["customer_id"] != erased].sort_values(list(original.columns), ignore_index=True))
    assert sum(f.removed for f in rewritten) == sum((originals[t]["customer_id"] == erased).sum() for t in tables) > 0
    for f in rewritten:
        head = s3.head_object(Bucket=BUCKET, Key=f.path.removeprefix(f"{BUCKET}/"))
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(cloud.kms_key_arn.split("/")[-1])
    assert s3.head_object(Bucket=BUCKET, Key=f"offline/{MERCHANT_RISK_FILE}")["ETag"] == merchants_etag
    assert erase_online(cloud.store, erased) == 0 and remove_rows(cloud.env, rows_of_customer(erased), cloud.settings) == []

"""``sahab data prune`` and ``sahab data erase`` on this machine, through the real entry point: what each store
loses, what it keeps, the audit record, and that the raw id is never printed or recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bento_services.prediction_log import JsonlPredictionSink, PredictionRecord, read_predictions
from environments import Environment, parse_environment
from features.names import CUSTOMER_TRANSACTIONS_FILE, DRIFT_TRANSACTIONS_FILE, MERCHANT_RISK_FILE, TRANSACTIONS_FILE
from features.pseudonyms import pseudonymiser_for
from infra.privacy.audit import audit_path, read_records
from infra.privacy.retention import prune
from training.data.offline import offline_dir, write_drift_transactions, write_offline_store

SAHAB = Path(sys.executable).parent / "sahab"
TABLES = (TRANSACTIONS_FILE, CUSTOMER_TRANSACTIONS_FILE, DRIFT_TRANSACTIONS_FILE)


def small_environment(data_dir: Path, **privacy: int) -> dict:
    return {
        "name": "privacy", "target": "local", "region": "me-central-1", "data_dir": str(data_dir),
        "tags": {"owner": "o", "cost-centre": "c", "data-classification": "internal", "environment": "privacy"},
        "data": {"customers": 40, "merchants": 10, "days": 8, "seed": 5},
        "privacy": privacy,
    }


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Environment, Path]:
    """Offline tables and a prediction log for 40 customers (half of it logged 200 days before the data's last
    day, half on it); the environment file."""
    raw = small_environment(tmp_path / "data")
    env = parse_environment(raw)
    dataset = write_offline_store(env)
    write_drift_transactions(env)
    sink = JsonlPredictionSink(env.paths.predictions)
    pseudonym = pseudonymiser_for(env)
    sink.write([record(i, pseudonym(f"c{i % 40:06d}"), dataset.end - timedelta(days=200 if i % 2 else 0)) for i in range(80)])
    sink.close()
    path = tmp_path / "privacy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return env, path


def record(i: int, customer: str, at: datetime) -> PredictionRecord:
    return PredictionRecord(transaction_id=f"t{i}", customer_id=customer, merchant_id="m0001", variant="a",
                            model_version="v1", score=0.1, latency_ms=1.0, features={"amount_aed": 1.0}, ts=at.isoformat())


def tables(env: Environment) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(offline_dir(env) / name) for name in (*TABLES, MERCHANT_RISK_FILE)}


def sahab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SAHAB), *args], capture_output=True, text=True, input=stdin, timeout=300,
                          env={**os.environ, "COLUMNS": "250"})


def test_prune_removes_exactly_what_is_past_each_retention_and_records_it(stores) -> None:
    env, _ = stores
    before = tables(env)
    now = before[TRANSACTIONS_FILE]["event_timestamp"].max().to_pydatetime() + timedelta(days=3)
    short = env.model_copy(update={"privacy": env.privacy.model_copy(update={"offline_days": 6, "prediction_log_days": 30})})

    removed, audit = prune(short, requested_by="ops", now=now)

    cutoff = pd.Timestamp(now - timedelta(days=6))
    after = tables(env)
    for name in TABLES:
        assert after[name]["event_timestamp"].min() >= cutoff
        assert len(after[name]) == (before[name]["event_timestamp"] >= cutoff).sum() > 0
    assert after[MERCHANT_RISK_FILE].equals(before[MERCHANT_RISK_FILE])  # no customer in it: untouched
    assert len(read_predictions(env.paths.predictions)) == 40  # the 200-day-old half went, today's stayed
    by_store = {store.store: store.removed for store in removed}
    assert by_store["prediction log"] == 40
    assert by_store["offline tables"] == sum(len(before[n]) - len(after[n]) for n in TABLES) > 0
    assert read_records(env)[-1]["kind"] == "prune" and audit == audit_path(env)


def test_prune_with_the_defaults_keeps_five_years_of_tables_and_90_days_of_log_through_the_cli(stores) -> None:
    env, env_file = stores
    before = tables(env)
    result = sahab("data", "prune", "--env", str(env_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline tables: 0 removed" in result.stdout and "prediction log: 80 removed" in result.stdout  # > 90 days
    assert all(tables(env)[name].equals(before[name]) for name in TABLES)


def test_erase_without_a_running_broker_removes_the_customer_everywhere_and_records_no_raw_id(stores) -> None:
    from features.store import apply, feature_store_for, materialize

    env, env_file = stores
    apply(env)
    materialize(env)
    (env.paths.streaming / "ingestor" / "replica-0").mkdir(parents=True)  # a stopped replica's leftover state
    pseudonym = pseudonymiser_for(env)("c000003")
    store = feature_store_for(env)
    others = [{"customer_id": pseudonymiser_for(env)(f"c{i:06d}")} for i in range(4, 10)]
    features_before = store.get_online_features(features=["customer_transactions:recent_events"], entity_rows=others).to_dict()
    before = tables(env)

    result = sahab("data", "erase", "--env", str(env_file), "--reference", "case-1", stdin="c000003\n")  # the prompt

    assert result.returncode == 0, result.stdout + result.stderr
    assert "c000003" not in result.stdout and pseudonym in result.stdout
    after = tables(env)
    for name in TABLES:
        assert pseudonym not in set(after[name]["customer_id"])
        assert len(after[name]) == len(before[name]) - (before[name]["customer_id"] == pseudonym).sum()
    assert pseudonym not in set(read_predictions(env.paths.predictions)["customer_id"])
    online = store.get_online_features(features=["customer_transactions:recent_events"],
                                       entity_rows=[{"customer_id": pseudonym}, *others]).to_dict()
    assert online["recent_events"][0] is None and online["recent_events"][1:] == features_before["recent_events"]
    assert not (env.paths.streaming / "ingestor" / "replica-0").exists()
    record = read_records(env)[-1]
    assert (record["kind"], record["pseudonym"], record["reference"]) == ("erasure", pseudonym, "case-1")
    assert {s["store"]: s["removed"] > 0 for s in record["stores"]} == {
        "stream state": True, "online store": True, "offline tables": True, "prediction log": True}
    assert record["models_trained_before"] == [] and "c000003" not in audit_path(env).read_text()


def test_erase_of_a_cloud_environment_without_its_stores_settings_is_refused_naming_them(tmp_path: Path) -> None:
    result = sahab("data", "erase", "--env", "smb", "--customer", "c000001")
    assert result.returncode == 2
    assert "SAHAB_DATA_BUCKET" in result.stderr and "c000001" not in result.stderr

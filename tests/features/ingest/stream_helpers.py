"""Helpers of the streaming suite: test environments, the Feast store, and what the online store must
hold, computed from the events a test produced (not through the ingestor)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from features.ingest.connection import KafkaConnection
from features.ingest.events import TransactionEventV1
from environments import Environment, load_environment

#: Low, so a consumer group forms in about a second (Tansu takes ~half the session timeout to assign).
TEST_SESSION_TIMEOUT_MS = 2000
#: A small population, so that each customer gets several events and windows really aggregate.
TEST_CUSTOMERS = 300


def make_environment(data_dir: Path, **streaming: Any) -> Environment:
    """The local environment with its data under ``data_dir`` and its own topics and group."""
    base = load_environment("local")
    suffix = uuid.uuid4().hex[:8]
    streaming = {
        "topic": f"transactions-{suffix}",
        "dlq_topic": f"transactions-{suffix}.dlq",
        "consumer_group": f"ingestor-{suffix}",
        "session_timeout_ms": TEST_SESSION_TIMEOUT_MS,
        **streaming,
    }
    return base.model_copy(
        update={
            "data_dir": str(data_dir),
            "data": base.data.model_copy(update={"customers": TEST_CUSTOMERS}),
            "streaming": base.streaming.model_copy(update=streaming),
        }
    )


def write_environment_file(env: Environment, folder: Path) -> Path:
    """The environment as a YAML file, for running the real ``sahab`` command against it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{env.name}.yaml"
    path.write_text(yaml.safe_dump(env.model_dump(mode="json", exclude_none=True)))
    return path


@dataclass
class StreamWorld:
    """A test's environment (pointing at the shared broker) and its applied Feast store."""

    env: Environment
    store: Any

    @property
    def connection(self) -> KafkaConnection:
        return KafkaConnection(bootstrap_servers=self.env.streaming.bootstrap_servers)


def feature_store_with_definitions(env: Environment) -> Any:
    """Apply the ML plane's Feast repository for ``env`` and return its store."""
    from features.store import apply, feature_store_for

    apply(env)
    return feature_store_for(env)


# ---- what the online store must hold --------------------------------------------------------------

def expected_online_features(events: Sequence[TransactionEventV1]) -> dict[str, dict[str, list]]:
    """Per customer, the stored row as of their latest event over *each distinct event once*, computed
    straight from the produced events by ``features.aggregations`` (not through the ingestor)."""
    from features.ingest import rolling
    from features.ingest.history import entry_of

    by_customer: dict[str, dict[str, TransactionEventV1]] = defaultdict(dict)
    for event in events:
        by_customer[event.customer_id][event.event_id] = event
    expected = {}
    for customer_id, unique in by_customer.items():
        history = sorted((entry_of(event) for event in unique.values()), key=lambda entry: entry[0])
        expected[customer_id] = rolling.row_as_of(history, history[-1][0])
    return expected


def pseudonymiser_of(store: Any) -> Any:
    """The pseudonymiser of the environment whose local feature store this is (its data folder's key)."""
    from features.pseudonyms import LOCAL_KEY_FILE, LocalMacKey, Pseudonymiser

    return Pseudonymiser(LocalMacKey(Path(store.repo_path).parent / "keys" / LOCAL_KEY_FILE))


def online_features(store: Any, customer_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    """What the Feast online store returns for these (raw) customers, feature by feature: read by pseudonym."""
    from features.ingest import rolling

    pseudonyms = pseudonymiser_of(store).many(customer_ids)
    frame = store.get_online_features(
        features=[f"customer_transactions:{name}" for name in rolling.FEATURE_NAMES],
        entity_rows=[{"customer_id": pseudonym} for pseudonym in pseudonyms],
    ).to_df()
    raw = dict(zip(pseudonyms, customer_ids, strict=True))
    return {
        raw[row["customer_id"]]: {name: row[name] for name in rolling.FEATURE_NAMES}
        for row in frame.to_dict("records")
    }


def assert_online_store_holds(store: Any, events: Sequence[TransactionEventV1], *, compare_times: bool = True) -> None:
    """Every customer's online row equals the one computed from the distinct valid events (the same events, in
    the same order; with ``compare_times`` off, their amounts and flags but not their times)."""
    from features.aggregations import RECENT_EVENTS, unpack_events

    def comparable(row: dict) -> object:
        events = unpack_events(row[RECENT_EVENTS])
        return events.tolist() if compare_times else events[["amount_aed", "flags"]].tolist()

    expected = expected_online_features(events)
    actual = online_features(store, sorted(expected))
    mismatched = {
        customer_id: (comparable(actual[customer_id]), comparable(row))
        for customer_id, row in expected.items()
        if actual[customer_id][RECENT_EVENTS] is None or comparable(actual[customer_id]) != comparable(row)
    }
    assert not mismatched, f"{len(mismatched)} of {len(expected)} customers differ, e.g. {next(iter(mismatched.items()))}"

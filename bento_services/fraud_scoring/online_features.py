"""Features of a transaction's entities from the Feast online store at the transaction's time; unknown ids are flagged.

The customer's row holds their recent events, not features: the features are computed per transaction at its
``event_timestamp`` by ``features.aggregations.customer_features_at``, the function training calls on the
point-in-time rows, so serving and training compute them with the same code. Events at or after the
transaction's time never count (a transaction the stream ingested before it was scored does not count itself).

The model's feature service (its name travels in the signed manifest) is resolved once, at
start-up, into one read per feature view: the view, its join key and the features the service
takes from it. A batch then costs one ``OnlineStore.online_read`` per feature view (Feast's online
store interface, the call ``FeatureStore.get_online_features`` makes underneath), over the
batch's distinct entity ids. Measured on SQLite, one transaction: p50 0.33 ms against 0.72 ms
through ``get_online_features``, whose registry lookups and response protobufs were the difference;
on Redis the network round trips dominate and the two are within noise (``bench/serving.py``, (d)). The values are converted exactly as ``OnlineResponse.to_dict`` does.

Feast answers nothing for an entity id it has never materialised (a new card, a new shop). Such
an entity is reported in the response's ``unknown_entities``. A customer's features are then those of
an empty history, exactly as training computes a customer's first transaction; a merchant's stay
``None``, and the model's own preprocessing (``training.preprocessing``) applies the documented
defaults it was trained with and sets ``merchant_history_missing`` so the model knows:

| entity unknown | features become                                                          |
|----------------|--------------------------------------------------------------------------|
| customer       | an empty history: every ``txn_count_*`` / ``amount_*`` feature 0, ``seconds_since_previous_txn`` 7 days (as training reads a first transaction) |
| merchant       | ``merchant_fraud_rate_30d`` = the prior 0.02, ``merchant_txn_count_7d`` 0, ``merchant_history_missing`` = 1 |

A request may override any feature by name; an override wins over the store. Feature views are
read as registered when the service started: re-applying the repository needs a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bento_services.fraud_scoring.schemas import TransactionIn
from features.aggregations import RECENT_EVENT_COLUMNS, customer_features_at
from features.pseudonyms import CUSTOMER_ID


@dataclass(frozen=True)
class EntityFeatures:
    """Which entity (by Feast entity name, without ``_id``) owns which features: reported when all are absent."""

    entity: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class ViewRead:
    """One online read per batch: a feature view as the service projects it, read by its join key."""

    view: Any  # feast.FeatureView, with the feature service's projection
    join_key: str
    join_key_type: Any  # feast.ValueType of the join key
    features: tuple[str, ...]
    value_types: dict[str, Any]  # feature name -> feast.ValueType, as OnlineResponse.to_dict converts them


@dataclass
class ItemFeatures:
    """The stored features of one transaction's entities, after defaults and overrides."""

    values: dict[str, float | None]
    unknown_entities: list[str] = field(default_factory=list)


class OnlineFeatures:
    """Reads the model's feature service for a batch of transactions from a ``feast.FeatureStore``'s online store."""

    def __init__(self, store: Any, feature_service: str, *, read_timeout_ms: int = 100) -> None:
        from feast.infra.online_stores.helpers import get_online_store_from_config
        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        self.store = store
        self.read_timeout_s = read_timeout_ms / 1000.0
        self.service = store.get_feature_service(feature_service)
        self.reads = self._view_reads()
        self.groups = self._entity_groups()
        self.feature_names = [name for group in self.groups for name in group.features]
        self.online_store = get_online_store_from_config(store.config.online_store)
        #: SQLite is read inside this process (sub-millisecond, no waiting on a network); any other store is not.
        self.reads_in_process = isinstance(self.online_store, SqliteOnlineStore)
        if self.reads_in_process:
            # A writer holding the file's lock makes a read wait up to SQLite's busy timeout (Python's default: 5 s,
            # on the event loop); bound it. Feast opens one connection per store object and keeps it (``_get_conn``).
            connection = self.online_store._get_conn(store.config)  # noqa: SLF001 - the store's own connection
            connection.execute(f"PRAGMA busy_timeout = {read_timeout_ms:d}")
        elif store.config.online_store.type == "redis":
            # Redis: the same bound on every socket operation of the serving client (Feast keeps one client).
            client = self.online_store._get_client(store.config.online_store)  # noqa: SLF001 - the store's own client
            client.connection_pool.connection_kwargs.update(
                socket_timeout=self.read_timeout_s, socket_connect_timeout=self.read_timeout_s
            )

    def probe(self) -> None:
        """One bounded read of every view (``/readyz``); raises when the store cannot answer."""
        for read in self.reads:
            self._read(read, ["readiness-probe"])

    def _view_reads(self) -> list[ViewRead]:
        """One read per view of the service; refuses at start-up what ``get_online_features`` would treat otherwise."""
        if getattr(self.service, "precompute_online", False):
            raise ValueError(f"feature service '{self.service.name}' is precomputed online; serving reads its "
                             "feature views directly, so turn precompute_online off for it")
        reads = []
        for projection in self.service.feature_view_projections:
            view = self.store.get_feature_view(projection.name)
            if not view.online or not getattr(view, "enabled", True):
                raise ValueError(f"feature view '{view.name}' is not served online (online or enabled is false); "
                                 f"the model's feature service '{self.service.name}' needs it online")
            if len(view.entity_columns) != 1:
                raise ValueError(f"feature view '{view.name}' must have exactly one entity to be served by id")
            if projection.join_key_map:
                raise ValueError(f"feature service '{self.service.name}' renames the join keys of '{view.name}' "
                                 f"({projection.join_key_map}); serving reads a view by its own join key")
            names = tuple(f.name for f in projection.features)
            reads.append(ViewRead(
                view=view.with_projection(projection), join_key=view.entity_columns[0].name,
                join_key_type=view.entity_columns[0].dtype.to_value_type(), features=names,
                value_types={f.name: f.dtype.to_value_type() for f in view.features if f.name in names},
            ))
        return reads

    def _entity_groups(self) -> list[EntityFeatures]:
        groups: dict[str, EntityFeatures] = {}
        for read in self.reads:
            entity = read.view.entities[0] if read.view.entities else read.join_key
            known = groups.get(read.join_key)
            groups[read.join_key] = EntityFeatures(
                entity=entity.removesuffix("_id"), features=(known.features if known else ()) + read.features,
            )
        return list(groups.values())

    def lookup(self, transactions: Sequence[TransactionIn], customers: Sequence[str]) -> list[ItemFeatures]:
        """Features for each transaction, in order; one online-store read per feature view for the whole batch.

        ``customers`` are the transactions' customer pseudonyms (``features.pseudonyms``): the store is keyed by
        them, and a request's raw ``customer_id`` is never used to read it."""
        stored: dict[str, list[Any]] = {}
        for read in self.reads:
            ids = list(customers) if read.join_key == CUSTOMER_ID else [getattr(t, read.join_key) for t in transactions]
            stored.update(self._read(read, ids))
        items = []
        for i, transaction in enumerate(transactions):
            values: dict[str, float | None] = {}
            unknown: list[str] = []
            for group in self.groups:
                found = {name: stored[name][i] for name in group.features}
                if all(v is None for v in found.values()):
                    unknown.append(group.entity)
                values.update(found)
            values.update(features_at(values, transaction))
            values.update(transaction.features)
            items.append(ItemFeatures(values, unknown))
        return items

    def _read(self, read: ViewRead, entity_ids: list[Any]) -> dict[str, list[Any]]:
        """One view's features for each id (``None`` for an id the store does not hold), columns by name."""
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.type_map import feast_value_type_to_python_type, python_values_to_proto_values

        distinct = list(dict.fromkeys(entity_ids))  # a batch often holds one shop many times: read it once
        keys = [EntityKey(join_keys=[read.join_key], entity_values=[value])
                for value in python_values_to_proto_values(distinct, read.join_key_type)]
        rows = self.online_store.online_read(config=self.store.config, table=read.view, entity_keys=keys,
                                             requested_features=list(read.features))
        by_id: dict[Any, dict[str, Any]] = {}
        for entity_id, (_, values) in zip(distinct, rows, strict=True):
            by_id[entity_id] = {
                name: feast_value_type_to_python_type(values[name], read.value_types[name])
                if values is not None and name in values else None
                for name in read.features
            }
        return {name: [by_id[entity_id][name] for entity_id in entity_ids] for name in read.features}


def features_at(values: dict[str, Any], transaction: TransactionIn) -> dict[str, Any]:
    """Replace the stored recent events in ``values`` by the customer features at the transaction's time."""
    if not set(RECENT_EVENT_COLUMNS) <= values.keys():
        return {}
    return customer_features_at({name: values.pop(name) for name in RECENT_EVENT_COLUMNS}, transaction.event_timestamp)

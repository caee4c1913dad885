"""Features of a transaction's entities from the Feast online store; unknown ids are flagged.

One ``get_online_features`` call per batch (columnar entity rows), over the feature service the
model was trained on (its name travels in the signed manifest). Feast answers ``None`` for every
feature of an entity id it has never materialised (a new card, a new shop). Such an entity is
reported in the response's ``unknown_entities`` and its features stay ``None``: the model's own
preprocessing (``training.preprocessing``) then applies the documented defaults it was trained
with, and sets the ``*_history_missing`` input so the model knows:

| entity unknown | features become                                                          |
|----------------|--------------------------------------------------------------------------|
| customer       | every ``txn_count_*`` / ``amount_*`` aggregate 0, ``customer_history_missing`` = 1 |
| merchant       | ``merchant_fraud_rate_30d`` = the prior 0.02, ``merchant_txn_count_7d`` 0, ``merchant_history_missing`` = 1 |

A request may override any feature by name; an override wins over the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bento_services.fraud_scoring.schemas import TransactionIn


@dataclass(frozen=True)
class EntityFeatures:
    """Which entity (by Feast entity name) owns which features, and under which join key."""

    entity: str
    join_key: str
    request_field: str
    features: tuple[str, ...]


@dataclass
class ItemFeatures:
    """The stored features of one transaction's entities, after defaults and overrides."""

    values: dict[str, float | None]
    unknown_entities: list[str] = field(default_factory=list)


class OnlineFeatures:
    """Reads the model's feature service for a batch of transactions from a ``feast.FeatureStore``."""

    def __init__(self, store: Any, feature_service: str) -> None:
        self.store = store
        self.service = store.get_feature_service(feature_service)
        self.groups = self._entity_groups()
        self.feature_names = [name for group in self.groups for name in group.features]

    def _entity_groups(self) -> list[EntityFeatures]:
        groups: dict[str, EntityFeatures] = {}
        for projection in self.service.feature_view_projections:
            view = self.store.get_feature_view(projection.name)
            if len(view.entity_columns) != 1:
                raise ValueError(f"feature view '{view.name}' must have exactly one entity to be served by id")
            join_key = view.entity_columns[0].name
            names = tuple(f.name for f in projection.features)
            entity = view.entities[0] if view.entities else join_key
            known = groups.get(join_key)
            groups[join_key] = EntityFeatures(
                entity=entity.removesuffix("_id"), join_key=join_key, request_field=join_key,
                features=(known.features if known else ()) + names,
            )
        return list(groups.values())

    def lookup(self, transactions: Sequence[TransactionIn]) -> list[ItemFeatures]:
        """Features for each transaction, in order; one online-store read for the whole batch."""
        rows = {g.join_key: [getattr(t, g.request_field) for t in transactions] for g in self.groups}
        stored = self.store.get_online_features(features=self.service, entity_rows=rows).to_dict()
        items = []
        for i, transaction in enumerate(transactions):
            values: dict[str, float | None] = {}
            unknown: list[str] = []
            for group in self.groups:
                found = {name: stored[name][i] for name in group.features}
                if all(v is None for v in found.values()):
                    unknown.append(group.entity)
                values.update(found)
            values.update(transaction.features)
            items.append(ItemFeatures(values, unknown))
        return items

"""Removing one customer's rows from the Feast online store (SQLite locally, Redis/ElastiCache in the cloud).

Feast has no per-entity delete, so this removes the entity's key the way each store lays it out, with Feast's
own key functions (``serialize_entity_key``, ``_redis_key``): in SQLite one row per feature in each view's
table, keyed by the serialised entity key; in Redis one hash per entity key and project, holding every view's
features. Only views keyed by the customer are touched; merchants are business data.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from features.pseudonyms import CUSTOMER_ID


def erase_online(store: Any, pseudonym: str) -> int:
    """Delete the customer's online rows in every view keyed by customer; the number of rows (SQLite) or hashes
    (Redis) removed."""
    from feast.infra.online_stores.helpers import _redis_key, get_online_store_from_config
    from feast.infra.online_stores.redis import RedisOnlineStore
    from feast.infra.online_stores.sqlite import SqliteOnlineStore, _table_id
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    config = store.config
    online = get_online_store_from_config(config.online_store)
    key = EntityKey(join_keys=[CUSTOMER_ID], entity_values=[Value(string_val=pseudonym)])
    views = [view for view in store.list_feature_views() if CUSTOMER_ID in view.join_keys]
    if isinstance(online, SqliteOnlineStore):
        serialised = serialize_entity_key(key, entity_key_serialization_version=config.entity_key_serialization_version)
        removed = 0
        with sqlite3.connect(SqliteOnlineStore._get_db_path(config)) as connection:  # noqa: SLF001 - the store's own path rule
            for view in views:
                table = _table_id(config.project, view, config.registry.enable_online_feature_view_versioning)
                quoted = '"' + table.replace('"', '""') + '"'
                removed += connection.execute(f"DELETE FROM {quoted} WHERE entity_key = ?", (serialised,)).rowcount  # noqa: S608 - a quoted identifier
        return removed
    if isinstance(online, RedisOnlineStore):
        if not views:
            return 0
        client = online._get_client(config.online_store)  # noqa: SLF001 - the store's own client (TLS, AUTH as configured)
        return int(client.delete(_redis_key(config.project, key, config.entity_key_serialization_version)))
    raise NotImplementedError(f"erasure from a {type(online).__name__} online store is not implemented (SQLite, Redis are)")

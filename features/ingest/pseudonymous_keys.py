"""Re-key the stream by customer pseudonym before any state is touched, without a repartition topic.

Producers key each transaction by the raw customer id (``features.ingest.events``), which is what keeps a
customer's events in order on one partition. Quix Streams prefixes every state key, and so every changelog
record, with the message key: left as it is, the raw id would sit in RocksDB and in the changelog topic.
Replacing the key in the stream changes the prefix only; the partition stays the one the raw key chose, so
ordering and the per-partition state are as before.

Quix Streams 3.28 has no public ``set_key``; ``group_by`` would re-key the same way but through a
repartition topic (every event written to the broker and read back), so this adds the same transform that
``set_timestamp`` and the one-partition ``group_by`` add. ``tests/features/ingest`` reads the state store
and the changelog to prove no raw id is left in either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from features.ingest.erasure_requests import is_erasure_request


def keyed_by_pseudonym(sdf: Any, pseudonymise: Callable[[str], str]) -> Any:
    """``sdf`` with each message key replaced by the pseudonym of the id it carries (``None`` stays ``None``)."""

    def rekey(value: Any, key: bytes | None, timestamp: int, headers: Any) -> tuple[Any, bytes | None, int, Any]:
        if key is None or is_erasure_request(headers):  # an erasure request is keyed by the pseudonym already
            return value, key, timestamp, headers
        return value, pseudonymise(key.decode("utf-8", "replace")).encode(), timestamp, headers

    return sdf.__dataframe_clone__(stream=sdf.stream.add_transform(rekey, expand=False))

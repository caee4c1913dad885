"""The streaming side of the rolling customer features: a thin adapter over ``features.aggregations``.

The aggregate definitions (windows, counts, sums, means) live in one pure-Python module shared with
the batch generator, so streamed features and training features cannot diverge. This module defines
no feature; it fixes how much history the ingestor must keep for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from features import aggregations
from features.ingest.events import TransactionEventV1

#: Feature columns the stream writes, in the feature view's order.
FEATURE_NAMES: tuple[str, ...] = aggregations.CUSTOMER_FEATURES

#: How much of a customer's history the ingestor keeps: the longest window, plus a day so that a
#: late event (one whose time is before the customer's latest) still finds its own window complete.
RETENTION: timedelta = aggregations.LONGEST_WINDOW + timedelta(days=1)


def features_as_of(history: Sequence[TransactionEventV1], as_of: datetime) -> dict[str, float | int]:
    """A customer's features at ``as_of`` over their applied events (any order); later events are ignored."""
    return aggregations.customer_features_as_of(history, as_of)

"""The streaming side of the customer rows: a thin adapter over ``features.aggregations``.

The row definition (which recent events a row holds, and how features are computed from them at the
scoring instant) lives in one pure-Python module shared with the batch generator, training and serving,
so streamed rows and training rows cannot diverge. This module defines no feature; it fixes how much
history the ingestor must keep for them, and reads the history entries the ingestor's state stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from features import aggregations

#: Columns the stream writes, in the feature view's order (the customer's recent events).
FEATURE_NAMES: tuple[str, ...] = aggregations.RECENT_EVENT_COLUMNS

#: How much of a customer's history the ingestor keeps: what a stored row reaches back, plus a day so that a
#: late event (one whose time is before the customer's latest) still finds its own row complete.
RETENTION: timedelta = aggregations.RECENT_WINDOW + timedelta(days=1)


def row_as_of(history: Sequence[Sequence[Any]], as_of_us: int) -> dict[str, list]:
    """A customer's stored row at ``as_of_us`` from the state's history entries ``[µs, amount, event id, flags]``
    (sorted by time); later events are left out."""
    return aggregations.recent_events_as_of([(entry[0], entry[1], entry[3]) for entry in history], as_of_us)

"""The recorded transactions a new stream state starts from: the offline store's, inside the windows.

The ingestor's rolling windows must count a customer's recent history exactly as the batch rows
and training do, so a new state file is seeded with the labelled transactions of the offline store
(``transactions.parquet``) not older than the retention. Locally that is the parquet folder; in the
cloud it is ``s3://<data bucket>/offline/`` read with the settings from the environment variables
(``SAHAB_DATA_BUCKET`` and, for an emulator, ``SAHAB_S3_ENDPOINT_URL``), as training reads it. Only
the row groups inside the retention are fetched. No table yet means an empty history, said as such.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pandas as pd

from features.ingest.events import TransactionEventV1, event_from_record
from features.names import TIMESTAMP_FIELD, TRANSACTIONS_FILE
from features.store import CloudStoreSettings, cloud_settings, offline_store_uri, read_offline_table
from environments import Environment
from environments.errors import ConfigError

log = logging.getLogger(__name__)

#: The seed source recorded in the state when the offline store had no transactions table.
NO_RECORDED_TRANSACTIONS = "none"


def recorded_events_since(
    env: Environment, since: datetime, cloud: CloudStoreSettings | None = None
) -> tuple[list[TransactionEventV1], str]:
    """The offline store's transactions at or after ``since`` as stream events, and where they came from.

    A recorded row the event contract refuses is left out with a warning: the stream would refuse it too.
    """
    settings = cloud_settings(env, cloud)  # outside the try: bad SAHAB_* settings must fail, not seed nothing
    try:
        frame = read_offline_table(env, TRANSACTIONS_FILE, settings, filters=[(TIMESTAMP_FIELD, ">=", pd.Timestamp(since))])
    except ConfigError:  # read_offline_table's only ConfigError: no table yet, so nothing was recorded
        return [], NO_RECORDED_TRANSACTIONS
    events = []
    for record in frame.to_dict("records"):
        try:
            events.append(event_from_record(record))
        except ValueError as exc:
            log.warning("not seeding transaction %s: %s", record.get("transaction_id"), exc)
    return events, f"{offline_store_uri(env, settings)}/{TRANSACTIONS_FILE}"

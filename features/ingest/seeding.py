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

from features.aggregations import recent_event
from features.ingest.history import Entry
from features.names import TIMESTAMP_FIELD, TRANSACTIONS_FILE
from features.pseudonyms import CUSTOMER_ID, is_pseudonym
from features.store import CloudStoreSettings, cloud_settings, offline_store_uri, read_offline_table
from environments import Environment
from environments.errors import ConfigError

log = logging.getLogger(__name__)

#: The seed source recorded in the state when the offline store had no transactions table.
NO_RECORDED_TRANSACTIONS = "none"


def recorded_entries_since(
    env: Environment, since: datetime, cloud: CloudStoreSettings | None = None
) -> tuple[list[tuple[str, Entry]], str]:
    """The offline store's transactions at or after ``since`` as ``(customer pseudonym, history entry)`` pairs, and
    where they came from.

    A row whose customer is not a pseudonym is left out with a warning: the table was written around the edge
    (``features.pseudonyms``), and seeding a state with a raw id would store it.
    """
    settings = cloud_settings(env, cloud)  # outside the try: bad SAHAB_* settings must fail, not seed nothing
    try:
        frame = read_offline_table(env, TRANSACTIONS_FILE, settings, filters=[(TIMESTAMP_FIELD, ">=", pd.Timestamp(since))])
    except ConfigError:  # read_offline_table's only ConfigError: no table yet, so nothing was recorded
        return [], NO_RECORDED_TRANSACTIONS
    recorded = []
    skipped = 0
    for record in frame.to_dict("records"):
        if not is_pseudonym(record[CUSTOMER_ID]):
            skipped += 1
            continue
        moment, amount, flags = recent_event(record)
        recorded.append((record[CUSTOMER_ID], [moment, amount, str(record["transaction_id"]), flags]))
    if skipped:
        log.warning("not seeding %d recorded transactions whose customer is not a pseudonym: the offline table must be "
                    "written through features.pseudonyms", skipped)
    return recorded, f"{offline_store_uri(env, settings)}/{TRANSACTIONS_FILE}"

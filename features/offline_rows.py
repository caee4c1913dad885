"""Removing rows from the offline tables that hold customers: erasure of one customer, and retention.

The offline store is parquet (a local folder, or ``s3://<data bucket>/offline``), which cannot delete a row
in place: each file that holds a row to remove is read, filtered and written back whole (locally to a hidden
name, then renamed, so a reader sees the old file or the new one; on S3 a PUT is atomic). Files with nothing
to remove are not touched. ``merchant_risk`` holds no customer and is never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import fs

from features.names import CUSTOMER_TRANSACTIONS_FILE, DRIFT_TRANSACTIONS_FILE, TIMESTAMP_FIELD, TRANSACTIONS_FILE
from features.pseudonyms import CUSTOMER_ID
from features.store import CloudStoreSettings, cloud_settings, offline_store_uri
from environments import Environment

#: The offline tables keyed by customer (a file, or a folder of parquet files).
CUSTOMER_TABLES: tuple[str, ...] = (TRANSACTIONS_FILE, CUSTOMER_TRANSACTIONS_FILE, DRIFT_TRANSACTIONS_FILE)

#: Which rows of a table to remove: a boolean mask over the table's rows.
RowsToRemove = Callable[[pa.Table], pa.ChunkedArray]


@dataclass(frozen=True)
class RewrittenFile:
    """One file that held rows to remove: where, how many went and how many stayed."""

    path: str
    removed: int
    kept: int


def rows_of_customer(pseudonym: str) -> RowsToRemove:
    return lambda table: pc.equal(table[CUSTOMER_ID], pseudonym)


def rows_before(cutoff: datetime) -> RowsToRemove:
    """Rows whose ``event_timestamp`` is before ``cutoff`` (an aware datetime)."""
    return lambda table: pc.less(table[TIMESTAMP_FIELD], pa.scalar(cutoff, type=table.schema.field(TIMESTAMP_FIELD).type))


def remove_rows(env: Environment, remove: RowsToRemove, cloud: CloudStoreSettings | None = None) -> list[RewrittenFile]:
    """Rewrite every file of ``CUSTOMER_TABLES`` that holds rows ``remove`` selects, without them."""
    filesystem, base = _offline_filesystem(env, cloud)
    rewritten = []
    for table_name in CUSTOMER_TABLES:
        for path in _parquet_files(filesystem, f"{base}/{table_name}"):
            table = pq.read_table(path, filesystem=filesystem)
            mask = remove(table).fill_null(False)
            removed = pc.sum(mask).as_py() or 0
            if removed:
                kept = table.filter(pc.invert(mask))
                _replace(filesystem, path, kept, local=cloud_settings(env, cloud) is None)
                rewritten.append(RewrittenFile(path=path, removed=removed, kept=kept.num_rows))
    return rewritten


def _offline_filesystem(env: Environment, cloud: CloudStoreSettings | None) -> tuple[fs.FileSystem, str]:
    settings = cloud_settings(env, cloud)
    uri = offline_store_uri(env, settings)
    if settings is None:
        return fs.LocalFileSystem(), uri
    return fs.S3FileSystem(region=env.region, endpoint_override=settings.s3_endpoint_url), uri.removeprefix("s3://")


def _parquet_files(filesystem: fs.FileSystem, path: str) -> list[str]:
    """The table's file, or the visible parquet files of its folder (readers skip names starting with '.')."""
    info = filesystem.get_file_info(path)
    if info.type == fs.FileType.File:
        return [path]
    if info.type != fs.FileType.Directory:
        return []
    found = filesystem.get_file_info(fs.FileSelector(path, recursive=False))
    return sorted(f.path for f in found if f.type == fs.FileType.File and f.base_name.endswith(".parquet")
                  and not f.base_name.startswith((".", "_")))


def _replace(filesystem: fs.FileSystem, path: str, table: pa.Table, *, local: bool) -> None:
    if not local:
        pq.write_table(table, path, filesystem=filesystem)  # one PUT: atomic
        return
    folder, _, name = path.rpartition("/")
    spare = f"{folder}/.{name}.rewrite"
    pq.write_table(table, spare, filesystem=filesystem)
    filesystem.move(spare, path)

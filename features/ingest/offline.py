"""Streamed feature rows into the offline store: one parquet file per input partition and checkpoint.

The offline table ``customer_transactions.parquet`` is a folder (a parquet dataset): ``batch.parquet``
from the batch generator, plus the stream's files, each written by the replica that owns the input
partition at that moment and named after it:

    stream-<topic>-p<partition>-o<first offset of the checkpoint>.parquet

No replica ever writes another's file, so N replicas never overwrite each other's rows. A checkpoint's
file is written before its offsets are committed; if the commit never happens (a crash, a failed online
write), the partition is read again from the committed offset by whichever replica owns it next, and
that replay starts at the same first offset: the new file replaces the old one of the same name, and any
file of that partition at a later offset (an uncommitted attempt that got further) is removed first. So
each committed event has exactly one offline row: nothing lost, nothing doubled.

Locally the file appears by rename (a reader sees all of it or none); on S3 a PUT is atomic. Feast and
training read the whole folder (``pyarrow`` and ``dask`` datasets skip names starting with ``.``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from features.aggregations import RECENT_EVENT_SPECS
from features.names import TIMESTAMP_FIELD

ENTITY_COLUMN = "customer_id"

_ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}

#: The columns of every customer row, in order: the stream's files and the batch generator's use it alike.
OFFLINE_SCHEMA = pa.schema(
    [
        pa.field(ENTITY_COLUMN, pa.string()),
        pa.field(TIMESTAMP_FIELD, pa.timestamp("us", tz="UTC")),
        *(pa.field(spec.name, _ARROW_TYPES[spec.dtype]) for spec in RECENT_EVENT_SPECS),
    ]
)

_PART = re.compile(r"^stream-(?P<topic>.+)-p(?P<partition>\d+)-o(?P<offset>\d+)\.parquet$")


def part_name(topic: str, partition: int, start_offset: int) -> str:
    return f"stream-{topic}-p{partition:04d}-o{start_offset:020d}.parquet"


class PartitionFileSink:
    """Writes one checkpoint's offline rows of one input partition (see the module docstring)."""

    def __init__(self, folder: str, filesystem: fs.FileSystem) -> None:
        self.folder = folder.rstrip("/")
        self.filesystem = filesystem

    def write(self, topic: str, partition: int, start_offset: int, rows: Sequence[Mapping[str, Any]]) -> int:
        """Replace this partition's uncommitted files from ``start_offset`` on with one file of ``rows``."""
        self.filesystem.create_dir(self.folder, recursive=True)
        for stale in self._parts_from(topic, partition, start_offset):
            self.filesystem.delete_file(stale)
        if not rows:
            return 0
        table = offline_table(rows)
        final = f"{self.folder}/{part_name(topic, partition, start_offset)}"
        if isinstance(self.filesystem, fs.LocalFileSystem):
            temporary = f"{self.folder}/.{part_name(topic, partition, start_offset)}.tmp"
            pq.write_table(table, temporary, filesystem=self.filesystem)
            self.filesystem.move(temporary, final)
        else:
            pq.write_table(table, final, filesystem=self.filesystem)
        return table.num_rows

    def _parts_from(self, topic: str, partition: int, start_offset: int) -> list[str]:
        selector = fs.FileSelector(self.folder, allow_not_found=True)
        stale = []
        for info in self.filesystem.get_file_info(selector):
            match = _PART.match(info.base_name)
            if (
                match
                and match["topic"] == topic
                and int(match["partition"]) == partition
                and int(match["offset"]) >= start_offset
            ):
                stale.append(info.path)
        return stale


def offline_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows (timestamps as datetimes) as a table of ``OFFLINE_SCHEMA``."""
    frame = pd.DataFrame(list(rows), columns=OFFLINE_SCHEMA.names)
    frame[TIMESTAMP_FIELD] = pd.to_datetime(frame[TIMESTAMP_FIELD], utc=True).dt.as_unit("us")
    return pa.Table.from_pandas(frame, schema=OFFLINE_SCHEMA, preserve_index=False)


def sink_for_source(
    path: str, *, repo_path: str, region: str | None = None, s3_endpoint_override: str | None = None
) -> PartitionFileSink:
    """The sink for a feature view's batch source path: a local folder (relative to the repository) or ``s3://``.

    ``region`` pins S3 requests to the environment's regional endpoint (never the global one)."""
    if path.startswith("s3://"):
        filesystem = fs.S3FileSystem(region=region, endpoint_override=s3_endpoint_override)
        return PartitionFileSink(path.removeprefix("s3://"), filesystem)
    if "://" in path:
        raise ValueError(f"the offline source {path!r} is neither a local folder nor s3://: the stream cannot write to it")
    folder = path if path.startswith("/") else f"{repo_path.rstrip('/')}/{path}"
    return PartitionFileSink(folder, fs.LocalFileSystem())

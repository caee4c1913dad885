"""Search every store a Sahab data folder holds for customer ids or pseudonyms, reading each in its own format.

A byte search would miss ids inside compressed parquet pages or RocksDB blocks, so each store is opened with
its own reader: parquet columns, SQLite tables, RocksDB column families, text files (logs, JSON, HTML); any
other file (metric files, model artifacts) is searched as bytes.
Hits are reported as ``store kind: path: the ids found``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
from rocksdict import AccessType, Options, Rdict

#: The generator's customer ids (``training.data.generator.customer_id``) and pseudonyms (``features.pseudonyms``).
RAW_ID = re.compile(r"c\d{6}")
PSEUDONYM = re.compile(r"p[0-9a-f]{32}")
TEXT_SUFFIXES = {".jsonl", ".json", ".html", ".txt", ".log", ".yaml", ".yml", ".csv", ".sarif", ".xml", ".md"}


def store_hits(
    root: Path, pattern: re.Pattern[str], wanted: set[str], *, skip: Iterable[Path] = (), ignore_families: Iterable[str] = ()
) -> tuple[dict[str, set[str]], int]:
    """``{"<kind>: <path>": values}`` for every store under ``root`` holding a ``pattern`` match in ``wanted``, and
    how many stores were read (so that a search that read nothing cannot pass). ``skip``: files left out."""
    hits: dict[str, set[str]] = {}
    read = 0
    skipped = set(skip)
    rocksdb_dirs = {p.parent for p in root.rglob("CURRENT")}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p not in skipped):
        if any(folder in path.parents for folder in rocksdb_dirs):
            continue
        kind, found = _search_file(path, pattern, wanted)
        if kind:
            read += 1
        if found:
            hits[f"{kind}: {path.relative_to(root)}"] = found
    for folder in sorted(rocksdb_dirs):
        read += 1
        found = _found(_rocksdb_texts(folder, set(ignore_families)), pattern, wanted)
        if found:
            hits[f"rocksdb: {folder.relative_to(root)}"] = found
    return hits, read


def _search_file(path: Path, pattern: re.Pattern[str], wanted: set[str]) -> tuple[str, set[str]]:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        texts = (str(value) for column in table.columns if str(column.type) in ("string", "large_string")
                 for value in column.to_pylist())
        return "parquet", _found(texts, pattern, wanted)
    content = path.read_bytes()
    if content[:16] == b"SQLite format 3\x00":
        return "sqlite", _found(_sqlite_texts(path), pattern, wanted)
    if path.suffix in TEXT_SUFFIXES:
        return "text", _found([content.decode("utf-8", errors="replace")], pattern, wanted)
    return "bytes", _found([content.decode("latin-1")], pattern, wanted)  # anything else (metric files, models): as is


def _found(texts: Iterable[str], pattern: re.Pattern[str], wanted: set[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        found.update(match for match in pattern.findall(text) if match in wanted)
    return found


def _sqlite_texts(path: Path) -> Iterable[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the schema
                for value in row:
                    if isinstance(value, bytes):
                        yield value.decode("latin-1")
                    elif isinstance(value, str):
                        yield value


def _rocksdb_texts(folder: Path, ignore_families: set[str]) -> Iterable[str]:
    options = Options(raw_mode=True)
    families = {name: Options(raw_mode=True) for name in Rdict.list_cf(str(folder), options)}
    db = Rdict(str(folder), options=options, column_families=families, access_type=AccessType.read_only())
    try:
        for name in set(families) - ignore_families:
            for key, value in db.get_column_family(name).items():
                yield key.decode("latin-1") + " " + value.decode("latin-1")
    finally:
        db.close()

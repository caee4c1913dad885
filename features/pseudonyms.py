"""Keyed pseudonyms of customer ids: the one function that stands between a raw id and every store (UAE PDPL).

A raw customer id is used at exactly two edges, an incoming transaction event (the stream ingestor) and an
incoming scoring request (the service), plus the batch load of recorded transactions into the offline store.
There it is replaced by ``pseudonym(id)`` and never written anywhere: stores, logs, topics the platform
writes, state and reports all hold the pseudonym.

A pseudonym is ``p`` + the first 128 bits of HMAC-SHA-256(key, id) in hex. Keyed, so that nobody without the
key can test a guessed id against a stored pseudonym (a plain hash of ``c000123`` is one dictionary away), and
deterministic, so that the same customer gets the same key in every store and features join as before.

| where  | key                                                                                                   |
|--------|-------------------------------------------------------------------------------------------------------|
| local  | ``<data>/keys/pseudonym.key``: 32 random bytes, mode 0600, created on first use (as the signing key)   |
| cloud  | KMS HMAC_256 key ``privacy.pseudonym_key`` (``GenerateMac``): the key never leaves KMS; results cached  |

Rotation is in ``docs/privacy.md``: pseudonyms cannot be re-keyed from the stores (an HMAC has no inverse),
so a new key means a re-keying pass from the bank's customer master list.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from environments import Environment
from environments.errors import CommandFailed, ConfigError

if TYPE_CHECKING:
    import pandas as pd

#: The local key's file, in the environment's key folder (beside the model signing key).
LOCAL_KEY_FILE = "pseudonym.key"
KEY_BYTES = 32
PSEUDONYM_PREFIX = "p"
#: Hex digits kept of the MAC: 128 bits, so that collisions among even a billion customers are ~1e-21 likely.
PSEUDONYM_HEX_DIGITS = 32
PSEUDONYM_PATTERN = re.compile(rf"^{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}$")
#: Pseudonyms remembered per process: a KMS call is made once per customer, not once per event.
CACHE_SIZE = 1_000_000
#: The column that holds a customer in every table and row (its values: pseudonyms, once past an edge).
CUSTOMER_ID = "customer_id"


class MacKey(Protocol):
    """An HMAC-SHA-256 key: ``mac`` of a message; ``describe`` for messages and the erasure record."""

    def mac(self, message: bytes) -> bytes: ...

    def describe(self) -> str: ...


class LocalMacKey:
    """A 32-byte key in a file (mode 0600 in a 0700 folder), created on first use; safe when processes race."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            self._key = self._load() if self.path.exists() else self._create()
        return self._key

    def _create(self) -> bytes:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        spare = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(spare, self.path)  # fails if another process created the key first: then use theirs
        except FileExistsError:
            pass
        finally:
            spare.unlink()
        return self._load()

    def _load(self) -> bytes:
        key = self.path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ConfigError(
                f"pseudonym key {self.path} holds {len(key)} bytes, not {KEY_BYTES}: it is damaged. Restore it from "
                "your backup; a new key would give every customer a new pseudonym (see docs/privacy.md, rotation)"
            )
        return key

    def mac(self, message: bytes) -> bytes:
        return hmac.new(self._secret(), message, hashlib.sha256).digest()

    def describe(self) -> str:
        return f"local key {self.path}"


class KmsMacKey:
    """A KMS HMAC_256 key: ``GenerateMac`` with HMAC_SHA_256, in the environment's region."""

    def __init__(self, key_id: str, *, region_name: str, client: Any = None) -> None:
        self.key_id = key_id
        self.region_name = region_name
        if client is None:
            import boto3

            client = boto3.client("kms", region_name=region_name)  # honours AWS_ENDPOINT_URL (an emulator)
        self._client = client

    def mac(self, message: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.generate_mac(KeyId=self.key_id, Message=message, MacAlgorithm="HMAC_SHA_256")
        except (BotoCoreError, ClientError) as exc:
            raise CommandFailed(
                f"cannot make a customer pseudonym with KMS key {self.key_id!r} in {self.region_name} ({exc}); the "
                "workload's role needs kms:GenerateMac on it (the security stack grants it to scoring and ingestion)"
            ) from None
        return answer["Mac"]

    def describe(self) -> str:
        return f"KMS key {self.key_id} ({self.region_name})"


class Pseudonymiser:
    """Raw customer id → pseudonym, with a per-process cache (one key derivation per customer)."""

    def __init__(self, key: MacKey, cache_size: int = CACHE_SIZE) -> None:
        self.key = key
        self._cached = lru_cache(maxsize=cache_size)(self._derive)

    def _derive(self, customer_id: str) -> str:
        return PSEUDONYM_PREFIX + self.key.mac(customer_id.encode()).hex()[:PSEUDONYM_HEX_DIGITS]

    def __call__(self, customer_id: str) -> str:
        return self._cached(customer_id)

    def many(self, customer_ids: Iterable[str]) -> list[str]:
        """Pseudonyms of ``customer_ids`` in order, each distinct id derived once."""
        return [self._cached(customer_id) for customer_id in customer_ids]

    def describe(self) -> str:
        return self.key.describe()


def is_pseudonym(value: object) -> bool:
    return isinstance(value, str) and PSEUDONYM_PATTERN.match(value) is not None


def local_key_path(env: Environment) -> Path:
    return env.paths.keys / LOCAL_KEY_FILE


def pseudonymiser_for(env: Environment, *, kms_client: Any = None) -> Pseudonymiser:
    """The environment's pseudonymiser: its key file locally, its KMS HMAC key in the cloud."""
    if env.is_cloud:
        return Pseudonymiser(KmsMacKey(env.privacy.pseudonym_key_id(env.name), region_name=env.region, client=kms_client))
    return Pseudonymiser(LocalMacKey(local_key_path(env)))


def pseudonymise_column(frame: pd.DataFrame, pseudonymiser: Pseudonymiser, column: str = CUSTOMER_ID) -> pd.DataFrame:
    """A copy of ``frame`` whose ``column`` of raw customer ids holds their pseudonyms (each id derived once)."""
    distinct = frame[column].unique().tolist()
    out = frame.copy()
    out[column] = frame[column].map(dict(zip(distinct, pseudonymiser.many(distinct), strict=True)))
    return out

"""The scoring service's two secrets: the routing key and the API tokens (stored hashed).

Why a routing key: variants are assigned by a keyed hash of the customer id. With a public key a caller can
choose customer ids that land on a canary and steer it (25 crafted items rolled a canary back). The key is
per environment and secret, so the assignment cannot be predicted from outside.

Why hashed tokens: ``/score``, ``/routing`` and ``/metrics`` need ``Authorization: Bearer <token>`` when
``serving.auth`` is ``bearer``. The service keeps only SHA-256 digests of the tokens, so the file or secret it
reads cannot be replayed; a token is shown once, when ``sahab serve token create`` makes it.

| environment | routing key                                  | token digests                                         |
|-------------|----------------------------------------------|-------------------------------------------------------|
| local       | ``<data>/keys/routing.key`` (created on first use, 0600) | ``<data>/keys/api-tokens.json`` (0600)      |
| cloud       | Secrets Manager ``sahab-<env>-routing-key``  | Secrets Manager ``sahab-<env>-api-tokens`` (same JSON) |

Tokens rotate without a restart: the digests are read again when the file changes (locally) or every
``TOKEN_REFRESH_S`` (cloud). Add the new token, move clients, then revoke the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from environments import Environment, names
from environments.errors import ConfigError

ROUTING_KEY_FILE = "routing.key"
TOKENS_FILE = "api-tokens.json"
#: How often a cloud service reads the token secret again (rotation without restart).
TOKEN_REFRESH_S = 60.0


def routing_secret_name(env: Environment) -> str:
    return names.routing_key_secret(env.name)


def tokens_secret_name(env: Environment) -> str:
    return names.api_tokens_secret(env.name)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---- the routing key --------------------------------------------------------------------------

def routing_key(env: Environment, *, secrets_client: Any | None = None) -> bytes:
    """The environment's routing key: the SHA-256 of its secret text (32 bytes), the same in every worker and replica."""
    if env.is_cloud:
        text = _secret_string(env, routing_secret_name(env), secrets_client)
    else:
        text = _local_key_text(env.paths.keys / ROUTING_KEY_FILE)
    return hashlib.sha256(text.strip().encode("utf-8")).digest()


def _local_key_text(path: Path) -> str:
    """Read the key, creating it once (``O_EXCL``: two workers starting together end up with the same key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
    for _ in range(50):  # another worker may be between its create and its write
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.01)
    raise ConfigError(f"the routing key file {path} is empty: delete it and start the service again")


# ---- API tokens -------------------------------------------------------------------------------

class ApiTokens:
    """The accepted token digests, re-read on change; ``accepts`` compares in constant time."""

    def __init__(self, load: Callable[[], dict[str, str]], *, changed: Callable[[], object]) -> None:
        self._load = load
        self._changed = changed
        self._lock = threading.Lock()
        self._version: object = None
        self._digests: dict[str, str] = {}

    def accepts(self, token: str) -> str | None:
        """The token's name when it is accepted, else ``None``."""
        offered = digest(token)
        found = None
        for name, known in self._current().items():
            if hmac.compare_digest(offered, known):
                found = name
        return found

    def _current(self) -> dict[str, str]:
        version = self._changed()
        with self._lock:
            if version != self._version:
                self._digests, self._version = self._load(), version
            return self._digests


def api_tokens(env: Environment, *, secrets_client: Any | None = None) -> ApiTokens:
    """The environment's token digests: the local file, or the cloud secret (refreshed every ``TOKEN_REFRESH_S``)."""
    if env.is_cloud:
        name = tokens_secret_name(env)
        return ApiTokens(lambda: parse_tokens(_secret_string(env, name, secrets_client), name),
                         changed=lambda: int(time.monotonic() // TOKEN_REFRESH_S))
    path = env.paths.keys / TOKENS_FILE

    def stamp() -> object:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    return ApiTokens(lambda: parse_tokens(path.read_text(), str(path)) if path.is_file() else {}, changed=stamp)


def parse_tokens(text: str, source: str) -> dict[str, str]:
    """``{"tokens": [{"name": ..., "sha256": ...}]}`` -> name: digest; refuses anything else, naming the source."""
    try:
        entries = json.loads(text)["tokens"]
        parsed = {str(e["name"]): str(e["sha256"]) for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{source} is not a token list ({exc}); expected {{\"tokens\": [{{\"name\", \"sha256\"}}]}}") from None
    bad = [name for name, value in parsed.items() if len(value) != 64 or any(c not in "0123456789abcdef" for c in value)]
    if bad:
        raise ConfigError(f"{source}: tokens {bad} have no SHA-256 hex digest in 'sha256' (the service stores no plain token)")
    return parsed


def create_local_token(env: Environment, name: str) -> str:
    """Make a token, add its digest under ``name`` to the local file (0600), and return the token (shown once)."""
    path = env.paths.keys / TOKENS_FILE
    current = parse_tokens(path.read_text(), str(path)) if path.is_file() else {}
    if name in current:
        raise ConfigError(f"a token named {name!r} exists in {path}: revoke it first or choose another name")
    token = secrets.token_urlsafe(32)
    current[name] = digest(token)
    _write_tokens(path, current)
    return token


def revoke_local_token(env: Environment, name: str) -> None:
    path = env.paths.keys / TOKENS_FILE
    current = parse_tokens(path.read_text(), str(path)) if path.is_file() else {}
    if name not in current:
        raise ConfigError(f"no token named {name!r} in {path} (known: {sorted(current)})")
    del current[name]
    _write_tokens(path, current)


def create_cloud_token(env: Environment, name: str, *, secrets_client: Any | None = None) -> str:
    """Make a token, add its digest under ``name`` to the environment's token secret, and return the token.

    The service reads the secret again within ``TOKEN_REFRESH_S``; until then it refuses the new token.
    """
    client, secret = _secrets_client(env, secrets_client), tokens_secret_name(env)
    current = parse_tokens(_secret_string(env, secret, client), secret)
    if name in current:
        raise ConfigError(f"a token named {name!r} exists in the secret {secret!r}: revoke it first or choose another name")
    token = secrets.token_urlsafe(32)
    current[name] = digest(token)
    client.put_secret_value(SecretId=secret, SecretString=_tokens_json(current))
    return token


def revoke_cloud_token(env: Environment, name: str, *, secrets_client: Any | None = None) -> None:
    client, secret = _secrets_client(env, secrets_client), tokens_secret_name(env)
    current = parse_tokens(_secret_string(env, secret, client), secret)
    if name not in current:
        raise ConfigError(f"no token named {name!r} in the secret {secret!r} (known: {sorted(current)})")
    del current[name]
    client.put_secret_value(SecretId=secret, SecretString=_tokens_json(current))


def _tokens_json(tokens: dict[str, str]) -> str:
    return json.dumps({"tokens": [{"name": n, "sha256": d} for n, d in sorted(tokens.items())]}, indent=2)


def _write_tokens(path: Path, tokens: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_tokens_json(tokens))
    os.replace(temporary, path)


def _secrets_client(env: Environment, client: Any | None) -> Any:
    import boto3

    return client or boto3.client("secretsmanager", region_name=env.region)


def _secret_string(env: Environment, name: str, client: Any | None) -> str:
    client = _secrets_client(env, client)
    try:
        return client.get_secret_value(SecretId=name)["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        raise ConfigError(f"the secret {name!r} does not exist in {env.region}: create it (docs/security.md)") from None

"""One door to Feast: render ``feature_store.yaml`` from the environment, apply the repository, materialise.

| environment | registry                                | online store                      | offline store                        |
|-------------|-----------------------------------------|-----------------------------------|--------------------------------------|
| local       | ``<data path>/feature_repo/registry.db`` | SQLite ``online_store.db`` beside it | parquet under ``<data path>/offline`` |
| cloud       | ``s3://<data bucket>/feast/registry.db`` | ElastiCache Redis, TLS + AUTH      | parquet under ``s3://<data bucket>/offline`` |

Cloud settings come from the data stack's outputs (``data_bucket``, ``online_store_endpoint``); the
Redis AUTH token is never written to disk: the YAML names ``${SAHAB_REDIS_AUTH_TOKEN}`` and Feast
expands it from the process environment when it reads the file. Unless the process already has it, the
token is read once from its Secrets Manager secret (``sahab-<env>-online/auth-token``, ``GetSecretValue``
under the workload's IRSA role) into that variable. The rendered folder is
``<data path>/feature_repo`` in both cases (a cache of the rendering, safe to delete).

Two optional cloud settings, never Terraform outputs, always from the environment:

| setting           | variable                 | goes to                                                  | Default                    |
|-------------------|--------------------------|----------------------------------------------------------|----------------------------|
| ``s3_endpoint_url`` | ``SAHAB_S3_ENDPOINT_URL`` | the sources' ``s3_endpoint_override`` (written at apply) and ``FEAST_S3_ENDPOINT_URL`` (the registry) | AWS's regional S3 endpoint |
| ``redis_ca_file``   | ``SAHAB_REDIS_CA_FILE``   | ``ssl_ca_certs=`` in the Redis connection string          | the system trust store (ElastiCache's certificates are publicly signed) |

S3 is read through pyarrow's S3 client (``features.s3_filesystem``): s3fs is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

import yaml

from environments import Environment, names
from environments.errors import CommandFailed, ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore

FEATURE_STORE_YAML = "feature_store.yaml"
REDIS_AUTH_TOKEN_VARIABLE = "SAHAB_REDIS_AUTH_TOKEN"
REDIS_PORT = 6379
#: Seconds a Redis connect or read may take before it fails: a hung store fails requests instead of hanging them.
REDIS_SOCKET_TIMEOUT_S = 2
#: The only way to point Feast's S3 registry store (boto3) at another endpoint.
FEAST_S3_ENDPOINT_VARIABLE = "FEAST_S3_ENDPOINT_URL"

#: Start of materialisation when none is given: before any history the generator writes.
MATERIALIZE_FROM = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CloudStoreSettings:
    """Where a cloud environment's stores are, from the data stack's Terraform outputs.

    ``s3_endpoint_url``: an S3-compatible endpoint (``http(s)://host[:port]``) instead of AWS's, for
    emulators in tests or a UAE-resident S3-compatible store. Default: AWS's regional endpoint.
    ``redis_ca_file``: PEM bundle that signed the Redis server's certificate, for a Redis whose
    certificate is not publicly signed. Default: the system trust store.
    """

    data_bucket: str
    online_store_endpoint: str
    s3_endpoint_url: str | None = None
    redis_ca_file: str | None = None

    #: Output names of ``stacks/data.py`` and the environment variables that may stand in for them.
    OUTPUTS: ClassVar[dict[str, str]] = {
        "data_bucket": "SAHAB_DATA_BUCKET", "online_store_endpoint": "SAHAB_ONLINE_STORE_ENDPOINT"
    }
    #: Optional settings, read from the environment in every case (the stacks do not output them).
    OPTIONAL: ClassVar[dict[str, str]] = {"s3_endpoint_url": "SAHAB_S3_ENDPOINT_URL", "redis_ca_file": "SAHAB_REDIS_CA_FILE"}

    def __post_init__(self) -> None:
        problems = []
        if "," in self.online_store_endpoint:
            problems.append(f"'online_store_endpoint' must be one host[:port] (value: {self.online_store_endpoint!r})")
        if self.s3_endpoint_url is not None:
            url = urlparse(self.s3_endpoint_url)
            if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
                problems.append(
                    f"'s3_endpoint_url' ({self.OPTIONAL['s3_endpoint_url']}) must be http(s)://host[:port] "
                    f"(value: {self.s3_endpoint_url!r})"
                )
        if self.redis_ca_file is not None and ("," in self.redis_ca_file or not Path(self.redis_ca_file).is_absolute()):
            problems.append(
                f"'redis_ca_file' ({self.OPTIONAL['redis_ca_file']}) must be an absolute path without ',' "
                f"(Feast's connection string separator) (value: {self.redis_ca_file!r})"
            )
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> CloudStoreSettings:
        """From ``terraform output -json`` (values may be ``{"value": ...}``) or a plain mapping; optional settings from ``environ``."""
        values = {key: (value.get("value") if isinstance(value, Mapping) else value) for key, value in outputs.items()}
        missing = [name for name in cls.OUTPUTS if not values.get(name)]
        if missing:
            raise ConfigError(f"the data stack outputs must include {missing} (deploy the data stack first)")
        return cls(
            data_bucket=str(values["data_bucket"]),
            online_store_endpoint=str(values["online_store_endpoint"]),
            **cls._optional(environ),
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> CloudStoreSettings:
        """From ``SAHAB_DATA_BUCKET`` and ``SAHAB_ONLINE_STORE_ENDPOINT`` (how a Kubernetes Job gets them)."""
        source = os.environ if environ is None else environ
        missing = [variable for variable in cls.OUTPUTS.values() if not source.get(variable)]
        if missing:
            raise ConfigError(
                f"a cloud environment's feature store needs {missing} set (from the data stack's outputs "
                "'data_bucket' and 'online_store_endpoint'), or pass the outputs with --outputs"
            )
        return cls(
            data_bucket=source[cls.OUTPUTS["data_bucket"]],
            online_store_endpoint=source[cls.OUTPUTS["online_store_endpoint"]],
            **cls._optional(source),
        )

    @classmethod
    def _optional(cls, environ: Mapping[str, str] | None) -> dict[str, str | None]:
        source = os.environ if environ is None else environ
        return {name: source.get(variable) or None for name, variable in cls.OPTIONAL.items()}


def cloud_settings(env: Environment, cloud: CloudStoreSettings | None = None) -> CloudStoreSettings | None:
    """``cloud`` (or the settings from the environment variables) for a cloud environment; None locally."""
    if not env.is_cloud:
        return None
    return cloud or CloudStoreSettings.from_environ()


def feature_repo_dir(env: Environment) -> Path:
    """Where the rendered ``feature_store.yaml`` (and, locally, the registry and SQLite store) live."""
    return env.paths.feature_repo


def project_name(env: Environment) -> str:
    """Feast project of an environment: ``sahab_<env>`` (Feast allows letters, digits and '_')."""
    return "sahab_" + env.name.replace("-", "_")


def offline_store_uri(env: Environment, cloud: CloudStoreSettings | None = None) -> str:
    """The folder (local) or S3 prefix (cloud) holding the offline parquet tables."""
    settings = cloud_settings(env, cloud)
    if settings is not None:
        return f"s3://{settings.data_bucket}/{names.OFFLINE_PREFIX.rstrip('/')}"  # the prefix the data stack expires
    return str(env.paths.offline)


def read_offline_table(
    env: Environment, name: str, cloud: CloudStoreSettings | None = None, *, filters: list[tuple] | None = None
) -> pd.DataFrame:
    """One table of the offline store (e.g. ``transactions.parquet``), from the local folder or from S3.

    S3 is read with pyarrow's client at ``s3_endpoint_url`` (default AWS's), credentials and region
    from the AWS default chain, as Feast reads the sources. ``filters`` (pyarrow's DNF, e.g.
    ``[("event_timestamp", ">=", start)]``) are applied while reading, so only matching row groups
    are fetched.
    """
    import pyarrow.parquet as pq
    from pyarrow.fs import S3FileSystem

    settings = cloud_settings(env, cloud)
    uri = f"{offline_store_uri(env, settings)}/{name}"
    try:
        if settings is None:
            return pq.read_table(uri, filters=filters).to_pandas()
        filesystem = S3FileSystem(endpoint_override=settings.s3_endpoint_url)  # None: AWS's regional endpoint
        return pq.read_table(uri.removeprefix("s3://"), filesystem=filesystem, filters=filters).to_pandas()
    except FileNotFoundError:
        raise ConfigError(f"no offline table at {uri}: {_fill_offline_store_hint(env, settings)}") from None


def _fill_offline_store_hint(env: Environment, settings: CloudStoreSettings | None) -> str:
    if settings is None:
        return f"run 'sahab data generate --env {env.name}' first"
    return f"upload the offline tables to {offline_store_uri(env, settings)}/ (SSE-KMS with the data key) first"


def feature_store_config(env: Environment, cloud: CloudStoreSettings | None = None) -> dict[str, Any]:
    """The content of ``feature_store.yaml`` for ``env`` (see the table in the module docstring)."""
    config: dict[str, Any] = {
        "project": project_name(env),
        "entity_key_serialization_version": 3,
        "offline_store": {"type": "file"},
        "auth": {"type": "no_auth"},
    }
    settings = cloud_settings(env, cloud)
    if settings is None:
        return {
            **config,
            "provider": "local",
            "registry": {"registry_type": "file", "path": "registry.db"},
            "online_store": {"type": "sqlite", "path": "online_store.db"},
        }
    return {
        **config,
        "provider": "aws",
        "registry": {"registry_type": "file", "path": f"s3://{settings.data_bucket}/feast/registry.db"},
        "online_store": {"type": "redis", "redis_type": "redis", "connection_string": redis_connection_string(settings)},
    }


def redis_connection_string(settings: CloudStoreSettings) -> str:
    """Feast's Redis connection string: TLS always, the AUTH token as a variable reference, socket timeouts, the CA when given."""
    host = settings.online_store_endpoint
    address = host if ":" in host else f"{host}:{REDIS_PORT}"
    # TLS and AUTH are mandatory on the ElastiCache group; the token stays in the environment.
    parts = [address, "ssl=true", f"password=${{{REDIS_AUTH_TOKEN_VARIABLE}}}",
             f"socket_timeout={REDIS_SOCKET_TIMEOUT_S}", f"socket_connect_timeout={REDIS_SOCKET_TIMEOUT_S}"]
    if settings.redis_ca_file:
        parts.append(f"ssl_ca_certs={settings.redis_ca_file}")
    return ",".join(parts)


def render_feature_repo(env: Environment, cloud: CloudStoreSettings | None = None) -> Path:
    """Write ``feature_store.yaml`` for ``env`` (only when it changed, atomically); return the folder."""
    folder = feature_repo_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FEATURE_STORE_YAML
    text = "# Rendered by sahab from environments/{0}.yaml; edits are overwritten.\n{1}".format(
        env.name, yaml.safe_dump(feature_store_config(env, cloud), sort_keys=False)
    )
    if not path.exists() or path.read_text() != text:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)
    return folder


def feature_store_for(env: Environment, cloud: CloudStoreSettings | None = None) -> FeatureStore:
    """A ``feast.FeatureStore`` for ``env`` (renders its ``feature_store.yaml`` first).

    For a cloud environment it also makes ``s3://`` readable by Feast's file offline store
    (``features.s3_filesystem``) and, with ``s3_endpoint_url``, sets ``FEAST_S3_ENDPOINT_URL`` in
    this process for Feast's S3 registry (a different value already set is refused).
    """
    from feast import FeatureStore

    settings = cloud_settings(env, cloud)
    if settings is not None:
        from features.s3_filesystem import use_arrow_s3_for_fsspec

        use_arrow_s3_for_fsspec()
        load_redis_auth_token(env)
        if settings.s3_endpoint_url:
            _point_feast_registry_at(settings.s3_endpoint_url)
    return FeatureStore(repo_path=str(render_feature_repo(env, settings)))


def load_redis_auth_token(env: Environment) -> None:
    """Put the Redis AUTH token where Feast expands it from, reading its secret unless the process has it."""
    if os.environ.get(REDIS_AUTH_TOKEN_VARIABLE):
        return
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    secret = names.auth_token_secret(env.resource_name(names.ONLINE_STORE))
    try:
        value = boto3.client("secretsmanager", region_name=env.region).get_secret_value(SecretId=secret)["SecretString"]
    except (BotoCoreError, ClientError) as exc:
        raise CommandFailed(
            f"cannot read the Redis AUTH token from the secret {secret!r} in {env.region} ({exc}); run with the "
            f"workload's role, which may read it, or set {REDIS_AUTH_TOKEN_VARIABLE}"
        ) from None
    os.environ[REDIS_AUTH_TOKEN_VARIABLE] = value


def _point_feast_registry_at(endpoint_url: str) -> None:
    current = os.environ.get(FEAST_S3_ENDPOINT_VARIABLE)
    if current and current != endpoint_url:
        raise ConfigError(
            f"'{FEAST_S3_ENDPOINT_VARIABLE}' is {current!r} but 's3_endpoint_url' "
            f"({CloudStoreSettings.OPTIONAL['s3_endpoint_url']}) is {endpoint_url!r}: unset one or make them equal"
        )
    os.environ[FEAST_S3_ENDPOINT_VARIABLE] = endpoint_url


@dataclass(frozen=True)
class AppliedRepository:
    """What ``apply`` registered."""

    project: str
    entities: list[str]
    feature_views: list[str]
    feature_services: list[str]
    offline_uri: str


def apply(env: Environment, cloud: CloudStoreSettings | None = None) -> AppliedRepository:
    """Register the repository's objects (``features.definitions``) in the environment's registry.

    Objects of the project that the definitions no longer contain are removed, as ``feast apply`` does.
    The sources carry the S3 endpoint (``s3_endpoint_url``) as Feast's ``s3_endpoint_override``, so
    a changed endpoint takes a new ``apply``.
    """
    from features.definitions import feature_definitions

    settings = cloud_settings(env, cloud)
    store = feature_store_for(env, settings)
    uri = offline_store_uri(env, settings)
    definitions = feature_definitions(uri, s3_endpoint_override=settings.s3_endpoint_url if settings else None)
    wanted = definitions.objects()
    wanted_names = {(type(obj).__name__, obj.name) for obj in wanted}
    registered: list[Any] = [*store.list_feature_services(), *store.list_feature_views(), *store.list_entities()]
    stale = [obj for obj in registered if (type(obj).__name__, obj.name) not in wanted_names]
    store.apply(wanted, objects_to_delete=stale, partial=False)
    return AppliedRepository(
        project=store.project,
        entities=sorted(entity.name for entity in store.list_entities()),
        feature_views=sorted(view.name for view in store.list_feature_views()),
        feature_services=sorted(service.name for service in store.list_feature_services()),
        offline_uri=uri,
    )


@dataclass(frozen=True)
class MaterializedRange:
    """The interval ``materialize`` loaded into the online store."""

    start: datetime
    end: datetime
    feature_views: list[str]


def materialize(
    env: Environment,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    cloud: CloudStoreSettings | None = None,
) -> MaterializedRange:
    """Load the latest feature values in ``[start, end]`` from the offline into the online store."""
    settings = cloud_settings(env, cloud)
    store = feature_store_for(env, settings)
    views = [view.name for view in store.list_feature_views()]
    if not views:
        raise ConfigError(f"no feature views are registered for '{env.name}': run 'sahab features apply --env {env.name}'")
    start = start or MATERIALIZE_FROM
    end = end or datetime.now(UTC)
    try:
        store.materialize(start_date=start, end_date=end, feature_views=views)
    except FileNotFoundError as exc:
        raise CommandFailed(
            f"an offline table is missing ({exc.filename or exc}): {_fill_offline_store_hint(env, settings)}"
        ) from exc
    return MaterializedRange(start=start, end=end, feature_views=views)

"""One door to Feast: render ``feature_store.yaml`` from the environment, apply the repository, materialise.

| environment | registry                                | online store                      | offline store                        |
|-------------|-----------------------------------------|-----------------------------------|--------------------------------------|
| local       | ``<data path>/feature_repo/registry.db`` | SQLite ``online_store.db`` beside it | parquet under ``<data path>/offline`` |
| cloud       | ``s3://<data bucket>/feast/registry.db`` | ElastiCache Redis, TLS + AUTH      | parquet under ``s3://<data bucket>/offline`` |

Cloud settings come from the data stack's outputs (``data_bucket``, ``online_store_endpoint``); the
Redis AUTH token is never written to disk: the YAML names ``${SAHAB_REDIS_AUTH_TOKEN}`` and Feast
expands it from the process environment when it reads the file. The rendered folder is
``<data path>/feature_repo`` in both cases (a cache of the rendering, safe to delete).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from infra.config import Environment
from infra.errors import CommandFailed, ConfigError

if TYPE_CHECKING:
    from feast import FeatureStore

FEATURE_STORE_YAML = "feature_store.yaml"
REDIS_AUTH_TOKEN_VARIABLE = "SAHAB_REDIS_AUTH_TOKEN"
REDIS_PORT = 6379

#: Start of materialisation when none is given: before any history the generator writes.
MATERIALIZE_FROM = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CloudStoreSettings:
    """Where a cloud environment's stores are, from the data stack's Terraform outputs."""

    data_bucket: str
    online_store_endpoint: str
    s3_endpoint_override: str | None = None

    #: Output names of ``stacks/data.py`` and the environment variables that may stand in for them.
    OUTPUTS = {"data_bucket": "SAHAB_DATA_BUCKET", "online_store_endpoint": "SAHAB_ONLINE_STORE_ENDPOINT"}

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> CloudStoreSettings:
        """From ``terraform output -json`` (values may be ``{"value": ...}``) or a plain mapping."""
        values = {key: (value.get("value") if isinstance(value, Mapping) else value) for key, value in outputs.items()}
        missing = [name for name in cls.OUTPUTS if not values.get(name)]
        if missing:
            raise ConfigError(f"the data stack outputs must include {missing} (deploy the data stack first)")
        return cls(data_bucket=str(values["data_bucket"]), online_store_endpoint=str(values["online_store_endpoint"]))

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
            s3_endpoint_override=source.get("SAHAB_S3_ENDPOINT_URL") or None,
        )


def feature_repo_dir(env: Environment) -> Path:
    """Where the rendered ``feature_store.yaml`` (and, locally, the registry and SQLite store) live."""
    return env.data_path() / "feature_repo"


def project_name(env: Environment) -> str:
    """Feast project of an environment: ``sahab_<env>`` (Feast allows letters, digits and '_')."""
    return "sahab_" + env.name.replace("-", "_")


def offline_store_uri(env: Environment, cloud: CloudStoreSettings | None = None) -> str:
    """The folder (local) or S3 prefix (cloud) holding the offline parquet tables."""
    if env.is_cloud:
        settings = cloud or CloudStoreSettings.from_environ()
        return f"s3://{settings.data_bucket}/offline"
    return str(env.data_path() / "offline")


def feature_store_config(env: Environment, cloud: CloudStoreSettings | None = None) -> dict[str, Any]:
    """The content of ``feature_store.yaml`` for ``env`` (see the table in the module docstring)."""
    config: dict[str, Any] = {
        "project": project_name(env),
        "entity_key_serialization_version": 3,
        "offline_store": {"type": "file"},
        "auth": {"type": "no_auth"},
    }
    if not env.is_cloud:
        return {
            **config,
            "provider": "local",
            "registry": {"registry_type": "file", "path": "registry.db"},
            "online_store": {"type": "sqlite", "path": "online_store.db"},
        }
    settings = cloud or CloudStoreSettings.from_environ()
    host = settings.online_store_endpoint
    address = host if ":" in host else f"{host}:{REDIS_PORT}"
    return {
        **config,
        "provider": "aws",
        "registry": {"registry_type": "file", "path": f"s3://{settings.data_bucket}/feast/registry.db"},
        "online_store": {
            "type": "redis",
            "redis_type": "redis",
            # TLS and AUTH are mandatory on the ElastiCache group; the token stays in the environment.
            "connection_string": f"{address},ssl=true,password=${{{REDIS_AUTH_TOKEN_VARIABLE}}}",
        },
    }


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
    """A ``feast.FeatureStore`` for ``env`` (renders its ``feature_store.yaml`` first)."""
    from feast import FeatureStore

    return FeatureStore(repo_path=str(render_feature_repo(env, cloud)))


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
    """
    from features.definitions import feature_definitions

    settings = (cloud or CloudStoreSettings.from_environ()) if env.is_cloud else None
    store = feature_store_for(env, settings)
    uri = offline_store_uri(env, settings)
    definitions = feature_definitions(uri, s3_endpoint_override=settings.s3_endpoint_override if settings else None)
    wanted = definitions.objects()
    wanted_names = {(type(obj).__name__, obj.name) for obj in wanted}
    stale: list[Any] = [
        obj
        for obj in (*store.list_feature_services(), *store.list_feature_views(), *store.list_entities())
        if (type(obj).__name__, obj.name) not in wanted_names
    ]
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
    store = feature_store_for(env, cloud)
    views = [view.name for view in store.list_feature_views()]
    if not views:
        raise ConfigError(f"no feature views are registered for '{env.name}': run 'sahab features apply --env {env.name}'")
    start = start or MATERIALIZE_FROM
    end = end or datetime.now(UTC)
    try:
        store.materialize(start_date=start, end_date=end, feature_views=views)
    except FileNotFoundError as exc:
        raise CommandFailed(
            f"an offline table is missing ({exc.filename or exc}): run 'sahab data generate --env {env.name}' first"
        ) from exc
    return MaterializedRange(start=start, end=end, feature_views=views)

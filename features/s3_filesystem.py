"""``s3://`` for fsspec through pyarrow's own S3 client, so Feast's file offline store reads S3 without s3fs.

Feast 0.67's file offline store (``feast.infra.offline_stores.dask``) touches S3 in two ways:

| operation                                          | how it opens ``s3://``                               | needs               |
|----------------------------------------------------|------------------------------------------------------|---------------------|
| schema of a source, push to the offline store      | ``pyarrow.fs.S3FileSystem`` (``endpoint_override``)  | pyarrow (pinned)    |
| ``materialize``, ``get_historical_features``       | ``dask.dataframe.read_parquet`` -> fsspec ``"s3"``   | an fsspec ``"s3"``  |
| the registry (``s3://.../registry.db``)            | boto3 (``FEAST_S3_ENDPOINT_URL``)                    | boto3 (pinned)      |

fsspec's usual ``"s3"`` is s3fs, which needs aiobotocore, and every aiobotocore release pins a
botocore older than the boto3 this project pins: installing s3fs would downgrade boto3 and botocore.
``ArrowS3FileSystem`` instead wraps ``pyarrow.fs.S3FileSystem`` in fsspec's own
``ArrowFSWrapper`` (the wrapper dask uses for ``filesystem="arrow"``) and takes the s3fs-style
options Feast passes (``key``, ``secret``, ``token``, ``client_kwargs={"endpoint_url": ...}``).
Credentials and region come from the AWS default chain (environment, profile, IRSA web identity)
when not given, as for every other AWS client of the platform.

``use_arrow_s3_for_fsspec()`` registers it for ``s3://`` and ``s3a://``, unless s3fs is installed
(then fsspec keeps s3fs, Feast's own choice).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fsspec import register_implementation
from fsspec.implementations.arrow import ArrowFSWrapper

PROTOCOLS: tuple[str, ...] = ("s3", "s3a")

#: fsspec's own options, valid for every filesystem (the rest of fsspec handles them).
_FSSPEC_OPTIONS = frozenset({"use_listings_cache", "listings_expiry_time", "max_paths", "asynchronous", "loop"})


class ArrowS3FileSystem(ArrowFSWrapper):
    """fsspec ``s3://`` over ``pyarrow.fs.S3FileSystem``, configured with s3fs's option names.

    ``key``/``secret``/``token`` are the access key, secret key and session token;
    ``endpoint_url`` (or ``client_kwargs["endpoint_url"]``) an S3-compatible endpoint;
    ``client_kwargs["region_name"]`` or ``region`` the region (Default: the AWS default chain,
    e.g. ``AWS_DEFAULT_REGION``); ``anon=True`` unsigned requests. Any other s3fs option is
    refused with its name rather than silently ignored.
    """

    def __init__(
        self,
        *,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        anon: bool = False,
        endpoint_url: str | None = None,
        region: str | None = None,
        client_kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        from pyarrow.fs import S3FileSystem

        client = dict(client_kwargs or {})
        endpoint_url = endpoint_url or client.pop("endpoint_url", None)
        region = region or client.pop("region_name", None)
        unsupported = sorted([*(set(options) - _FSSPEC_OPTIONS), *(f"client_kwargs.{name}" for name in client)])
        if unsupported:
            raise ValueError(
                f"ArrowS3FileSystem (s3:// without s3fs) does not support the s3fs options {unsupported}; "
                "supported: key, secret, token, anon, endpoint_url, region, client_kwargs.endpoint_url/region_name"
            )
        arguments: dict[str, Any] = {"anonymous": anon}
        if key and secret:
            arguments.update(access_key=key, secret_key=secret, session_token=token or None)
        if endpoint_url:
            arguments["endpoint_override"] = endpoint_url
        if region:
            arguments["region"] = region
        super().__init__(S3FileSystem(**arguments), **options)


def use_arrow_s3_for_fsspec() -> bool:
    """Make fsspec open ``s3://`` with ``ArrowS3FileSystem`` unless s3fs is installed; True when registered."""
    if importlib.util.find_spec("s3fs") is not None:
        return False
    for protocol in PROTOCOLS:
        register_implementation(protocol, ArrowS3FileSystem, clobber=True)
    return True

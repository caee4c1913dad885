"""How Kafka clients connect: one settings model for the local broker and for MSK.

The producer, the ingestor and the topic admin all build their confluent-kafka settings from a
``KafkaConnection``; nothing else differs between a laptop and the cloud. ``connection_for(env)``
resolves the environment file into one (the decision table is on ``environments.StreamingConfig``):

| resolved auth, tls | security.protocol | sasl.mechanism | token                                  |
|--------------------|-------------------|----------------|----------------------------------------|
| none, false        | PLAINTEXT         | -              | -                                      |
| none, true         | SSL               | -              | -                                      |
| iam, true          | SASL_SSL          | OAUTHBEARER    | SigV4-signed by aws-msk-iam-sasl-signer |
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from environments import Environment
from environments.errors import CommandFailed, ConfigError
from features.ingest.local_broker import running_broker


class KafkaConnection(BaseModel):
    """Where the brokers are and how to authenticate to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: str = Field(description="Comma-separated host:port list.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(default="PLAINTEXT", description="Default: PLAINTEXT.")
    sasl_mechanism: Literal["OAUTHBEARER"] | None = Field(
        default=None, description="OAUTHBEARER carries MSK IAM tokens. Default: none."
    )
    aws_region: str | None = Field(default=None, description="Region the IAM tokens are signed for. Default: none.")
    ssl_ca_location: str | None = Field(default=None, description="CA bundle (PEM). Default: the system store.")

    @model_validator(mode="after")
    def _iam_is_complete(self) -> KafkaConnection:
        if self.sasl_mechanism == "OAUTHBEARER":
            if self.security_protocol != "SASL_SSL":
                raise ValueError(f"'security_protocol' must be SASL_SSL with OAUTHBEARER (value: {self.security_protocol!r})")
            if not self.aws_region:
                raise ValueError("'aws_region' is required to sign MSK IAM tokens (OAUTHBEARER)")
        return self

    @property
    def uses_iam(self) -> bool:
        return self.sasl_mechanism == "OAUTHBEARER"

    def client_config(self) -> dict[str, Any]:
        """confluent-kafka settings shared by producers, consumers and admin clients.

        With IAM the client asks ``oauth_cb`` for a token when it connects and again before the token
        expires (15 minutes); that callback runs inside ``poll()``, so callers poll once right after
        creating a client.
        """
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        if self.uses_iam:
            assert self.aws_region is not None  # checked by the validator
            config["sasl.mechanism"] = "OAUTHBEARER"
            config["oauth_cb"] = MskIamToken(self.aws_region)
        return config


class MskIamToken:
    """confluent-kafka ``oauth_cb``: an MSK IAM token signed with the default AWS credential chain.

    The token is a SigV4-presigned ``kafka-cluster:Connect`` URL for the region's MSK endpoint; on EKS
    the credentials come from the pod's IRSA role, so no secret is configured anywhere.
    """

    def __init__(self, region: str) -> None:
        self.region = region

    def __call__(self, _oauthbearer_config: str) -> tuple[str, float]:
        """Return ``(token, expiry as seconds since the epoch)``, the pair confluent-kafka expects."""
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        try:
            token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(self.region)
        except (AttributeError, ValueError) as exc:  # AttributeError: no credentials found at all
            raise CommandFailed(
                f"cannot sign an MSK IAM token for region {self.region!r}: no usable AWS credentials "
                f"({exc}); run inside the cluster with its IRSA role, or set AWS_PROFILE / AWS_ACCESS_KEY_ID"
            ) from exc
        return token, expiry_ms / 1000.0


def connection_for(env: Environment) -> KafkaConnection:
    """Resolve ``env.streaming`` into connection settings.

    Cloud environments must name their MSK brokers and use IAM over TLS; a local environment with no
    ``bootstrap_servers`` talks to the broker ``sahab up local`` started (found through its state file).
    """
    streaming = env.streaming
    auth = streaming.auth or ("iam" if env.is_cloud else "none")
    tls = streaming.tls if streaming.tls is not None else env.is_cloud
    problems = []
    if env.is_cloud and auth != "iam":
        problems.append(f"'streaming.auth' must be 'iam' when 'target' is 'aws': MSK is built IAM-only (value: {auth!r})")
    if env.is_cloud and not tls:
        problems.append("'streaming.tls' must be true when 'target' is 'aws' (value: False)")
    if env.is_cloud and not streaming.bootstrap_servers:
        problems.append(
            "'streaming.bootstrap_servers' is required when 'target' is 'aws': set it to the MSK cluster's "
            "IAM bootstrap brokers (host:9098,...) from the data stack's outputs"
        )
    if problems:
        raise ConfigError(problems, source=f"environment {env.name!r}")

    servers = streaming.bootstrap_servers
    if servers is None:
        broker = running_broker(env)
        if broker is None:
            raise ConfigError(
                f"no local broker is running for environment {env.name!r}: start one with "
                f"`sahab up local` or `sahab stream broker start --env {env.name}`, or set 'streaming.bootstrap_servers'"
            )
        servers = broker.bootstrap_servers
    if auth == "iam":
        return KafkaConnection(
            bootstrap_servers=servers,
            security_protocol="SASL_SSL",
            sasl_mechanism="OAUTHBEARER",
            aws_region=env.region,
            ssl_ca_location=streaming.tls_ca_location,
        )
    return KafkaConnection(
        bootstrap_servers=servers,
        security_protocol="SSL" if tls else "PLAINTEXT",
        ssl_ca_location=streaming.tls_ca_location,
    )

"""Create the event and dead-letter topics before anyone produces.

Brokers may auto-create a topic on first produce, but with their own partition count (Tansu picks 4,
MSK its cluster default); the ingestor's parallelism and per-customer ordering depend on
``streaming.partitions``, so the topics are created explicitly, idempotently, first.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from features.ingest.connection import KafkaConnection
from environments import Environment
from environments.errors import CommandFailed

#: The dead-letter topic keeps arrival order in one partition; it carries only the rare bad event.
DLQ_PARTITIONS = 1


def ensure_topics(connection: KafkaConnection, env: Environment, *, timeout_s: float = 15.0) -> list[str]:
    """Create ``streaming.topic`` and ``streaming.dlq_topic`` unless they exist; return those created.

    Each with the ``retention.ms`` of its data class (``privacy.stream_days``, ``privacy.dlq_days``: raw events,
    personal data), stated at creation: Quix Streams reads the input topic's ``retention.ms`` to configure its
    changelogs, and Tansu describes only the configs a topic was created with.

    Replication is left to the broker's default (``-1``): 1 on the local broker, the cluster's
    ``default.replication.factor`` (3 on a three-AZ MSK) in the cloud.
    """
    streaming, privacy = env.streaming, env.privacy
    admin = AdminClient({**connection.client_config(), "client.id": "sahab-topics"})
    admin.poll(0)  # serves the IAM token callback before the first request
    wanted = [
        NewTopic(streaming.topic, num_partitions=streaming.partitions,
                 config={"retention.ms": str(privacy.days_ms(privacy.stream_days))}),
        NewTopic(streaming.dlq_topic, num_partitions=DLQ_PARTITIONS,
                 config={"retention.ms": str(privacy.days_ms(privacy.dlq_days))}),
    ]
    created = []
    for name, future in admin.create_topics(wanted, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise CommandFailed(
                    f"cannot create topic {name!r} on {connection.bootstrap_servers}: {exc.args[0].str()}"
                ) from None
        except TimeoutError:
            raise CommandFailed(
                f"the broker at {connection.bootstrap_servers} did not answer within {timeout_s:g} s when creating "
                f"topic {name!r}; is it running (`sahab up local`)?"
            ) from None
    return created

"""Streaming ingestion: Kafka transaction events into the Feast online (and offline) store.

Not part of the Feast repository's definitions (``features.store.apply`` registers only
``features.definitions``). Modules, one concern each: ``events`` (the versioned contract),
``connection`` (local broker or MSK with IAM), ``local_broker`` (the Tansu broker on 127.0.0.1), ``topics``, ``producer``, ``synthetic`` and ``payloads``
(what the producer sends), ``ingestor`` (the consumer group), ``rolling`` (the adapter to
``features.aggregations``), ``state`` (crash-safe rolling-window state), ``seeding`` (a new state's history from the offline
store, local or S3), ``offline`` (offline-store sinks), ``dlq`` (dead-letter headers and reader), ``metrics`` (Prometheus), ``burst`` (produce a burst
and ingest it until caught up, for ``sahab up local``). User guide: ``docs/streaming.md``.
"""

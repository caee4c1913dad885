"""Streaming ingestion: Kafka transaction events into the Feast online (and offline) store.

Not part of the Feast repository's definitions: keep this package in ``features/.feastignore``.
Modules, one concern each: ``events`` (the versioned contract), ``connection`` (local broker or MSK),
``topics``, ``producer``, ``synthetic`` (live test data), ``ingestor`` (the consumer group), ``state``
(crash-safe rolling-window state), ``dlq`` (dead-letter headers), ``metrics`` (Prometheus),
``burst`` (produce a burst and ingest it until caught up, for ``sahab up local``).
"""

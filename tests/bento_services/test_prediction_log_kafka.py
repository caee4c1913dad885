"""The Kafka prediction sink against a real Kafka-protocol broker (Tansu) on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bento_services.prediction_log import KafkaPredictionSink, PredictionRecord, sink_for
from environments import load_environment
from environments.errors import CommandFailed
from features.ingest.local_broker import start_local_broker, stop_local_broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    env = load_environment("local").model_copy(update={"data_dir": str(tmp_path_factory.mktemp("kafka-sink"))})
    running = start_local_broker(env)
    yield env, running
    stop_local_broker(env)


def record(i: int) -> PredictionRecord:
    return PredictionRecord(transaction_id=f"t{i}", customer_id=f"c{i:06d}", merchant_id="m0001", variant="a",
                            model_version="v1", score=0.1 * i, latency_ms=1.0, features={"amount_aed": 10.0 * i})


def read_topic(bootstrap: str, topic: str, count: int) -> list[tuple[bytes, dict]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    found = []
    for _ in range(100):
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            found.append((message.key(), json.loads(message.value())))
        if len(found) == count:
            break
    consumer.close()
    return found


def test_records_reach_the_topic_keyed_by_customer(broker) -> None:
    _, running = broker
    admin = AdminClient({"bootstrap.servers": running.bootstrap_servers})  # kept alive until the topic exists
    admin.create_topics([NewTopic("predictions-test", num_partitions=1, replication_factor=1)])["predictions-test"].result(10)
    sink = KafkaPredictionSink({"bootstrap.servers": running.bootstrap_servers}, "predictions-test")
    sink.write([record(1), record(2)])
    sink.close()
    found = read_topic(running.bootstrap_servers, "predictions-test", 2)
    assert [key for key, _ in found] == [b"c000001", b"c000002"]
    assert [value["transaction_id"] for _, value in found] == ["t1", "t2"]
    assert found[1][1]["features"] == {"amount_aed": 20.0}


def test_the_environment_picks_the_kafka_sink_and_its_broker(broker) -> None:
    env, running = broker
    env = env.model_copy(update={"serving": env.serving.model_copy(update={"prediction_sink": "kafka"})})
    sink = sink_for(env)
    assert isinstance(sink, KafkaPredictionSink) and sink.topic == "predictions"
    sink.close()


def test_undeliverable_records_fail_loudly_at_close() -> None:
    sink = KafkaPredictionSink({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500}, "nowhere",
                               flush_timeout_s=2.0)
    sink.write([record(1)])
    with pytest.raises(CommandFailed, match="prediction log: .* undelivered to topic 'nowhere'"):
        sink.close()

"""The local Apache Kafka broker: round trip, durability, transactions, setup errors."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from fillstream.infra.broker import LocalBroker, free_port
from fillstream.infra.jars import BrokerSetupError, ensure_jars
from fillstream.infra.test_brokers import ephemeral_broker

TIMEOUT = 30.0


def _new_topic(bootstrap: str) -> str:
    """A topic of one partition, created explicitly: a cluster may disable auto-creation."""
    topic = f"test-broker-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result(TIMEOUT)
    return topic


def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: object) -> None:
        if error is not None:
            errors.append(error)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, value, key=b"k", on_delivery=delivered)
    assert producer.flush(TIMEOUT) == 0
    assert errors == []


def _consume(
    bootstrap: str, topic: str, count: int, isolation: str = "read_committed"
) -> list[bytes]:
    """The first `count` values of partition 0, read from the beginning."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values: list[bytes] = []
    try:
        for _ in range(int(TIMEOUT * 10)):
            message = consumer.poll(0.1)
            if message is None:
                continue
            assert message.error() is None, message.error()
            values.append(message.value())
            if len(values) == count:
                break
    finally:
        consumer.close()
    return values


@pytest.mark.integration
def test_ephemeral_broker_round_trip_and_cleanup() -> None:
    with ephemeral_broker() as bootstrap:
        topic = _new_topic(bootstrap)
        _produce(bootstrap, topic, b"hello")
        assert _consume(bootstrap, topic, 1) == [b"hello"]
    host, port = bootstrap.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), 1.0).close()


@pytest.mark.integration
def test_durable_broker_keeps_records_across_restart(tmp_path: Path) -> None:
    lib = ensure_jars()
    data_dir = tmp_path / "data"
    port, controller_port = free_port(), free_port()

    first = LocalBroker(data_dir, lib, port, controller_port)
    try:
        first.start()
        first.wait_ready()
        topic = _new_topic(first.bootstrap_servers)
        _produce(first.bootstrap_servers, topic, b"survives")
    finally:
        first.stop()
    cluster_id = (data_dir / "meta.properties").read_text()

    second = LocalBroker(data_dir, lib, port, controller_port)
    try:
        second.start()
        second.wait_ready()
        assert _consume(second.bootstrap_servers, topic, 1) == [b"survives"]
    finally:
        second.stop()
    assert (data_dir / "meta.properties").read_text() == cluster_id
    assert (tmp_path / "broker.log.1").is_file()  # the first run's log is kept


@pytest.mark.integration
def test_transactions_commit_and_abort(kafka_bootstrap: str) -> None:
    topic = _new_topic(kafka_bootstrap)
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"test-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(TIMEOUT)
    producer.begin_transaction()
    producer.produce(topic, b"aborted")
    assert producer.flush(TIMEOUT) == 0  # on the broker, not purged from the client's queue
    producer.abort_transaction(TIMEOUT)
    producer.begin_transaction()
    producer.produce(topic, b"committed")
    producer.commit_transaction(TIMEOUT)

    # Both records are in the log; only the committed one is visible to read_committed.
    assert _consume(kafka_bootstrap, topic, 2, "read_uncommitted") == [b"aborted", b"committed"]
    assert _consume(kafka_bootstrap, topic, 1, "read_committed") == [b"committed"]


def test_missing_java_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    broker = LocalBroker(tmp_path / "data", tmp_path / "lib", free_port(), free_port())
    with pytest.raises(BrokerSetupError, match=r"java not found: install a Java 17\+ JDK"):
        broker.start()
    assert not (tmp_path / "data").exists()


def test_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    broker = LocalBroker(tmp_path / "data", tmp_path / "lib", free_port(), free_port())
    with pytest.raises(BrokerSetupError, match=r"needs Java 17\+.*11\.0\.2"):
        broker.start()


def test_missing_maven_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrokerSetupError, match=r"mvn not found: install Maven.*apt install maven"):
        ensure_jars(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()

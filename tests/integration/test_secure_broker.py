"""The secured local broker (SASL_SSL, SCRAM-SHA-512, ACLs enforced) refuses whom it should."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.infra import tls
from fillstream.infra.broker import free_port
from fillstream.infra.test_brokers import SecureBroker

pytestmark = pytest.mark.integration

TIMEOUT = 20.0
REFUSED_WITHIN = 5.0


def _refused(config: dict[str, Any]) -> set[int]:
    """The error codes a client of `config` meets while its metadata request fails."""
    codes: set[int] = set()
    admin = AdminClient({**config, "error_cb": lambda error: codes.add(error.code())})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=REFUSED_WITHIN)
    admin.poll(0)  # serves the error callbacks queued meanwhile
    return codes


def _new_topic(secure_kafka: SecureBroker) -> str:
    topic = f"test-secure-{uuid.uuid4().hex[:12]}"
    admin = AdminClient(secure_kafka.config("admin"))
    admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result(TIMEOUT)
    return topic


def test_the_admin_lists_and_creates_topics_over_sasl_ssl(secure_kafka: SecureBroker) -> None:
    config = secure_kafka.config("admin")
    assert config["security.protocol"] == "SASL_SSL"
    topic = _new_topic(secure_kafka)
    assert topic in AdminClient(config).list_topics(timeout=TIMEOUT).topics


def test_a_wrong_password_is_refused(secure_kafka: SecureBroker) -> None:
    codes = _refused(secure_kafka.config("admin", **{"sasl.password": "not-the-password"}))
    assert KafkaError._AUTHENTICATION in codes


def test_a_client_trusting_another_ca_is_refused(
    secure_kafka: SecureBroker, tmp_path: Path
) -> None:
    other = tls.issue(tmp_path)
    codes = _refused(secure_kafka.config("admin", **{"ssl.ca.location": str(other.ca)}))
    assert KafkaError._SSL in codes


def test_a_user_without_acls_cannot_produce(secure_kafka: SecureBroker) -> None:
    topic = _new_topic(secure_kafka)
    errors: list[KafkaError] = []
    producer = Producer(
        secure_kafka.config("viewer", **{"message.timeout.ms": int(TIMEOUT * 1000)})
    )
    producer.produce(topic, b"refused", on_delivery=lambda error, _: errors.append(error))
    assert producer.flush(TIMEOUT) == 0
    assert [error.code() for error in errors] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]

    reader = Consumer(secure_kafka.config("admin", **{"group.id": f"test-{uuid.uuid4().hex}"}))
    try:
        assert reader.get_watermark_offsets(TopicPartition(topic, 0), TIMEOUT) == (0, 0)
    finally:
        reader.close()


def test_the_cli_starts_the_secured_broker_without_showing_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    port, controller_port = free_port(), free_port()
    runner = CliRunner()
    start = ["kafka", "start", "--secure", "--port", str(port)]
    started = runner.invoke(app, [*start, "--controller-port", str(controller_port)])
    try:
        assert started.exit_code == 0, started.output
        status = runner.invoke(app, ["kafka", "status"])
        assert status.exit_code == 0, status.output
        secure = tmp_path / "kafka" / "secure"
        record = json.loads((tmp_path / "kafka" / "broker.json").read_text())
        assert record["security"] == {
            "protocol": "SASL_SSL",
            "mechanism": "SCRAM-SHA-512",
            "ca_location": str(secure / "tls" / "ca.pem"),
            "users": str(secure / "users.json"),
        }
        passwords = json.loads((secure / "users.json").read_text())
        log = (secure / "broker.log").read_text()
        for output in (started.output, status.output):
            flat = output.replace("\n", "")
            assert "security: SASL_SSL" in flat
            assert f"KAFKA_SSL_CA_LOCATION={secure / 'tls' / 'ca.pem'}" in flat
            assert str(secure / "users.json") in flat
        for password in passwords.values():
            assert password not in started.output + status.output + json.dumps(record)
            assert password not in log
    finally:
        stopped = runner.invoke(app, ["kafka", "stop"])
    assert "Kafka stopped" in stopped.output
    assert runner.invoke(app, ["kafka", "status"]).exit_code == 1

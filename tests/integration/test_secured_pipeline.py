"""The pipeline on a broker that enforces TLS, SCRAM logins and ACLs: each process as its own
user, refusals said in one line, and no password anywhere in what a run prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from fillstream.acls import pipeline_acls
from fillstream.cluster_acls import apply_acls
from fillstream.config import load_config
from fillstream.infra import tls
from fillstream.infra.broker import free_port
from fillstream.infra.test_brokers import SecureBroker

pytestmark = pytest.mark.integration

TIMEOUT = 20.0
_KAFKA_VARIABLES = ("KAFKA_", "FILLSTREAM_", "SCHEMA_REGISTRY_")


def _environment(**variables: str) -> dict[str, str]:
    """This process's environment without any Kafka or fillstream setting, plus `variables`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_KAFKA_VARIABLES)}
    return {**kept, **variables}


def _fillstream(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fillstream", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def pipeline_topics(secure_kafka: SecureBroker) -> str:
    """A topic prefix of its own with the catalog's topics and the pipeline's ACLs on it."""
    from fillstream.schemas.topics import CATALOG

    prefix = f"secured-{uuid.uuid4().hex[:8]}."
    admin = AdminClient(secure_kafka.config("admin"))
    new = [NewTopic(prefix + spec.name, num_partitions=1) for spec in CATALOG]
    for future in admin.create_topics(new).values():
        future.result(TIMEOUT)
    apply_acls(admin, pipeline_acls(prefix, "at-least-once", load_config()))
    return prefix


def _refused_write(secure_kafka: SecureBroker, user: str, topic: str) -> list[int]:
    """Produce one record to `topic` as `user`: the delivery errors, and nothing written."""
    errors: list[int] = []
    producer = Producer(secure_kafka.config(user, **{"message.timeout.ms": int(TIMEOUT * 1000)}))
    producer.produce(topic, b"not allowed", on_delivery=lambda error, _: errors.append(error))
    assert producer.flush(TIMEOUT) == 0
    return [error.code() for error in errors if error is not None]


def _high_watermark(secure_kafka: SecureBroker, topic: str) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer(secure_kafka.config("admin", **{"group.id": f"t-{uuid.uuid4().hex}"}))
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), TIMEOUT)[1]
    finally:
        consumer.close()


def test_the_risk_processors_user_cannot_write_fills(secure_kafka, pipeline_topics):
    fills = pipeline_topics + "fills"
    assert _refused_write(secure_kafka, "risk", fills) == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert _high_watermark(secure_kafka, fills) == 0
    # ... where the desk's user may: the ACLs, not the broker, made the difference
    assert _refused_write(secure_kafka, "desk", fills) == []


def test_the_read_only_user_cannot_write_commands(secure_kafka, pipeline_topics):
    commands = pipeline_topics + "commands"
    assert _refused_write(secure_kafka, "viewer", commands) == [
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    ]
    assert _high_watermark(secure_kafka, commands) == 0


def _processor_env(secure_kafka: SecureBroker, tmp_path: Path, **overrides: str) -> dict[str, str]:
    settings = {
        "FILLSTREAM_STATE_DIR": str(tmp_path),
        "KAFKA_BOOTSTRAP_SERVERS": secure_kafka.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "risk",
        "KAFKA_SASL_PASSWORD": secure_kafka.passwords["risk"],
        "KAFKA_SSL_CA_LOCATION": secure_kafka.ca_location,
    }
    return _environment(**{**settings, **overrides})


def test_a_wrong_password_stops_a_processor_with_one_line(secure_kafka, tmp_path):
    env = _processor_env(secure_kafka, tmp_path, KAFKA_SASL_PASSWORD="not-the-password-42")
    run = _fillstream("run", "risk", env=env, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    said = (run.stdout + run.stderr).strip().splitlines()
    assert len(said) == 1, said
    assert "user 'risk'" in said[0] and "KAFKA_SASL_PASSWORD" in said[0]
    assert "not-the-password-42" not in said[0]


def test_a_broker_certificate_from_an_unknown_ca_stops_a_processor_with_one_line(
    secure_kafka, tmp_path
):
    other = tls.issue(tmp_path / "other-ca")
    env = _processor_env(secure_kafka, tmp_path, KAFKA_SSL_CA_LOCATION=str(other.ca))
    run = _fillstream("run", "risk", env=env, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    said = (run.stdout + run.stderr).strip().splitlines()
    assert len(said) == 1, said
    assert f"KAFKA_SSL_CA_LOCATION={other.ca}" in said[0]


def test_the_demo_runs_with_a_user_per_process_and_prints_no_password(tmp_path):
    state = tmp_path / "state"
    env = _environment(FILLSTREAM_STATE_DIR=str(state))
    ports = ["--port", str(free_port()), "--controller-port", str(free_port())]
    started = _fillstream("kafka", "start", "--secure", *ports, env=env, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        demo = _fillstream("demo", env=env, timeout=600)
        printed = demo.stdout + demo.stderr
        assert demo.returncode == 0, printed
        assert "0 not final, 0 dead letters" in printed
        assert re.search(r"TCA for (\d+) of \1\s+approved\s+orders", printed)

        # Each process was its own user: only the desk's may write the fills the demo made.
        prefix = re.search(r"topic prefix (demo-[0-9a-f-]+\.)", printed)
        assert prefix, printed
        read = _fillstream("acls", "show", "--json", env=env, timeout=60)
        assert read.returncode == 0, read.stderr
        held = json.loads(read.stdout)
        writers = {
            entry["principal"]
            for entry in held
            if entry["resource_name"] == prefix.group(1) + "fills" and entry["operation"] == "WRITE"
        }
        assert writers == {"User:desk", "User:gateway"}

        secure = state / "kafka" / "secure"
        passwords = json.loads((secure / "users.json").read_text()).values()
        logs = [path.read_text() for path in (state / "logs").glob("*.log")]
        everything = "\n".join([started.stdout, started.stderr, printed, *logs])
        everything += (secure / "broker.log").read_text()
        for password in passwords:
            assert password not in everything
    finally:
        _fillstream("kafka", "stop", env=env, timeout=60)

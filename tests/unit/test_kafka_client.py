"""Every client's Kafka settings: the environment, a properties file, the secured local broker."""

from __future__ import annotations

import json
import os
import socket

import pytest
from confluent_kafka import KafkaError

from fillstream.infra.kafka_access import explain
from fillstream.settings import kafka_client
from fillstream.settings.kafka_client import KafkaSettingsError, client_config, registry_config

_VARIABLES = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CA_LOCATION",
    "FILLSTREAM_KAFKA_CONFIG",
    "FILLSTREAM_KAFKA_ROLE",
    "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
)


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    for variable in _VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(kafka_client, "_role", "operator")


def test_plaintext_by_default(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    assert client_config({"group.id": "g"}) == {
        "bootstrap.servers": "broker:9092",
        "client.id": f"operator@{socket.gethostname()}:{os.getpid()}",
        "group.id": "g",
    }


def test_the_environment_in_the_names_managed_services_document(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "desk-prod")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("KAFKA_SSL_CA_LOCATION", "/etc/kafka/ca.pem")
    config = client_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("desk-prod", "s3cret")
    assert config["ssl.ca.location"] == "/etc/kafka/ca.pem"


def test_a_properties_file_under_the_environment_and_the_clients_own(monkeypatch, tmp_path):
    properties = tmp_path / "client.properties"
    properties.write_text(
        "# Confluent Cloud\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanisms = PLAIN\n"
        "sasl.username: KEY\n"
        "sasl.password=SECRET\n"
        "! another comment\n"
        "linger.ms=50\n"
    )
    monkeypatch.setenv("FILLSTREAM_KAFKA_CONFIG", str(properties))
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "OTHER")
    config = client_config({"linger.ms": 1})
    assert config["sasl.mechanisms"] == "PLAIN"
    assert config["sasl.username"] == "OTHER"  # the environment wins over the file
    assert config["sasl.password"] == "SECRET"
    assert config["linger.ms"] == 1  # and the client's own setting over both


def test_a_malformed_properties_file_names_its_line(monkeypatch, tmp_path):
    properties = tmp_path / "client.properties"
    properties.write_text("security.protocol=SSL\njust words\n")
    monkeypatch.setenv("FILLSTREAM_KAFKA_CONFIG", str(properties))
    with pytest.raises(KafkaSettingsError, match="line 2"):
        client_config()


def test_an_unknown_protocol_names_the_variable(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "TLS")
    with pytest.raises(KafkaSettingsError, match="KAFKA_SECURITY_PROTOCOL=TLS"):
        client_config()


def test_sasl_without_a_password_says_which_variable_is_missing(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "risk")
    with pytest.raises(KafkaSettingsError, match="KAFKA_SASL_PASSWORD") as refused:
        client_config()
    assert "KAFKA_SASL_USERNAME" not in str(refused.value)


def _secured_local_broker(tmp_path, passwords):
    users = tmp_path / "users.json"
    users.write_text(json.dumps(passwords))
    record = tmp_path / "state" / "kafka" / "broker.json"
    record.parent.mkdir(parents=True)
    record.write_text(
        json.dumps(
            {
                "pid": 1,
                "bootstrap_servers": "127.0.0.1:19092",
                "security": {
                    "protocol": "SASL_SSL",
                    "mechanism": "SCRAM-SHA-512",
                    "ca_location": str(tmp_path / "ca.pem"),
                    "users": str(users),
                },
            }
        )
    )


def test_each_role_logs_in_to_the_secured_local_broker_as_its_own_user(tmp_path, monkeypatch):
    _secured_local_broker(tmp_path, {"risk": "pw-risk", "operator": "pw-op", "viewer": "pw-v"})
    assert client_config()["sasl.username"] == "operator"
    kafka_client.act_as("risk")
    config = client_config()
    assert config["bootstrap.servers"] == "127.0.0.1:19092"
    assert config["security.protocol"] == "SASL_SSL"
    assert config["ssl.ca.location"] == str(tmp_path / "ca.pem")
    assert (config["sasl.username"], config["sasl.password"]) == ("risk", "pw-risk")
    monkeypatch.setenv("FILLSTREAM_KAFKA_ROLE", "viewer")
    assert client_config()["sasl.password"] == "pw-v"


def test_the_local_brokers_security_is_not_lent_to_another_cluster(tmp_path, monkeypatch):
    _secured_local_broker(tmp_path, {"operator": "pw-op"})
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "prod-kafka:9093")
    assert "sasl.password" not in client_config()


def test_an_unknown_role_is_refused():
    with pytest.raises(KafkaSettingsError, match="unknown Kafka role 'trader'"):
        kafka_client.act_as("trader")


def test_the_schema_registry_gets_basic_auth_from_the_environment(monkeypatch):
    monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "key:secret")
    config = registry_config("https://registry:8081")
    assert config["basic.auth.credentials.source"] == "USER_INFO"
    assert config["basic.auth.user.info"] == "key:secret"


_SCRAM = {"sasl.username": "risk", "sasl.mechanism": "SCRAM-SHA-512", "sasl.password": "pw"}


def test_a_refused_login_names_the_variables_to_fix():
    error = KafkaError(
        KafkaError._AUTHENTICATION,
        "SASL authentication error: Authentication failed during authentication due to invalid"
        " credentials with SASL mechanism SCRAM-SHA-512",
    )
    said = explain(error, _SCRAM)
    assert "'risk'" in said and "KAFKA_SASL_PASSWORD" in said
    assert "pw" not in said.replace("KAFKA_SASL_PASSWORD", "")


def test_an_untrusted_certificate_names_the_ca_setting():
    error = KafkaError(
        KafkaError._SSL,
        "ssl://127.0.0.1:19092/bootstrap: SSL handshake failed: error:0A000086:SSL routines::"
        "certificate verify failed",
    )
    said = explain(error, {"ssl.ca.location": "/tmp/other-ca.pem"})
    assert "KAFKA_SSL_CA_LOCATION=/tmp/other-ca.pem" in said


def test_a_missing_acl_names_the_user_the_topic_and_the_commands():
    error = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Broker: Topic authorization failed")
    said = explain(error, _SCRAM, resource="fills")
    assert "'risk'" in said and "topic fills" in said and "fillstream acls" in said


def test_other_errors_are_not_refusals():
    assert explain(KafkaError(KafkaError._TRANSPORT, "Connection refused"), _SCRAM) is None

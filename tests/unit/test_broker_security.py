"""The secured local broker's users, config and record (infra/broker_security.py), no JVM."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from fillstream import settings
from fillstream.infra.broker import LocalBroker
from fillstream.infra.broker_security import BrokerSecurity
from fillstream.settings import kafka_client
from fillstream.settings.kafka_client import ROLES


@pytest.fixture
def security(tmp_path: Path) -> BrokerSecurity:
    security = BrokerSecurity(tmp_path / "secure")
    security.ensure()
    return security


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_role_gets_its_own_random_password_readable_by_the_user_alone(
    security: BrokerSecurity,
) -> None:
    passwords = security.passwords()
    assert sorted(passwords) == sorted(ROLES)
    assert len(set(passwords.values())) == len(ROLES)
    assert all(len(password) >= 32 for password in passwords.values())
    assert _mode(security.users) == 0o600


def test_ensure_keeps_the_passwords_it_has_and_adds_the_roles_missing(
    security: BrokerSecurity,
) -> None:
    before = security.passwords()
    security.users.write_text(json.dumps({k: v for k, v in before.items() if k != "viewer"}))
    security.ensure()
    after = security.passwords()
    assert {k: v for k, v in after.items() if k != "viewer"} == {
        k: v for k, v in before.items() if k != "viewer"
    }
    assert after["viewer"] not in before.values()
    assert _mode(security.users) == 0o600


def test_the_client_listener_is_sasl_ssl_with_acls_enforced(security: BrokerSecurity) -> None:
    config = security.server_properties(19092, 19093)
    assert config["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert config["advertised.listeners"] == "SASL_SSL://127.0.0.1:19092"
    assert config["inter.broker.listener.name"] == "SASL_SSL"
    assert config["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert config["listener.name.controller.ssl.client.auth"] == "required"
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert config["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert config["super.users"].split(";")[0] == "User:admin"
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["ssl.keystore.type"] == config["ssl.truststore.type"] == "PEM"
    assert config["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="admin" password="{security.passwords()["admin"]}";'
    )


def test_format_creates_every_user_with_scram_sha_512(security: BrokerSecurity) -> None:
    arguments = security.format_arguments()
    assert arguments[::2] == ["--add-scram"] * len(ROLES)
    for name, password in security.passwords().items():
        assert f"SCRAM-SHA-512=[name={name},iterations=8192,password={password}]" in arguments


def test_no_password_is_anywhere_but_the_users_and_the_broker_config(
    tmp_path: Path, security: BrokerSecurity
) -> None:
    broker = LocalBroker(
        tmp_path / "secure" / "data", tmp_path / "lib", 19092, 19093, security=security
    )
    broker._write_config()
    record = json.dumps(security.record())

    assert _mode(broker.config_path) == 0o600
    config = broker.config_path.read_text()
    assert "listeners=SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n" in config
    holders = {security.users, broker.config_path}
    for password in security.passwords().values():
        assert password not in record
        for path in tmp_path.rglob("*"):
            if path.is_file() and path not in holders:
                assert password not in path.read_text(errors="replace"), path
    assert _mode(security.tls.keystore) == 0o600


def test_the_record_is_what_kafka_client_reads(
    tmp_path: Path, security: BrokerSecurity, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [name for name in os.environ if name.startswith("KAFKA_")]:
        monkeypatch.delenv(variable)
    monkeypatch.delenv("FILLSTREAM_KAFKA_CONFIG", raising=False)
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path / "state"))
    record = settings.local_broker_record()
    record.parent.mkdir(parents=True)
    record.write_text(
        json.dumps({"bootstrap_servers": "127.0.0.1:19092", "security": security.record()})
    )

    assert security.record() == {
        "protocol": "SASL_SSL",
        "mechanism": "SCRAM-SHA-512",
        "ca_location": str(security.tls.ca.resolve()),
        "users": str(security.users.resolve()),
    }
    assert kafka_client.local_security() == security.local()
    config = kafka_client.client_config(role_name="risk")
    assert config["bootstrap.servers"] == "127.0.0.1:19092"
    assert config["sasl.username"] == "risk"
    assert config["sasl.password"] == security.passwords()["risk"]
    assert config["ssl.ca.location"] == str(security.tls.ca.resolve())

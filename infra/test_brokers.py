"""Brokers for the integration tests: an existing cluster, a testcontainers Kafka, or a fresh
local JVM on free ports that disappears afterwards; and a secured one (SASL_SSL, SCRAM users,
ACLs: `broker_security`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fillstream.infra.broker import LocalBroker, free_port
from fillstream.infra.broker_security import BrokerSecurity
from fillstream.infra.jars import ensure_jars
from fillstream.settings.kafka_client import LocalSecurity

__all__ = ["SecureBroker", "broker_for_tests", "ephemeral_broker", "secure_broker_for_tests"]

# -- brokers for tests -----------------------------------------------------------------------


@contextlib.contextmanager
def _ephemeral(heap: str, secure: bool) -> Iterator[LocalBroker]:
    """A fresh broker on a temporary dir and free ports, ready; stopped and deleted on exit."""
    lib = ensure_jars()
    with tempfile.TemporaryDirectory(prefix="fillstream-kafka-") as tmp:
        port = free_port()
        controller_port = free_port()
        while controller_port == port:
            controller_port = free_port()
        security = BrokerSecurity(Path(tmp)) if secure else None
        broker = LocalBroker(Path(tmp) / "data", lib, port, controller_port, heap, security)
        try:
            broker.start()
            broker.wait_ready()
            yield broker
        finally:
            broker.stop()


@contextlib.contextmanager
def ephemeral_broker(heap: str = "512m") -> Iterator[str]:
    """A fresh broker on a temporary data dir and free ports; yields its bootstrap address.

    Stopped and deleted on exit, so each use starts from an empty cluster.
    """
    with _ephemeral(heap, secure=False) as broker:
        yield broker.bootstrap_servers


@dataclass(frozen=True)
class SecureBroker:
    """What a test needs of a secured broker: where it is, the CA to trust, its users."""

    bootstrap_servers: str
    security: LocalSecurity
    passwords: Mapping[str, str] = field(repr=False)
    """`{role: password}` for every role of `kafka_client.ROLES`; `admin` is the super user."""

    @property
    def ca_location(self) -> str:
        return self.security.ca_location

    def config(self, user: str, **overrides: Any) -> dict[str, Any]:
        """A client's configuration logging in as `user`, then `overrides` (librdkafka names:
        `config("viewer", **{"sasl.password": "wrong"})`)."""
        security = self.security.settings(user)
        return {"bootstrap.servers": self.bootstrap_servers, **security, **overrides}


@contextlib.contextmanager
def secure_broker_for_tests(heap: str = "512m") -> Iterator[SecureBroker]:
    """A fresh secured broker (SASL_SSL, SCRAM users, ACLs enforced: `broker_security`) on a
    temporary dir and free ports, always a local JVM: its users and CA are made here.

    Stopped and deleted on exit, with its CA and users.
    """
    with _ephemeral(heap, secure=True) as broker:
        assert broker.security is not None
        yield SecureBroker(
            bootstrap_servers=broker.bootstrap_servers,
            security=broker.security.local(),
            passwords=MappingProxyType(broker.security.passwords()),
        )


def _docker_answers() -> bool:
    """Whether a Docker engine answers a ping within 2s (no engine is the common case here)."""
    try:
        import docker  # a dev dependency, via testcontainers

        return bool(docker.from_env(timeout=2).ping())
    except Exception:
        return False


@contextlib.contextmanager
def broker_for_tests() -> Iterator[str]:
    """The broker integration tests run against, as a bootstrap address.

    `KAFKA_BOOTSTRAP_SERVERS` (an existing cluster) if set; else a testcontainers Kafka in KRaft
    mode if a Docker engine answers; else `ephemeral_broker()`, a local JVM.
    """
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
    elif _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with ephemeral_broker() as bootstrap:
            yield bootstrap

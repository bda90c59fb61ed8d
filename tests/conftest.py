"""Fixtures shared by every test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fillstream.infra.test_brokers import SecureBroker, broker_for_tests, secure_broker_for_tests
from fillstream.schemas import trusted

# Every record the pipeline builds unvalidated is validated too, and must come out the same.
trusted.CHECK = True


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka broker, one per session (see `broker_for_tests`)."""
    with broker_for_tests() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def secure_kafka() -> Iterator[SecureBroker]:
    """A secured local broker (SASL_SSL, a SCRAM user per role, ACLs enforced), one per
    session: its address, CA and users' passwords (see `secure_broker_for_tests`)."""
    with secure_broker_for_tests() as broker:
        yield broker

"""Fixtures shared by every test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fillstream.infra.broker import broker_for_tests


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka broker, one per session (see `broker_for_tests`)."""
    with broker_for_tests() as bootstrap:
        yield bootstrap

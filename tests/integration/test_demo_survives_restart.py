"""The demo's data lives on the durable local broker and survives a broker restart."""

from __future__ import annotations

import pytest

from fillstream.demo import run as run_demo
from fillstream.infra.broker import free_port, local_status, start_local, stop_local
from fillstream.schemas.topics import find
from fillstream.topic_io import consume
from tests.examples import example_records

pytestmark = pytest.mark.integration


def test_a_broker_restart_keeps_the_demos_signals(tmp_path, monkeypatch):
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("FILLSTREAM_TOPIC_PREFIX", raising=False)
    ports = {"port": free_port(), "controller_port": free_port()}
    sent = example_records(find("signals"))
    try:
        start_local(**ports)
        assert run_demo() is True
        assert stop_local() is True
        assert not local_status().running

        start_local(**ports)
        kept = list(consume(find("signals"), from_beginning=True, idle_timeout=10))
    finally:
        stop_local()
    assert sorted(item.record["signal_id"] for item in kept) == sorted(r["signal_id"] for r in sent)
    assert all(item.record in sent for item in kept)

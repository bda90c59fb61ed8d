"""The main job on the durable local broker; its records survive a broker restart."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.infra.broker import free_port
from fillstream.infra.demo_broker import local_status, start_local, stop_local
from fillstream.infra.topic_io import consume
from fillstream.infra.topics import admin_client
from fillstream.schemas.topics import find

pytestmark = pytest.mark.integration


def run_demo() -> str:
    """Run the demo, check its summary, and return the topic prefix it ran under."""
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "0 not final, 0 dead letters" in result.output
    assert re.search(r"TCA for (\d+) of \1\s+approved\s+orders", result.output)
    for reason in ("INVALID_SIGNAL", "MAX_ORDER_QUANTITY", "UNKNOWN_INSTRUMENT"):
        assert f"1 × {reason}" in result.output
    found = re.search(r"topic prefix (demo-[0-9a-f-]+\.)", result.output)
    assert found, result.output
    return found.group(1)


def test_the_demo_runs_the_pipeline_and_a_restart_keeps_its_records(tmp_path, monkeypatch):
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("FILLSTREAM_TOPIC_PREFIX", raising=False)
    ports = {"port": free_port(), "controller_port": free_port()}
    try:
        start_local(**ports)
        first = run_demo()
        assert stop_local() is True
        assert not local_status().running

        start_local(**ports)
        monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", first)
        signals = list(consume(find("signals"), from_beginning=True, idle_timeout=5))
        states = list(consume(find("orders.state"), from_beginning=True, idle_timeout=5))
        assert len(signals) == 17  # 14 to one account, 3 children of the one to the group
        groups = list(consume(find("signals.group"), from_beginning=True, idle_timeout=5))
        allocations = list(consume(find("allocations"), from_beginning=True, idle_timeout=5))
        assert [item.record["allocated"] for item in allocations] == [Decimal("0.1")]
        assert len(groups) == 1
        assert {item.record["status"] for item in states} >= {"filled", "rejected", "cancelled"}

        # Run again: a pipeline of its own, all of whose orders end as the first run's did
        # (sharing the first run's memory, its orders filled less and TCA measured none), and
        # the first run's topics are gone.
        monkeypatch.delenv("FILLSTREAM_TOPIC_PREFIX")
        second = run_demo()
        assert second != first
        remaining = admin_client().list_topics(timeout=10).topics
        assert not [name for name in remaining if first in name]
        assert [name for name in remaining if second in name]
    finally:
        stop_local()

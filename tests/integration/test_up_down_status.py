"""`fillstream up | status | down` as a user runs them, each a command of its own: the system
comes up, a published signal fills, status is healthy, a desk killed with SIGKILL is restarted
within seconds (a `restarts` record on `metrics` says so) and the next signal fills, and `down`
leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fillstream.connectors.feeds.events import MarketEvent
from fillstream.domain.ids import order_id_for
from fillstream.infra.broker import free_port
from fillstream.infra.topic_io import consume, end_offsets, start_offsets
from fillstream.pipeline import feed, tick
from fillstream.schemas.models import Quote
from fillstream.schemas.topics import find
from fillstream.supervisor_record import SupervisorRecord, read_record
from tests.integration.processes import alive

pytestmark = pytest.mark.integration


def wait_for(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.3)
    return found


class User:
    """Runs `fillstream` commands in the environment of one installation."""

    def __init__(self, environment: dict[str, str], tmp_path: Path) -> None:
        self.environment = environment
        self.tmp_path = tmp_path

    def run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fillstream", *arguments],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def record(self) -> SupervisorRecord | None:
        return read_record(Path(self.environment["FILLSTREAM_STATE_DIR"]) / "supervisor.json")

    def pids(self) -> dict[str, int]:
        record = self.record()
        assert record is not None
        return {child.name: child.pid for child in record.children}

    def trade(self, signal_id: str) -> None:
        """A quote from the market (and risk's reference price), then a market order through
        `fillstream signals publish`; filled once the clock passes the venue's latency."""
        now_us = time.time_ns() // 1000
        quote = Quote(
            symbol="BTC/USDT",
            venue="binance",
            bid_price=Decimal("61000"),
            bid_size=Decimal("2"),
            ask_price=Decimal("61000.50"),
            ask_size=Decimal("2"),
            timestamp=now_us,
        )
        feed([MarketEvent.of(quote)], [])
        signals = self.tmp_path / f"{signal_id}.jsonl"
        order = {"signal_id": signal_id, "strategy_id": "up-test", "account_id": "acct-up"}
        order |= {"symbol": "BTC/USDT", "side": "buy", "quantity": "0.01", "order_type": "market"}
        signals.write_text(json.dumps(order) + "\n")
        published = self.run("signals", "publish", str(signals))
        assert published.returncode == 0, published.stderr

        def filled() -> bool:
            tick(time.time_ns() // 1000)
            answer = self.run("orders", "status", order_id_for(signal_id))
            return answer.returncode == 0 and json.loads(answer.stdout)["status"] == "filled"

        wait_for(f"fill of {signal_id}", filled, 45)

    def healthy(self) -> bool:
        return self.run("status").returncode == 0


def restarts_on_metrics() -> list[dict[str, Any]]:
    spec = find("metrics")
    return [
        item.record
        for item in consume(spec, start=start_offsets(spec), end=end_offsets(spec))
        if item.record is not None and item.record["name"] == "restarts"
    ]


def test_up_runs_the_system_restarts_a_killed_desk_and_down_stops_everything(
    kafka_bootstrap, tmp_path, monkeypatch
):
    prefix = f"up{uuid.uuid4().hex[:6]}."
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", prefix)
    user = User(
        {
            **os.environ,
            "FILLSTREAM_STATE_DIR": str(tmp_path / "state"),
            "FILLSTREAM_API_KEYS": "up-test-key-0000001:read",
            "COLUMNS": "200",
        },
        tmp_path,
    )
    started = user.run("up", "--api-port", str(free_port()))
    assert started.returncode == 0, started.stdout + started.stderr
    assert "fillstream is up" in started.stdout
    record = user.record()
    assert record is not None and not record.broker_started
    every_pid = {record.pid, *user.pids().values()}
    try:
        assert set(user.pids()) == {"monitor", "scheduler", "risk", "desk", "clock", "api"}
        again = user.run("up")
        assert again.returncode == 1 and "already up" in again.stderr

        user.trade("up-1")
        wait_for("healthy status", user.healthy, 30)
        status = user.run("status").stdout
        shown = ("monitor", "scheduler", "risk", "desk", "clock", "api", "0,1,2")
        assert all(name in status for name in shown), status

        desk = user.pids()["desk"]
        os.kill(desk, signal.SIGKILL)
        new_desk = wait_for(
            "a new desk", lambda: (pid := user.pids()["desk"]) != desk and alive(pid) and pid, 10
        )
        every_pid.add(new_desk)
        (restart,) = wait_for("the restart on metrics", restarts_on_metrics, 10)
        assert restart["processor"] == "desk" and restart["labels"]["exit_code"] == "-9"
        assert restart["value"] == 1.0

        user.trade("up-2")
        wait_for("healthy status after the restart", user.healthy, 30)
        desk_row = next(line for line in user.run("status").stdout.splitlines() if "desk" in line)
        assert str(new_desk) in desk_row and " 1 " in desk_row  # one restart
    finally:
        stopped = user.run("down")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "fillstream is down" in stopped.stdout
    assert not [pid for pid in every_pid if alive(pid)]
    assert user.record() is None
    assert user.run("status").returncode == 3

"""Scaling a running system: `fillstream up`, then the API asks its supervisor for two desk
workers and back to one while orders flow. The resources listing shows the real workers'
pids and the partitions each holds; every order fills once, and `fillstream audit` finds
nothing lost or repeated."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from typing import Any

import pytest

from fillstream.connectors.feeds.events import MarketEvent
from fillstream.infra.broker import free_port
from fillstream.pipeline import feed, tick
from fillstream.schemas.models import Quote
from tests.integration.processes import alive
from tests.integration.test_up_down_status import User, wait_for

pytestmark = pytest.mark.integration

ADMIN = "scale-admin-key-00001"
SYMBOLS = {"BTC/USDT": ("binance", "61000", "0.01"), "IBM": ("nyse", "150", "1")}


class Api:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1"

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-API-Key": ADMIN, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())["data"]
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except OSError:
            return 0, None  # not listening yet

    def desk_partitions(self) -> dict[int, list[int] | None]:
        """pid → partitions of each live desk worker."""
        status, data = self.call("GET", "/execution/resources")
        if status != 200:
            return {}
        (desk,) = [p for p in data["processors"] if p["processor"] == "desk"]
        return {worker["pid"]: worker["partitions"] for worker in desk["workers"]}


def publish(batch: int) -> list[str]:
    """Fresh quotes, then four market orders over both symbols: their order ids."""
    now_us = time.time_ns() // 1000
    quotes = [
        Quote(
            symbol=symbol,
            venue=venue,
            bid_price=Decimal(price),
            bid_size=Decimal("1000"),
            ask_price=Decimal(price) + Decimal("0.5"),
            ask_size=Decimal("1000"),
            timestamp=now_us,
        )
        for symbol, (venue, price, _) in SYMBOLS.items()
    ]
    signals = [
        {
            "signal_id": f"scale-{batch}-{n}",
            "strategy_id": "scale-test",
            "account_id": f"acct-{n % 2}",
            "symbol": symbol,
            "side": "buy",
            "quantity": SYMBOLS[symbol][2],
            "order_type": "market",
            "created_at": now_us + 1 + n,
        }
        for n, symbol in enumerate([*SYMBOLS, *SYMBOLS])
    ]
    feed([MarketEvent.of(quote) for quote in quotes], signals)
    return [f"o-{signal['signal_id']}" for signal in signals]


def test_allocate_two_desk_workers_and_back_to_one_without_losing_an_order(
    kafka_bootstrap, tmp_path, monkeypatch
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", f"scale{uuid.uuid4().hex[:6]}.")
    user = User(
        {
            **os.environ,
            "FILLSTREAM_STATE_DIR": str(tmp_path / "state"),
            "FILLSTREAM_API_KEYS": f"{ADMIN}:admin",
            "FILLSTREAM_METRICS_INTERVAL": "1",  # partitions reported every second
            "COLUMNS": "200",
        },
        tmp_path,
    )
    port = free_port()
    started = user.run("up", "--api-port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    api = Api(port)
    pids: set[int] = set(user.pids().values())
    try:
        desk = user.pids()["desk"]
        wait_for(
            "the desk worker holding every partition",
            lambda: api.desk_partitions() == {desk: [0, 1, 2]},
            60,
        )
        orders = publish(1)

        status, answer = api.call(
            "POST", "/execution/resources/allocate", {"processor": "desk", "workers": 2}
        )
        assert (status, answer["workers"], answer["running"]) == (202, 2, 1)
        orders += publish(2)  # in flight while the group rebalances
        second = wait_for("a second desk worker", lambda: user.pids().get("desk#1"), 30)
        pids.add(second)

        def shared() -> bool:
            held = api.desk_partitions()
            return (
                set(held) == {desk, second}
                and all(held.values())
                and sorted(p for partitions in held.values() for p in partitions) == [0, 1, 2]
            )

        wait_for("the two workers sharing the partitions", shared, 60)
        assert "desk 2" in user.run("status").stdout

        status, _ = api.call(
            "POST", "/execution/resources/allocate", {"processor": "desk", "workers": 1}
        )
        assert status == 202
        orders += publish(3)
        wait_for("the second worker to stop", lambda: "desk#1" not in user.pids(), 30)
        assert not alive(second)
        wait_for(
            "the first worker holding every partition again",
            lambda: api.desk_partitions() == {desk: [0, 1, 2]},
            60,
        )
        assert user.pids()["desk"] == desk  # scaled back, not restarted
        refused = user.run("scale", "desk", "9")
        assert refused.returncode == 2 and "from 1 to 3" in refused.stderr

        def all_filled() -> bool:
            tick(time.time_ns() // 1000)
            status, page = api.call("GET", "/orders?status=filled&limit=100")
            return status == 200 and page["total"] == len(orders)

        wait_for("every order filled", all_filled, 60)
        status, page = api.call("GET", "/orders?limit=100")
        assert sorted(o["order_id"] for o in page["orders"]) == sorted(orders)

        report = tmp_path / "audit.json"
        audit = user.run("audit", "--json", str(report))
        assert audit.returncode == 0, audit.stdout + audit.stderr
        summary = json.loads(report.read_text())
        assert summary["violations"] == []
        # one order and one fill per signal: nothing lost, nothing repeated
        assert (summary["orders"], summary["fills"], summary["working"]) == (len(orders),) * 2 + (
            0,
        )
    finally:
        stopped = user.run("down")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not [pid for pid in pids if alive(pid)]

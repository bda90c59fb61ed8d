"""Crash consistency under load: processors SIGKILLed at random moments lose nothing, send
nothing to a venue twice and contradict nothing they published.

Mixed orders (IOC and resting limits, market orders, TWAP and POV) over three symbols and
eight accounts go through risk and the desk at 500 signals a second, while a random
processor is killed and started again a dozen times. Under at-least-once a restarted
processor publishes again what it had published since its last checkpoint; every copy must
equal the first. Then the audit must pass, every order must be final, and each account's
position must equal its fills (the audit's POSITION_MISMATCH rule).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from fillstream.bench import workload
from fillstream.cli import app
from fillstream.infra.topic_io import codec, make_producer, send
from fillstream.pipeline import Pipeline, Watcher, tick, wire_signal
from fillstream.schemas.models import TERMINAL, Quote, Trade
from fillstream.schemas.topics import find, key_of
from fillstream.streams.risk.market import reference_of
from tests.integration.live import running_pipeline

pytestmark = pytest.mark.integration

RATE, SECONDS, KILLS = 500, 16, 12
IDS = {  # what identifies a record on each topic: one id, one content
    "orders.approved": ("order_id",),
    "orders.rejected": ("signal_id", "stage"),
    "orders.routed": ("order.order_id",),
    "slices": ("slice_id", "action", "created_at"),
    "fills": ("report_id",),
    "fills.accounts": ("report_id",),
    "orders.state": ("order_id", "version"),
    "orders.ended": ("order_id",),
    "commands": ("command_id",),
    "tca": ("order_id",),
}


def _field(record: dict, path: str) -> object:
    for part in path.split("."):
        record = record[part]
    return record


def _signal(n: int, now_us: int) -> dict:
    account = workload.ACCOUNTS[n % len(workload.ACCOUNTS)]
    symbol = list(workload.MIDS)[n // len(workload.ACCOUNTS) % len(workload.MIDS)]
    mid, side = workload.MIDS[symbol], ("buy", "sell")[n // 24 % 2]
    far, touch = (-1, 1) if side == "buy" else (1, -1)
    kind = n % 10
    raw: dict = {
        "signal_id": f"crash-{n}",
        "strategy_id": "crash",
        "account_id": account,
        "symbol": symbol,
        "side": side,
        "quantity": workload.QUANTITY,
        "order_type": "limit",
        "created_at": now_us,
    }
    if kind < 4:  # IOC at the far touch: fills at once
        raw |= {"price": mid + touch * workload.SPREAD, "time_in_force": "IOC"}
    elif kind < 6:
        raw |= {"order_type": "market"}
    elif kind < 8:  # resting away from the market until it expires
        raw |= {"price": mid + far * 100 * workload.SPREAD, "time_in_force": "GTD"}
        raw["expire_at"] = now_us + 3_000_000
    elif kind == 8:
        raw |= {"order_type": "market", "algorithm": "twap", "quantity": Decimal("0.004")}
        raw["algorithm_parameters"] = {"duration_seconds": "2", "interval_seconds": "0.5"}
    else:
        raw |= {"order_type": "market", "algorithm": "pov", "quantity": Decimal("0.004")}
        raw["algorithm_parameters"] = {"participation_rate": "0.5"}
    return wire_signal(raw)


def _market_events(now_us: int, sequence: int) -> list[Quote | Trade]:
    """A quote one tick either side of each symbol's mid, with ample size, and a trade."""
    events: list[Quote | Trade] = []
    for symbol, mid in workload.MIDS.items():
        events.append(
            Quote(
                symbol=symbol,
                venue=workload.VENUE,
                bid_price=mid - workload.SPREAD,
                bid_size=workload.AMPLE,
                ask_price=mid + workload.SPREAD,
                ask_size=workload.AMPLE,
                timestamp=now_us,
            )
        )
        events.append(
            Trade(
                symbol=symbol,
                venue=workload.VENUE,
                trade_id=f"{symbol}-{sequence}",
                price=mid,
                quantity=Decimal("0.1"),
                timestamp=now_us,
            )
        )
    return events


class _Market(threading.Thread):
    """Quotes, trades and clock ticks every 50 ms, on the wall clock, until stopped; records
    wait in the producer while the broker is away, as a feed's would."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        producer = make_producer(**{"message.timeout.ms": 0})
        quotes, trades = find("market.quotes"), find("market.trades")
        references = find("market.reference")  # risk's prices, on every partition
        encode = {spec.name: codec(spec).encode for spec in (quotes, trades, references)}
        sequence = 0
        while not self.stopping.wait(0.05):
            sequence += 1
            now = time.time_ns() // 1000
            for event in _market_events(now, sequence):
                own = quotes if isinstance(event, Quote) else trades
                for spec, record in ((own, event), (references, reference_of(event))):
                    value = record.model_dump()
                    send(producer, spec, encode[spec.name](value), key_of(spec, value))
            tick(now, sequence, producer)  # the punctuator: time passes in every partition
            producer.poll(0)
        producer.flush(30)


def _killer(pipeline: Pipeline, stop: threading.Event, killed: list[str]) -> None:
    chance = random.Random(14)
    while not stop.wait(chance.uniform(0.4, 1.6)):
        name = chance.choice(("risk", "desk"))
        pipeline.kill(name)
        pipeline.start_one(name)
        killed.append(name)


@pytest.fixture(scope="module")
def crashed(kafka_bootstrap, tmp_path_factory):
    config = tmp_path_factory.mktemp("crash") / "engine.toml"
    config.write_text(workload.engine_toml())
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "crash", config=config, hold_ms=0) as (
        pipeline,
        watcher,
    ):
        market = _Market()
        market.start()
        stop, killed = threading.Event(), []
        killer = threading.Thread(target=_killer, args=(pipeline, stop, killed), daemon=True)
        producer = make_producer(**{"linger.ms": 1})
        spec, encoder = find("signals"), codec(find("signals"))
        start = time.monotonic()
        killer.start()
        for n in range(RATE * SECONDS):
            time.sleep(max(0.0, start + n / RATE - time.monotonic()))
            value = _signal(n, time.time_ns() // 1000)
            send(producer, spec, encoder.encode(value), key_of(spec, value))
            producer.poll(0)
        producer.flush(30)
        stop.set()
        killer.join()
        _wait_for_every_order(watcher, pipeline, RATE * SECONDS, timeout=240)
        market.stopping.set()
        market.join()
        watcher.settle(timeout=120, pipeline=pipeline)
        pipeline.stop()
        yield watcher, killed


def _wait_for_every_order(watcher: Watcher, pipeline: Pipeline, count: int, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipeline.check_alive()
        watcher.drain()
        final = {s["order_id"] for s in watcher.records["orders.state"] if s["status"] in TERMINAL}
        if len(final) >= count:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{len(final)} of {count} orders final after {timeout} s")


def test_the_orders_traded(crashed):
    watcher, _ = crashed
    latest = {state["order_id"]: state for state in watcher.records["orders.state"]}
    statuses = Counter(state["status"] for state in latest.values())
    rejections = Counter(
        (r["reason_code"], r["symbol"], r["account_id"], r["signal_id"][-1:])
        for r in watcher.records["orders.rejected"]
    )
    assert statuses["filled"] > RATE * SECONDS // 2, (statuses, rejections)
    algorithms = Counter(s["algorithm"] for s in latest.values() if s["status"] == "filled")
    assert algorithms["twap"] and algorithms["pov"], algorithms


def test_processors_were_killed_while_busy(crashed):
    _, killed = crashed
    assert len(killed) >= 10 and set(killed) == {"risk", "desk"}


def test_every_copy_of_a_record_equals_the_first(crashed):
    watcher, _ = crashed
    for topic, fields in IDS.items():
        first: dict[tuple, dict] = {}
        for record in watcher.records[topic]:
            key = tuple(_field(record, f) for f in fields)
            assert first.setdefault(key, record) == record, f"{topic} {key} contradicted"


def test_no_slice_reached_the_venue_twice(crashed):
    watcher, _ = crashed
    acks = defaultdict(set)
    for report in watcher.records["fills"]:
        if report["exec_type"] == "ack":
            acks[report["slice_id"]].add(report["report_id"])
    assert acks and max(len(ids) for ids in acks.values()) == 1


def test_every_order_is_final_and_the_audit_passes(crashed, tmp_path):
    watcher, _ = crashed
    latest = {}
    for state in watcher.records["orders.state"]:
        latest[state["order_id"]] = state["status"]
    assert len(latest) == RATE * SECONDS
    assert set(latest.values()) <= TERMINAL
    assert not watcher.undecodable
    path = tmp_path / "audit.json"
    result = CliRunner().invoke(app, ["audit", "--json", str(path)])
    report = json.loads(path.read_text())
    assert result.exit_code == 0, result.output
    assert report["violations"] == []

"""Each pure core's cost per call, timed in one process (no Kafka).

`benchmarks/cores.py` prints the same measurements as a markdown table; `fillstream bench`
reports them after its pipeline phases.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from fillstream.config import EngineConfig, load_config
from fillstream.connectors.feeds import load
from fillstream.connectors.feeds.samples import sample_file
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.connectors.simvenue.venue import SimulatedVenue
from fillstream.replay import run_replay
from fillstream.schemas.models import (
    BookUpdate,
    ExecutionReport,
    ParentOrder,
    PriceLevel,
    Quote,
    Signal,
    Slice,
    Trade,
)
from fillstream.streams.orders import apply_report, open_order
from fillstream.streams.risk import (
    MarketView,
    Rejection,
    RiskState,
    approve,
    check_signal,
    order_price,
)
from fillstream.streams.routing import plan_route

__all__ = ["CORES", "CoreCost", "book_events", "core_costs", "per_call_us"]


T = 1723161300_000000
D = Decimal


@dataclass(frozen=True)
class CoreCost:
    """One core call's cost per event, in µs, over repeats."""

    name: str
    timings_us: list[float]
    case: str

    @property
    def median_us(self) -> float:
        return statistics.median(self.timings_us)


def per_call_us(action: Callable[[], object], count: int, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            action()
        timings.append((time.perf_counter() - start) / count * 1e6)
    return timings


def _signal(**changes: object) -> Signal:
    fields = {
        "signal_id": "s-bench",
        "strategy_id": "bench",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": "0.25",
        "order_type": "limit",
        "price": "61250.00",
        "created_at": T,
    }
    return Signal.model_validate(fields | changes)


def risk_check(repeats: int) -> CoreCost:
    config = load_config()
    market = MarketView()
    market.update(
        Quote(
            symbol="BTC/USDT",
            venue="binance",
            bid_price=D("61250.99"),
            bid_size=D("1"),
            ask_price=D("61251.00"),
            ask_size=D("1"),
            timestamp=T,
        )
    )
    state = RiskState()
    signal = _signal()
    for n in range(20):  # a busy account: 20 orders in the last second
        earlier = signal.model_copy(update={"signal_id": f"s-{n}"})
        approve(state, earlier, order_price(earlier, market), T - 900_000 + n * 1000)
    assert not isinstance(check_signal(config.risk, state, signal, market, T), Rejection)
    timings = per_call_us(
        lambda: check_signal(config.risk, state, signal, market, T), 100_000, repeats
    )
    return CoreCost("risk: check_signal", timings, "approved limit order, every limit configured")


def routing(repeats: int) -> CoreCost:
    config = load_config()
    quotes = {
        venue: Quote(
            symbol="IBM",
            venue=venue,
            bid_price=D("183.10"),
            bid_size=D("300"),
            ask_price=D("183.14") + D("0.01") * n,
            ask_size=D("200"),
            timestamp=T,
        )
        for n, venue in enumerate(config.instruments.venues_for("IBM"))
    }
    order = _signal(symbol="IBM", quantity="1000", order_type="market", price=None)
    timings = per_call_us(
        lambda: plan_route(order, config.venues, quotes, config.instruments), 20_000, repeats
    )
    return CoreCost("router: plan_route", timings, "1,000 IBM over 7 exchanges")


def book_events() -> list[Quote | Trade | BookUpdate]:
    capture = sample_file("btcusdt_20240808.gz")
    events = load(capture) if capture else synthetic_events(SyntheticParams(start=T))
    return [e.record for e in itertools.islice(events, 20_000)]


def _binance(config: EngineConfig) -> SimulatedVenue:
    instrument = config.instruments.get("binance", "BTC/USDT")
    assert instrument is not None
    return SimulatedVenue(config.venues["binance"], [instrument])


def venue_market_events(repeats: int) -> CoreCost:
    config = load_config()
    records = book_events()

    def replay_all() -> None:
        venue = _binance(config)
        for record in records:
            venue.on_market(record)

    timings = [t / len(records) for t in per_call_us(replay_all, 1, repeats)]
    return CoreCost("venue: on_market", timings, f"{len(records):,} recorded events, no orders")


def venue_order(repeats: int) -> CoreCost:
    config = load_config()
    book = BookUpdate(
        symbol="BTC/USDT",
        venue="binance",
        kind="snapshot",
        bids=[PriceLevel(price=D("61250") - n, quantity=D("0.5")) for n in range(20)],
        asks=[PriceLevel(price=D("61251") + n, quantity=D("0.5")) for n in range(20)],
        timestamp=T,
    )
    counter = itertools.count()

    def one_order() -> None:
        venue = _binance(config)
        venue.on_market(book)
        n = next(counter)
        venue.submit(
            Slice(
                slice_id=f"o-{n}-1",
                order_id=f"o-{n}",
                signal_id=f"s-{n}",
                account_id="a",
                symbol="BTC/USDT",
                venue="binance",
                action="new",
                sequence=1,
                side="buy",
                quantity=D("0.8"),
                order_type="market",
                created_at=T,
            )
        )
        venue.advance(T + 10_000)

    setup = per_call_us(lambda: _binance(config).on_market(book), 500, repeats)
    total = per_call_us(one_order, 500, repeats)
    timings = [whole - base for whole, base in zip(total, setup, strict=True)]
    return CoreCost("venue: market order", timings, "walks 2 levels: ack + 2 fills, 3 reports")


def oms_report(repeats: int) -> CoreCost:
    parent = ParentOrder(order_id="o-1", signal=_signal(quantity="1000000"), approved_at=T)
    state = open_order(parent)
    reports = [
        ExecutionReport(
            report_id=f"o-1-1:{n}",
            order_id="o-1",
            signal_id="s-bench",
            slice_id="o-1-1",
            account_id="acct-1",
            symbol="BTC/USDT",
            venue="binance",
            side="buy",
            exec_type="partial_fill",
            status="partially_filled",
            quantity=D("1000000"),
            last_quantity=D("0.01"),
            last_price=D("61250"),
            filled_quantity=D("0.01") * n,
            leaves_quantity=D("1000000") - D("0.01") * n,
            average_price=D("61250"),
            commission=D("0.6125") * n,
            timestamp=T + n,
        )
        for n in range(1, 2001)
    ]

    def apply_all() -> None:
        current = state
        for report in reports:
            current, _ = apply_report(current, report)

    timings = [t / len(reports) for t in per_call_us(apply_all, 1, repeats)]
    return CoreCost("oms: apply_report", timings, "partial fills of one slice")


def replay_throughput(repeats: int) -> CoreCost | None:
    """None without the BTCUSDT capture (../shared/data), which the figure is about."""
    capture = sample_file("btcusdt_20240808.gz")
    if capture is None:
        return None
    events = list(load(capture))
    config = load_config()
    signals = [
        _signal(
            signal_id=f"s-{n}",
            order_type="market",
            price=None,
            quantity="0.01",
            created_at=T + n * 1_000_000,
        ).model_dump(mode="json")
        for n in range(100)
    ]

    def replay() -> None:
        run_replay(config, events, signals)

    timings = [t / len(events) for t in per_call_us(replay, 1, repeats)]
    rate = 1e6 / statistics.median(timings)
    return CoreCost(
        "replay harness, per market event",
        timings,
        f"{len(events):,} events + 100 signals: {rate:,.0f} events/s",
    )


CORES: tuple[Callable[[int], CoreCost | None], ...] = (
    risk_check,
    routing,
    venue_market_events,
    venue_order,
    oms_report,
    replay_throughput,
)


def core_costs(repeats: int) -> Iterator[CoreCost]:
    """Each core's cost, one at a time, so a caller can show them as they come."""
    for bench in CORES:
        cost = bench(repeats)
        if cost is not None:
            yield cost

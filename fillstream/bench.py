"""`fillstream bench`: the live pipeline's latency and sustained rate, and each core's cost.

The pipeline part runs every processor as a process on the broker, on topics of a prefix
of its own (deleted at the end), with an engine config of one simulated venue and limits no
signal reaches: it measures the pipeline, not refusals. Market data goes in through the live
feeder (`pipeline.feed`), as in the demo. Signals are small IOC orders at the touch, so the
venue acknowledges and fills each at once and nothing rests. Latency is wall time from
sending a signal to reading its first execution report (read-committed) on `fills`; the
simulated venue moves its clock only with its inputs, so a punctuator publishes clock ticks
at wall time, as a deployment's would, and the bench counts the acknowledgements that had to
wait for one. A rate is sustained when every signal is acknowledged within the drain time and
acknowledgements arrive at no less than 95% of the offered rate, first to last (so a steady
latency is no shortfall, a growing backlog is).

The cores part times each pure core call in one process (no Kafka); `benchmarks/cores.py`
prints the same measurements as a markdown table.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)
from rich import box
from rich.console import Console
from rich.table import Table

from fillstream import control, settings
from fillstream.config import EngineConfig, load_config
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.feeds.samples import sample_file
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.connectors.simvenue.venue import SimulatedVenue
from fillstream.cpu import CLOCK_TICKS, CpuMeter, CpuPerSignal, cpu_per_signal
from fillstream.infra import broker, topics
from fillstream.kafka_client import client_config
from fillstream.pipeline import Pipeline, Watcher, delete_run, feed, wire_signal
from fillstream.records_written import RecordsMeter, RecordsPerSignal
from fillstream.schemas.models import (
    BookUpdate,
    ClockTick,
    ExecutionReport,
    OptimizationTarget,
    ParentOrder,
    PriceLevel,
    Quote,
    Signal,
    Slice,
    Trade,
)
from fillstream.schemas.topics import CATALOG, find, key_of
from fillstream.streams.orders import apply_report, open_order
from fillstream.streams.replay import run_replay
from fillstream.streams.risk import (
    MarketView,
    Rejection,
    RiskState,
    approve,
    check_signal,
    order_price,
)
from fillstream.streams.routing import plan_route
from fillstream.topic_io import codec, make_producer, send

__all__ = [
    "CORES",
    "BenchPlan",
    "BenchReport",
    "CoreCost",
    "Guarantee",
    "Percentiles",
    "PhaseResult",
    "core_costs",
    "cpu_model",
    "highest_sustained",
    "kept_pace",
    "per_call_us",
    "percentile",
    "rate_over",
    "render",
    "run_bench",
    "to_json",
]

# -- statistics ---------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q% of the values at or below it, so every
    figure is a latency that was observed (no interpolation between two of them)."""
    if not ordered:
        raise ValueError("no values")
    rank = math.ceil(Fraction(str(q)) * len(ordered) / 100)  # exact: 99.9% of 1,000 is 999
    return ordered[max(rank, 1) - 1]


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p99: float
    p99_9: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        ordered = sorted(values)
        return cls(
            percentile(ordered, 50), percentile(ordered, 99), percentile(ordered, 99.9), ordered[-1]
        )


def rate_over(times: Sequence[float]) -> float:
    """Events per second from the first event to the last: (n - 1) / span, so a fixed delay
    (the latency) does not count against the rate, only a spreading out does."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return math.inf if span <= 0 else (len(times) - 1) / span


def kept_pace(offered: float, ack_rate: float, without_ack: int, threshold: float) -> bool:
    """Acks kept pace: every signal acknowledged within the drain time, and acknowledged at no
    less than `threshold` of the offered rate."""
    return without_ack == 0 and ack_rate >= threshold * offered


def highest_sustained(results: Sequence[PhaseResult]) -> int | None:
    """The highest offered rate at which acks kept pace (warm-up excluded)."""
    rates = [r.offered_rate for r in results if r.kind != "warmup" and r.kept_pace]
    return max(rates, default=None)


# -- pure cores, one process, no Kafka ----------------------------------------------------

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


def _book_events() -> list[Quote | Trade | BookUpdate]:
    capture = sample_file("btcusdt_20240808.gz")
    events = load(capture) if capture else synthetic_events(SyntheticParams(start=T))
    return [e.record for e in itertools.islice(events, 20_000)]


def _binance(config: EngineConfig) -> SimulatedVenue:
    instrument = config.instruments.get("binance", "BTC/USDT")
    assert instrument is not None
    return SimulatedVenue(config.venues["binance"], [instrument])


def venue_market_events(repeats: int) -> CoreCost:
    config = load_config()
    records = _book_events()

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


# -- the live pipeline --------------------------------------------------------------------


class Guarantee(StrEnum):
    EXACTLY_ONCE = "exactly-once"
    AT_LEAST_ONCE = "at-least-once"


# Processors a signal crosses before its acknowledgement is on `fills`: under exactly-once,
# each one's output becomes readable only when its transaction commits.
PATH = ("risk", "desk")
VENUE = "sim"
MIDS = {"BTC/USDT": D("60000.00"), "ETH/USDT": D("3000.00"), "SOL/USDT": D("150.00")}
ACCOUNTS = tuple(f"acct-{n}" for n in range(8))
SPREAD = D("0.01")
AMPLE = D("1000000000")
QUANTITY = D("0.01")
SIGNAL_LINGER_MS = 1  # the strategy's producer: a signal waits at most this long to be sent
BROKER, BENCH = "broker", "bench"  # besides the processors, the processes whose CPU is read
WARMUP_DRAIN = 60.0  # seconds: first records meet cold caches, new transactions and state stores

_ENGINE = f"""\
# Written by `fillstream bench`: one simulated venue that acknowledges on arrival (no latency
# of its own), and limits no benchmark signal reaches.
[[venues]]
name = "{VENUE}"
taker_fee = "0.0002"
latency_us = 0
"""
_INSTRUMENT = f"""
[[instruments]]
venue = "{VENUE}"
symbol = "{{symbol}}"
tick_size = "0.01"
lot_size = "0.001"
"""
_RISK = """
[risk.defaults]
max_order_quantity = "1000000"
max_order_notional = "1000000000"
max_position = "1000000000"
max_daily_orders = 1000000000
max_daily_notional = "1000000000000000"
price_collar_bps = "1000"
max_orders_per_second = 1000000
"""


def engine_toml() -> str:
    return _ENGINE + "".join(_INSTRUMENT.format(symbol=s) for s in MIDS) + _RISK


@dataclass(frozen=True)
class BenchPlan:
    """What to run. Ramp steps go up from `ramp_start` by `ramp_step` and stop at the first
    step whose acks did not keep pace, or after `max_steps`."""

    rates: tuple[int, ...] = (100, 1000)
    duration: float = 10.0
    warmup: int = 100
    ramp_start: int = 2000
    ramp_step: int = 2000
    max_steps: int = 5
    step_duration: float = 5.0
    drain: float = 5.0
    pace_threshold: float = 0.95
    guarantee: Guarantee = Guarantee.AT_LEAST_ONCE
    commit_interval: float = 0.5
    tick_interval: float = 0.005
    core_repeats: int = 5
    # Batching profiles to run the latency and sustained phases under, in turn (none: the
    # configured batching only).
    profiles: tuple[OptimizationTarget, ...] = ()

    def __post_init__(self) -> None:
        positive = {
            "rate": min(self.rates, default=1),
            "duration": self.duration,
            "step duration": self.step_duration,
            "tick interval": self.tick_interval,
            "commit interval": self.commit_interval,
        }
        if self.max_steps > 0:
            positive["ramp start"] = self.ramp_start
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"the {name} must be above 0, not {value}")
        if min(self.warmup, self.ramp_step, self.max_steps, self.drain, self.core_repeats) < 0:
            raise ValueError("warm-up, ramp step, steps, drain and core repeats cannot be negative")

    def ramp(self) -> list[int]:
        return [self.ramp_start + n * self.ramp_step for n in range(self.max_steps)]


@dataclass
class PhaseResult:
    """One run of signals at one offered rate, and what came back."""

    kind: str  # warmup, latency or sustained
    offered_rate: int
    seconds: float
    signals: int
    sent_rate: float
    acked: int
    ack_rate: float
    latency_ms: Percentiles | None
    no_report: int  # nothing on fills or orders.rejected within the drain time
    first_report_not_ack: dict[str, int]  # exec type of a first report that was no ack
    refused: dict[str, int]  # reason code on orders.rejected
    undelivered: int  # the broker did not take the signal
    no_ack_examples: list[str]
    waited_for_tick: int  # acks the venue gave only when a clock tick moved its time
    kept_pace: bool
    cpu_us_per_signal: CpuPerSignal | None = None  # from the first signal sent to the drain's end
    records_per_signal: RecordsPerSignal | None = None  # over the same window
    profile: str | None = None  # the batching profile in force, where one was asked for

    @property
    def name(self) -> str:
        return self.kind if self.profile is None else f"{self.kind} ({self.profile})"

    @property
    def without_ack(self) -> int:
        return self.signals - self.acked


@dataclass
class BenchReport:
    machine: dict[str, Any]
    settings: dict[str, Any]
    phases: list[PhaseResult] = field(default_factory=list)
    cores: list[CoreCost] = field(default_factory=list)
    failure: str | None = None  # why the phases stopped early, e.g. a processor died

    @property
    def sustained_rate(self) -> int | None:
        return highest_sustained(self.phases)

    def latency_at(self, rate: int) -> PhaseResult | None:
        return next(
            (p for p in self.phases if p.kind == "latency" and p.offered_rate == rate), None
        )

    def complete(self) -> bool:
        """Every warm-up and latency signal acknowledged: anything else is a pipeline fault."""
        return self.failure is None and all(
            p.without_ack == 0 for p in self.phases if p.kind != "sustained"
        )


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _now_us() -> int:
    return time.time_ns() // 1000


def _market(now_us: int) -> list[MarketEvent]:
    """A quote and a trade per symbol, one tick either side of the mid, with ample size."""
    events = []
    for symbol, mid in MIDS.items():
        quote = Quote(
            symbol=symbol,
            venue=VENUE,
            bid_price=mid - SPREAD,
            bid_size=AMPLE,
            ask_price=mid + SPREAD,
            ask_size=AMPLE,
            timestamp=now_us,
        )
        trade = Trade(
            symbol=symbol,
            venue=VENUE,
            trade_id=f"{symbol}-1",
            price=mid,
            quantity=QUANTITY,
            timestamp=now_us,
        )
        events += [MarketEvent.of(quote), MarketEvent.of(trade)]
    return events


def _templates() -> list[dict[str, Any]]:
    """Wire-form signals over every account, symbol and side: IOC limits at the far touch,
    so each fills at once; alternating sides keep positions near zero."""
    templates = []
    for account, symbol, side in itertools.product(ACCOUNTS, MIDS, ("buy", "sell")):
        mid = MIDS[symbol]
        raw = {
            "signal_id": "template",
            "strategy_id": "bench",
            "account_id": account,
            "symbol": symbol,
            "side": side,
            "quantity": QUANTITY,
            "order_type": "limit",
            "price": mid + SPREAD if side == "buy" else mid - SPREAD,
            "time_in_force": "IOC",
            "created_at": _now_us(),
        }
        templates.append(wire_signal(raw))
    return templates


@dataclass(frozen=True)
class _Answer:
    received_us: int
    exec_type: str
    venue_time_us: int


class _Listener(threading.Thread):
    """Notes, per signal, when its first execution report (or its rejection) was read.

    A thread of its own, so a report is stamped when it is read, not when the sender is idle.
    """

    def __init__(self) -> None:
        super().__init__(name="bench-listener", daemon=True)
        self.first: dict[str, _Answer] = {}
        self.refused: dict[str, str] = {}
        self._done = threading.Event()
        self._consumer = Consumer(
            client_config(
                {
                    "group.id": f"{settings.topic_prefix()}fillstream-bench",
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    "fetch.wait.max.ms": 5,
                }
            )
        )
        specs = [find("fills"), find("orders.rejected")]
        self._codecs = {spec.full_name: codec(spec) for spec in specs}
        metadata = self._consumer.list_topics(timeout=10).topics
        self._consumer.assign(
            [
                TopicPartition(spec.full_name, p, OFFSET_BEGINNING)
                for spec in specs
                for p in metadata[spec.full_name].partitions
            ]
        )
        self._fills = find("fills").full_name
        self.error: KafkaError | None = None

    def answered(self, signal_id: str) -> bool:
        return signal_id in self.first or signal_id in self.refused

    def run(self) -> None:
        try:
            while not self._done.is_set():
                # poll, not consume: a batch would wait for its count or its whole timeout
                message = self._consumer.poll(0.05)
                if message is not None:
                    self._note(message, _now_us())
        finally:
            self._consumer.close()

    def _note(self, message: Message, received_us: int) -> None:
        if message.error():
            self.error = message.error()
            return
        record = self._codecs[message.topic()].decode(message.value())
        signal_id = record["signal_id"]
        if message.topic() == self._fills:
            if signal_id not in self.first:
                self.first[signal_id] = _Answer(
                    received_us, record["exec_type"], record["timestamp"]
                )
        else:
            self.refused.setdefault(signal_id, record["reason_code"])

    def stop(self) -> None:
        self._done.set()
        self.join(10)


class _Clock(threading.Thread):
    """The punctuator: a tick at wall time to every partition of `clock`, every `interval`."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="bench-clock", daemon=True)
        self.interval = interval
        self.ticks = 0
        self._done = threading.Event()
        self._spec = find("clock")
        self._encoder = codec(self._spec)
        self._producer = make_producer(**{"linger.ms": 0})
        name = self._spec.full_name
        self._partitions = sorted(
            self._producer.list_topics(name, timeout=10).topics[name].partitions
        )

    def run(self) -> None:
        while not self._done.wait(self.interval):
            now_us = _now_us()
            for partition in self._partitions:
                value = ClockTick(partition=partition, sequence=self.ticks, timestamp=now_us)
                tick = value.model_dump()
                self._producer.produce(
                    self._spec.full_name,
                    value=self._encoder.encode(tick),
                    key=key_of(self._spec, tick),
                    partition=partition,
                    timestamp=now_us // 1000,
                )
            self._producer.poll(0)
            self.ticks += 1
        self._producer.flush(10)

    def stop(self) -> None:
        self._done.set()
        self.join(15)


class _Run:
    """Sends the phases' signals and reads what came back for them, and what they cost."""

    def __init__(
        self,
        plan: BenchPlan,
        pipeline: Pipeline,
        listener: _Listener,
        progress: Callable[[str], None],
        broker_pid: int | None = None,
    ) -> None:
        self.plan, self.pipeline, self.listener, self.progress = plan, pipeline, listener, progress
        self.templates = _templates()
        self.spec = find("signals")
        self.encoder = codec(self.spec)
        self.producer = make_producer(**{"linger.ms": SIGNAL_LINGER_MS})
        self.undelivered = 0
        self.processors = sorted(pipeline.processes)
        pids = {name: process.pid for name, process in pipeline.processes.items()}
        pids[BENCH] = os.getpid()
        if broker_pid is not None:
            pids[BROKER] = broker_pid
        self.broker = None if broker_pid is None else BROKER
        self.cpu = CpuMeter(pids)
        self.records = RecordsMeter(
            settings.topic_prefix(), transactional=plan.guarantee is Guarantee.EXACTLY_ONCE
        )

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.undelivered += 1

    def send(self, label: str, rate: int, count: int) -> dict[str, int]:
        """`count` signals paced at `rate` per second; their ids and send times (µs)."""
        sent: dict[str, int] = {}
        start = time.perf_counter()
        next_check = start
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            signal_id = f"{label}-{n}"
            now_us = _now_us()
            value = self.templates[n % len(self.templates)] | {
                "signal_id": signal_id,
                "created_at": now_us,
            }
            send(
                self.producer,
                self.spec,
                self.encoder.encode(value),
                key_of(self.spec, value),
                timestamp=now_us // 1000,
                on_delivery=self._delivered,
            )
            self.producer.poll(0)
            sent[signal_id] = now_us
            if time.perf_counter() >= next_check:
                next_check += 0.25
                self.pipeline.check_alive()
                acked = sum(1 for s in sent if s in self.listener.first)
                self.progress(
                    f"{label}: {rate:,} signals/s, sent {n + 1:,} of {count:,}, "
                    f"{acked:,} acknowledged"
                )
        self.producer.flush(30)
        return sent

    def drain(self, label: str, sent: Mapping[str, int], seconds: float) -> None:
        """Wait until every signal is answered, at most `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = sum(1 for s in sent if not self.listener.answered(s))
            if waiting == 0:
                return
            self.progress(f"{label}: waiting for {waiting:,} answers")
            self.pipeline.check_alive()
            time.sleep(0.05)

    def phase(
        self, kind: str, rate: int, seconds: float, profile: OptimizationTarget | None = None
    ) -> PhaseResult:
        """Send and drain one phase; its window for CPU and records is exactly that."""
        label = {"warmup": "w", "latency": "l", "sustained": "s"}[kind] + str(rate)
        label += "" if profile is None else f"-{profile.value}"
        count = max(1, round(rate * seconds))
        self.undelivered = 0
        self.records.start()
        self.cpu.start()
        sent = self.send(label, rate, count)
        self.drain(label, sent, WARMUP_DRAIN if kind == "warmup" else self.plan.drain)
        ticks = self.cpu.stop()
        written = self.records.stop()
        result = self.result(kind, rate, count / rate, sent)
        result.profile = None if profile is None else profile.value
        result.cpu_us_per_signal = cpu_per_signal(
            ticks, self.processors, self.broker, BENCH, result.acked
        )
        self.progress(f"{label}: counting the records written")
        result.records_per_signal = self.records.per_signal(written, result.acked)
        return result

    def result(self, kind: str, rate: int, seconds: float, sent: Mapping[str, int]) -> PhaseResult:
        # copies: the listener thread goes on adding answers while this counts them
        first, refused = dict(self.listener.first), dict(self.listener.refused)
        acks = {s: first[s] for s in sent if s in first and first[s].exec_type == "ack"}
        latencies = [(acks[s].received_us - sent[s]) / 1000 for s in acks]
        ack_rate = rate_over([a.received_us / 1e6 for a in acks.values()])
        without = [s for s in sent if s not in acks]
        return PhaseResult(
            kind=kind,
            offered_rate=rate,
            seconds=seconds,
            signals=len(sent),
            sent_rate=rate_over([t / 1e6 for t in sent.values()]),
            acked=len(acks),
            ack_rate=ack_rate,
            latency_ms=Percentiles.of(latencies) if latencies else None,
            no_report=sum(1 for s in without if s not in first and s not in refused),
            first_report_not_ack=dict(Counter(first[s].exec_type for s in without if s in first)),
            refused=dict(Counter(refused[s] for s in without if s in refused and s not in first)),
            undelivered=self.undelivered,
            no_ack_examples=without[:10],
            waited_for_tick=sum(1 for s, a in acks.items() if a.venue_time_us <= sent[s]),
            kept_pace=kept_pace(rate, ack_rate, len(without), self.plan.pace_threshold),
        )


def run_bench(plan: BenchPlan, console: Console) -> BenchReport:
    """Run the whole benchmark: broker, topics, processors, phases, clean-up, then the cores."""
    from fillstream.demo import ensure_broker

    ensure_broker(console)
    broker_pid = _local_broker_pid()
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    workdir = Path(tempfile.mkdtemp(prefix="fillstream-bench-"))
    (workdir / "engine.toml").write_text(engine_toml())
    load_config(workdir / "engine.toml")  # refuse a broken config before starting anything
    environment = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers(),  # found before state moves
        "FILLSTREAM_TOPIC_PREFIX": prefix,
        "FILLSTREAM_STATE_DIR": str(workdir / "state"),  # processor state dies with the run
        "FILLSTREAM_PROCESSING_GUARANTEE": plan.guarantee.value,
        "FILLSTREAM_COMMIT_INTERVAL": str(plan.commit_interval),
    }
    report = BenchReport(
        machine={
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        settings={
            "kafka": environment["KAFKA_BOOTSTRAP_SERVERS"],
            "topic_prefix": prefix,
            "partitions": settings.partitions(),
            "processing_guarantee": plan.guarantee.value,
            "commit_interval_s": plan.commit_interval,
            "transactional_hops": len(PATH) if plan.guarantee is Guarantee.EXACTLY_ONCE else 0,
            "clock_tick_interval_s": plan.tick_interval,
            "signal_producer_linger_ms": SIGNAL_LINGER_MS,
            "drain_s": plan.drain,
            "pace_threshold": plan.pace_threshold,
            "broker_pid": broker_pid,  # None: not the local broker, its CPU is not measured
            "cpu_clock_ticks_per_s": CLOCK_TICKS,
        },
    )
    _header(report, console)
    failed = True
    with settings.environment(environment):
        try:
            _run_pipeline(plan, report, workdir, console, broker_pid)
            failed = False
        finally:
            with console.status("Deleting the run's topics…"):
                deleted, failures = delete_run(prefix)
            console.print(f"Deleted {deleted} topics of prefix {prefix}")
            for failure in failures:
                console.print(f"[red]Not deleted:[/] {failure}")
            if failed or not report.complete():
                console.print(f"[red]Signals went unanswered;[/] processor logs in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    if plan.core_repeats > 0:
        with console.status("Timing the pure cores…") as status:
            for cost in core_costs(plan.core_repeats):
                report.cores.append(cost)
                status.update(f"Timing the pure cores… {cost.name}: {cost.median_us:.2f} µs")
    return report


def _local_broker_pid() -> int | None:
    """The local broker's pid when the bench talks to it; None for any other cluster, whose
    processes this machine may not even run."""
    status = broker.local_status()
    if status.running and status.bootstrap_servers == settings.bootstrap_servers():
        return status.pid
    return None


def _run_pipeline(
    plan: BenchPlan,
    report: BenchReport,
    workdir: Path,
    console: Console,
    broker_pid: int | None = None,
) -> None:
    topics.ensure_topics(CATALOG)
    pipeline = Pipeline(config=workdir / "engine.toml", log_dir=workdir / "logs")
    pipeline.start()
    try:
        watcher = Watcher([spec.name for spec in CATALOG if spec.name not in ("metrics", "tca")])
        try:
            with console.status("Starting the processors and feeding market data…"):
                feed(_market(_now_us()), [], [])
                watcher.settle(timeout=120, pipeline=pipeline)
        finally:
            watcher.close()
        listener, clock = _Listener(), _Clock(plan.tick_interval)
        listener.start()
        clock.start()
        try:
            with console.status("") as status:
                run = _Run(plan, pipeline, listener, status.update, broker_pid)
                phases = [("warmup", 100, plan.warmup / 100, None)] if plan.warmup else []
                for profile in plan.profiles or (None,):
                    if profile is not None:  # switched, then settled by a short warm-up
                        _switch(profile)
                        phases.append(("warmup", 100, PROFILE_SETTLE_S, profile))
                    phases += [("latency", rate, plan.duration, profile) for rate in plan.rates]
                    phases += [
                        ("sustained", rate, plan.step_duration, profile) for rate in plan.ramp()
                    ]
                    if not _phases(run, phases, report, console):
                        break
                    phases = []
        finally:
            clock.stop()
            listener.stop()
        if listener.error is not None:
            console.print(f"[yellow]The listener read an error: {listener.error}[/]")
        report.settings["clock_ticks"] = clock.ticks
    finally:
        pipeline.stop()


PROFILE_SETTLE_S = 3.0  # seconds at 100/s after a profile switch, before its phases


def _switch(target: OptimizationTarget) -> None:
    """Publish the batching profile `target`: each processor applies it at its next commit."""
    control.publish_profiles([control.batching_profile(target, control.stamp(), "bench")])


def _phases(
    run: _Run,
    phases: list[tuple[str, int, float, OptimizationTarget | None]],
    report: BenchReport,
    console: Console,
) -> bool:
    """Run `phases` in turn, up to the first sustained step that lags; False if a processor
    exited, with what was measured reported."""
    for kind, rate, seconds, profile in phases:
        try:
            result = run.phase(kind, rate, seconds, profile)
        except RuntimeError as error:  # a processor exited: report what was measured
            report.failure = f"{error} during {kind} {rate:,}/s"
            console.print(f"[red]{report.failure}[/]")
            return False
        report.phases.append(result)
        _show(console, result)
        if kind == "sustained" and not result.kept_pace:
            break
    return True


def _show(console: Console, result: PhaseResult) -> None:
    latency = result.latency_ms
    console.print(
        f"{result.name} {result.offered_rate:,}/s: {result.signals:,} signals, "
        f"{result.acked:,} acked at {result.ack_rate:,.0f}/s"
        + (f", p50 {latency.p50:.1f} ms, p99 {latency.p99:.1f} ms" if latency else "")
        + ("" if result.kept_pace else " [yellow](did not keep pace)[/]")
    )
    cost = _cost_line(result)
    if cost:
        console.print(f"  per ack: {cost}", highlight=False)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _cost_line(result: PhaseResult) -> str:
    """CPU µs per acknowledged signal, split by process, and records per signal."""
    parts = []
    cpu, records = result.cpu_us_per_signal, result.records_per_signal
    if cpu is not None and result.acked:
        split = " + ".join(f"{name} {_us(us)}" for name, us in cpu.processors.items())
        if cpu.broker is not None:
            split += f" + broker {_us(cpu.broker)}"
        parts.append(
            f"CPU µs {split} = {_us(cpu.total)}"
            + ("" if cpu.broker is not None else " (broker: not measured)")
            + f", bench {_us(cpu.bench)} apart"
        )
    if records is not None:
        markers = "incl." if records.includes_transaction_markers else "excl."
        parts.append(f"{records.total:.1f} records ({markers} markers)")
    return "; ".join(parts)


def _header(report: BenchReport, console: Console) -> None:
    s = report.settings
    console.print(
        f"Machine: {report.machine['cpu']}, {report.machine['cores']} cores, "
        f"Python {report.machine['python']}; Kafka {s['kafka']}, {s['partitions']} partitions"
    )
    line = f"Processing: {s['processing_guarantee']}, commit interval {s['commit_interval_s']} s"
    if s["transactional_hops"]:
        bound = s["transactional_hops"] * s["commit_interval_s"] * 1000
        line += (
            f". A processor's output is readable only once its transaction commits, so on the "
            f"{s['transactional_hops']} hops {' → '.join(PATH)} up to {bound:.0f} ms of each "
            "latency is commit wait."
        )
    console.print(line)
    console.print(
        f"Venue clock: a tick every {s['clock_tick_interval_s'] * 1000:g} ms; signals sent with "
        f"linger {s['signal_producer_linger_ms']} ms; a step keeps pace when every signal is "
        f"acknowledged within {s['drain_s']:g} s and acks come at ≥ "
        f"{s['pace_threshold']:.0%} of the offered rate."
    )
    measured = (
        f"each processor process and the local broker (pid {s['broker_pid']})"
        if s["broker_pid"] is not None
        else "each processor process (broker: not measured, it is not the local broker)"
    )
    console.print(
        f"Cost per acknowledged signal, over each phase from its first signal to its last answer:"
        f" CPU of {measured}, from /proc/<pid>/stat in ticks of "
        f"{1000 / s['cpu_clock_ticks_per_s']:g} ms; the bench's own CPU (the load generator) "
        "apart; records written to the run's topics."
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def render(report: BenchReport, console: Console) -> None:
    """The final tables and the targets."""
    table = Table(
        title="Signal → venue acknowledgement",
        caption="ms, nearest-rank percentiles; tick waits: acks the venue gave on a clock tick",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,  # fits 80 columns: the box's own divider spaces the columns
    )
    table.add_column("phase", no_wrap=True)
    for column in ("rate/s", "signals", "acks/s", "p50", "p99", "p99.9", "max"):
        table.add_column(column, justify="right", no_wrap=True)
    for column in ("no\nack", "tick\nwaits", "kept\npace"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in report.phases:
        latency = p.latency_ms
        cells = (
            [_ms(v) for v in (latency.p50, latency.p99, latency.p99_9, latency.max)]
            if latency
            else ["-"] * 4
        )
        table.add_row(
            p.name,
            f"{p.offered_rate:,}",
            f"{p.signals:,}",
            f"{p.ack_rate:,.0f}",
            *cells,
            f"{p.without_ack:,}",
            f"{p.waited_for_tick:,}",
            "yes" if p.kept_pace else "no",
        )
    console.print(table)
    _render_costs(report, console)
    for p in report.phases:
        if p.without_ack:
            console.print(
                f"[yellow]{p.name} {p.offered_rate:,}/s: {p.without_ack:,} signals without an "
                f"ack[/]: {p.no_report:,} unanswered after the drain, "
                f"{p.undelivered:,} undelivered, first report not an ack {p.first_report_not_ack},"
                f" refused {p.refused}; e.g. {', '.join(p.no_ack_examples)}"
            )
    if report.cores:
        cores = Table(title="Pure cores, per event (one process, no Kafka)", box=box.SIMPLE_HEAD)
        for column in ("core call", "µs (median)", "range of repeats", "case"):
            cores.add_column(column)
        for cost in report.cores:
            cores.add_row(
                cost.name,
                f"{cost.median_us:.2f}",
                f"{min(cost.timings_us):.2f} to {max(cost.timings_us):.2f}",
                cost.case,
            )
        console.print(cores)
    for line in _targets(report).values():
        console.print(f"{'[green]met[/]' if line['met'] else '[red]missed[/]'}: {line['text']}")
    if report.failure is not None:
        console.print(f"[red]The run stopped early: {report.failure}[/]")


def _render_costs(report: BenchReport, console: Console) -> None:
    """CPU µs and records per acknowledged signal, per phase."""
    measured = [p for p in report.phases if p.cpu_us_per_signal is not None]
    if not measured:
        return
    processors = sorted(
        {name for p in measured if p.cpu_us_per_signal for name in p.cpu_us_per_signal.processors}
    )
    markers = any(
        p.records_per_signal is not None and p.records_per_signal.includes_transaction_markers
        for p in measured
    )
    total = (
        "processors and broker"
        if report.settings.get("broker_pid") is not None
        else "processors (broker: not measured)"
    )
    table = Table(
        title="Cost per acknowledged signal",
        caption=f"CPU µs per ack over the phase's window; total: {total}; bench: the load "
        "generator, not in the total; records: written to the run's topics, transaction "
        f"markers {'included' if markers else 'excluded'}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
    )
    table.add_column("phase", no_wrap=True)
    for column in ("rate/s", "acks", *processors, "broker", "total", "bench", "records"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in measured:
        cpu, records = p.cpu_us_per_signal, p.records_per_signal
        assert cpu is not None
        table.add_row(
            p.name,
            f"{p.offered_rate:,}",
            f"{p.acked:,}",
            *(_us(cpu.processors.get(name)) for name in processors),
            _us(cpu.broker),
            _us(cpu.total),
            _us(cpu.bench),
            "-" if records is None else f"{records.total:.1f}",
        )
    console.print(table)


def _targets(report: BenchReport) -> dict[str, dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = {}
    at_1000 = report.latency_at(1000)
    if at_1000 is not None and at_1000.latency_ms is not None:
        p99 = at_1000.latency_ms.p99
        targets["p99_ms_at_1000"] = {
            "target": 20,
            "value": p99,
            "met": p99 <= 20 and at_1000.without_ack == 0,
            "text": f"p99 at 1,000 signals/s {p99:.1f} ms (target ≤ 20 ms)",
        }
    if report.phases:
        rate = report.sustained_rate
        targets["sustained_rate"] = {
            "target": 5000,
            "value": rate,
            "met": rate is not None and rate >= 5000,
            "text": f"highest sustained rate {'none' if rate is None else f'{rate:,}'} "
            "signals/s (target ≥ 5,000)",
        }
    risk = next((c for c in report.cores if c.name.startswith("risk")), None)
    if risk is not None:
        targets["risk_check_us"] = {
            "target": 10,
            "value": risk.median_us,
            "met": risk.median_us <= 10,
            "text": f"risk check {risk.median_us:.2f} µs per signal (target ≤ 10 µs)",
        }
    return targets


def to_json(report: BenchReport) -> dict[str, Any]:
    """The figures as plain JSON values (latencies in ms, rates per second, costs in µs)."""
    phases = []
    for p in report.phases:
        phase = asdict(p)
        phase["without_ack"] = p.without_ack
        for rate in ("sent_rate", "ack_rate"):  # all at one instant: no finite rate (JSON has none)
            phase[rate] = phase[rate] if math.isfinite(phase[rate]) else None
        phases.append(phase)
    return {
        "machine": report.machine,
        "settings": report.settings,
        "phases": phases,
        "sustained_rate": report.sustained_rate,
        "failure": report.failure,
        "cores": [
            {
                "name": c.name,
                "median_us": c.median_us,
                "min_us": min(c.timings_us),
                "max_us": max(c.timings_us),
                "case": c.case,
            }
            for c in report.cores
        ],
        "targets": {
            name: {k: v for k, v in line.items() if k != "text"}
            for name, line in _targets(report).items()
        },
    }

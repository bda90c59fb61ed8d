"""The replay harness: the pipeline's stages in one process, in timestamp order, without Kafka.

Market events and signals are merged into one timeline (at equal times market data first, so
a signal meets the market as it stood at its own time). Each input goes to the stages that
read its topic, and whatever they emit is delivered at once, breadth first, to the stages
reading that topic: the same records the live pipeline carries between processors over Kafka,
here passed by hand. The result has one entry per signal, in the execution report's terms.

A recording was made without us, so its tape holds none of our fills. Where the configuration
says the venues' tapes do (`[tca] trades_include_fills`), the harness prints each of our fills
on `market.trades` right after its report, as such a venue would, so that TCA and the
algorithms meet the tape they are configured for.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from fillstream.config import EngineConfig
from fillstream.connectors.feeds.events import MarketEvent
from fillstream.domain.ids import order_id_for
from fillstream.processors import PIPELINE, build_stage
from fillstream.schemas.models import (
    Command,
    ExecutionReport,
    OrderState,
    OrderStatus,
    Rejection,
    Trade,
)
from fillstream.streams.risk.market import reference_of
from fillstream.streams.stages import Emit, Stage, Wiring

__all__ = ["Entry", "Replay", "run_replay", "timeline"]

MARKET, SIGNAL, COMMAND = 0, 1, 2


def build_stages(config: EngineConfig) -> list[Stage]:
    """Every processor's core, in pipeline order."""
    return [build_stage(name, config) for name in PIPELINE]


@dataclass
class Replay:
    """What a replay produced, topic by topic, plus each signal's outcome."""

    signals: list[Mapping[str, Any]]
    pipeline: Wiring
    records: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))

    def record(self, emits: Iterable[Emit]) -> None:
        for emit in emits:
            self.records[emit.topic].append(emit.record)

    def results(self) -> list[dict[str, Any]]:
        """One object per signal, in input order, with the execution report's field names."""
        states: dict[str, OrderState] = {}
        for state in self.records["orders.state"]:
            states[state.order_id] = state
        fills: dict[str, list[ExecutionReport]] = defaultdict(list)
        for report in self.records["fills"]:
            if report.last_quantity > 0:
                fills[report.order_id].append(report)
        rejections: dict[str, Rejection] = {r.signal_id: r for r in self.records["orders.rejected"]}
        return [_result(signal, states, fills, rejections) for signal in self.signals]


def _result(
    signal: Mapping[str, Any],
    states: Mapping[str, OrderState],
    fills: Mapping[str, list[ExecutionReport]],
    rejections: Mapping[str, Rejection],
) -> dict[str, Any]:
    signal_id = str(signal.get("signal_id", ""))
    order_id = order_id_for(signal_id) if signal_id else None
    rejection = rejections.get(signal_id)
    state = states.get(order_id) if order_id else None
    if state is None or (rejection is not None and state.status is OrderStatus.REJECTED):
        entry: dict[str, Any] = {
            "order_id": order_id,
            "signal_id": signal_id,
            "status": OrderStatus.REJECTED.value if rejection else "unknown",
            "filled_quantity": Decimal(0),
            "average_price": None,
            "commission": Decimal(0),
            "fills": [],
        }
        if rejection is not None:
            entry["reason_code"] = rejection.reason_code
            entry["reason"] = rejection.reason
        return entry
    entry = {
        "order_id": state.order_id,
        "signal_id": state.signal_id,
        "status": state.status.value,
        "filled_quantity": state.filled_quantity,
        "average_price": state.average_price,
        "commission": state.commission,
        "fills": [
            {
                "quantity": report.last_quantity,
                "price": report.last_price,
                "timestamp": report.timestamp,
                "venue": report.venue,
            }
            for report in fills.get(state.order_id, [])
        ],
    }
    if state.reason is not None:
        entry["reason"] = state.reason  # why it ended short: a cancel, an expiry, a collar
    return entry


class Entry(NamedTuple):
    """One input of the timeline; `rank` orders equal times: market data, signals, commands."""

    timestamp: int
    rank: int
    topic: str
    record: Any


def timeline(
    market: Iterable[MarketEvent],
    signals: Iterable[Mapping[str, Any]],
    commands: Iterable[Command] = (),
) -> Iterator[Entry]:
    """Market events, signals and commands merged by time (in that order at equal times).

    The one ordering of inputs, for the replay harness and for feeding the live pipeline alike.
    Each quote and trade is followed by its reference price (see `streams.risk.market`).
    A signal without a valid time comes first: the risk stage will refuse it.
    """

    def signal_time(signal: Mapping[str, Any]) -> int:
        created = signal.get("created_at")
        return created if isinstance(created, int) else 0

    ordered_signals = sorted(
        ((signal_time(s), SIGNAL, n, "signals", s) for n, s in enumerate(signals)),
        key=lambda item: item[:3],
    )
    ordered_commands = sorted(
        ((c.created_at, COMMAND, n, "commands", c) for n, c in enumerate(commands)),
        key=lambda item: item[:3],
    )
    market_items = (
        (event.timestamp, MARKET, n, event.topic, event.record) for n, event in enumerate(market)
    )
    for timestamp, rank, _, topic, record in heapq.merge(
        market_items, ordered_signals, ordered_commands, key=lambda item: item[:3]
    ):
        yield Entry(timestamp, rank, topic, record)
        if rank == MARKET and (reference := reference_of(record)) is not None:
            yield Entry(timestamp, rank, "market.reference", reference)


def run_replay(
    config: EngineConfig,
    market: Iterable[MarketEvent],
    signals: list[Mapping[str, Any]],
    commands: Iterable[Command] = (),
) -> Replay:
    """Replay market data, signals and operator commands through a fresh pipeline."""
    pipeline = Wiring(build_stages(config))
    replay = Replay(signals, pipeline)
    clock = 0
    for entry in timeline(market, signals, commands):
        inputs: deque[tuple[int, str, Any]] = deque([(entry.timestamp, entry.topic, entry.record)])
        while inputs:
            at, topic, record = inputs.popleft()
            clock = max(clock, at)
            emits = pipeline.deliver(topic, record, clock)
            replay.record(emits)
            if config.tca.trades_include_fills:
                inputs.extend(
                    (e.record.timestamp, topic, printed)
                    for e in emits
                    if e.topic == "fills"
                    for topic, printed in _printed(e.record)
                )
    return replay


def _printed(report: ExecutionReport) -> list[tuple[str, Any]]:
    """What a venue whose tape shows our fills publishes after one of them: its print, and
    the reference price that follows from it."""
    if not report.last_quantity or report.last_price is None:
        return []
    print_ = Trade(
        symbol=report.symbol,
        venue=report.venue,
        trade_id=report.report_id,
        price=report.last_price,
        quantity=report.last_quantity,
        timestamp=report.timestamp,
    )
    reference = reference_of(print_)
    return [("market.trades", print_)] + ([("market.reference", reference)] if reference else [])

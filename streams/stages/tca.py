"""The TCA processor's core: every parent order followed to its end, measured once the market
has moved past its last horizon, published as a `TcaResult` and as feedback for its strategy.

An order's state is folded from `orders.approved`, `fills`, `commands` and the router's
`orders.rejected` with the OMS's own core (`streams.orders`), so an order ends here exactly
when it ends in `orders.state`. `orders.state` itself is keyed by order id, not by symbol, so
it could not meet the market data of the order's partition. From its end, an order waits until
event time (market data and clock ticks) has passed its completion by the longest horizon
(`TcaConfig.horizons`): then every markout and the realized spread of every fill is known, and
its analysis (`streams.tca.analyze`) is published once, to `tca` and to `tca.feedback`.

Memory stays bounded: each symbol's tape keeps the mids and prints from the arrival of its
oldest order in flight (and a short grace window, for an order that reaches this processor
after market data of its own time), a published order leaves, and its id joins a bounded
memory (`RecentIds`) so that a re-delivered order or report does not start it again.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Annotated, Any

from fillstream.domain.ids import REDELIVERY_MEMORY, RecentIds
from fillstream.domain.ledger import Ledger
from fillstream.schemas.models import (
    TERMINAL,
    Command,
    ExecutionFeedback,
    ExecutionReport,
    OrderStatus,
    ParentOrder,
    Quote,
    Rejection,
    Slice,
    TcaResult,
    Trade,
)
from fillstream.streams.memory import Series
from fillstream.streams.orders import (
    apply_command,
    apply_report,
    apply_slice,
    open_order,
)
from fillstream.streams.orders.parent import ParentOrderState
from fillstream.streams.risk.market import MarketView
from fillstream.streams.stages import Emit
from fillstream.streams.tca import (
    SECOND_US,
    Analysis,
    Execution,
    Fill,
    Market,
    Print,
    TcaConfig,
    analyze,
)

__all__ = ["TcaStage"]

# How far behind the latest market data an order may still arrive (live, `orders.approved`
# comes a hop later than the market data of its time) and find the mids of its fills.
LATE_ORDER_GRACE_US = 5 * SECOND_US
TAPE_BUCKET_US = 10 * SECOND_US  # of a tape, saved an entry


@dataclass(frozen=True, slots=True)
class _Followed:
    """A parent order as TCA follows it: the OMS's state of it, its fills and their venues."""

    state: ParentOrderState
    fills: tuple[Fill, ...] = ()
    venues: frozenset[str] = frozenset()


def _mid_time(entry: tuple[int, Decimal]) -> int:
    return entry[0]


def _print_time(entry: Print) -> int:
    return entry.timestamp


@dataclass(slots=True)
class _Tape:
    """One symbol's recent market: the mid each time it changed, and the public prints, both
    in time order. The mid is risk's reference price (best bid and ask across venues, else the
    last trade), the same price the order's arrival price P₀ was taken from.

    A tape reaches back to the arrival of the oldest order in flight, so it can be long: it is
    saved ten seconds of it an entry (`streams.memory.Series`)."""

    durable = ("mids", "prints")
    mids: Annotated[list[tuple[int, Decimal]], Series(_mid_time, TAPE_BUCKET_US)] = field(
        default_factory=list
    )
    prints: Annotated[list[Print], Series(_print_time, TAPE_BUCKET_US)] = field(
        default_factory=list
    )

    def add_mid(self, at_us: int, mid: Decimal) -> None:
        """A late record counts from the latest time already on the tape: history is not
        rewritten under lookups that may have been made."""
        if self.mids:
            last_at, last_mid = self.mids[-1]
            if mid == last_mid:
                return
            if at_us <= last_at:
                self.mids[-1] = (last_at, mid)
                return
        self.mids.append((at_us, mid))

    def add_print(self, trade: Print) -> None:
        insort(self.prints, trade, key=_print_time)

    def forget_before(self, at_us: int) -> None:
        """Drop what no lookup at or after `at_us` needs: prints before it, and mids before the
        one prevailing at it."""
        prevailing = bisect_right(self.mids, at_us, key=_mid_time) - 1
        if prevailing > 0:
            del self.mids[:prevailing]
        del self.prints[: bisect_left(self.prints, at_us, key=_print_time)]


class TcaStage:
    inputs = (
        "orders.approved",
        "orders.rejected",
        "slices",
        "fills",
        "commands",
        "market.quotes",
        "market.trades",
        "clock",
    )
    outputs = ("tca", "tca.feedback")
    durable = ("working", "ended", "finished", "market.symbols", "tapes", "clock")
    working: Ledger[str, _Followed]
    ended: Ledger[str, _Followed]  # final, waiting for the market to move on
    finished: RecentIds  # published
    market: MarketView
    tapes: dict[str, _Tape]  # by symbol
    clock: int  # event time: the latest market data or clock tick

    def __init__(self, config: TcaConfig | None = None, memory: int = REDELIVERY_MEMORY) -> None:
        self.config = config or TcaConfig()
        self.working = Ledger()
        self.ended = Ledger()
        self.finished = RecentIds(memory)
        self.market = MarketView()
        self.tapes = {}
        self.clock = 0
        # (when due, order id) of the ended orders, earliest first: not durable, rebuilt from
        # `ended` on first use after a restore, so nothing is scanned per record
        self._due_heap: list[tuple[int, str]] | None = None
        # (approved at, order id) of the orders followed, earliest first, by symbol: what the
        # tapes must keep. Not durable either; an order published since stays in until it
        # surfaces, or until such orders are half the heaps and they are rebuilt.
        self._arrivals: dict[str, list[tuple[int, str]]] | None = None

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "orders.approved":
            parent: ParentOrder = record
            known = parent.order_id in self.working or parent.order_id in self.ended
            if not known and parent.order_id not in self.finished:
                self.working[parent.order_id] = _Followed(open_order(parent))
                if self._arrivals is not None:
                    heap = self._arrivals.setdefault(parent.signal.symbol, [])
                    heapq.heappush(heap, (parent.approved_at, parent.order_id))
        elif topic == "orders.rejected":
            self._rejected(record)
        elif topic == "slices":
            child: Slice = record
            followed = self.working.get(child.order_id)
            if followed is not None:
                self.working[child.order_id] = replace(
                    followed, state=apply_slice(followed.state, child)
                )
        elif topic == "fills":
            self._report(record)
        elif topic == "commands":
            command: Command = record
            self._command(command, now_us)
        elif topic in ("market.quotes", "market.trades"):
            self._market(record)
            self._advance(now_us)
        elif topic == "clock":
            self._advance(now_us)
        return self._due()

    def _report(self, report: ExecutionReport) -> None:
        changed = self._changed(report.order_id, lambda s: apply_report(s, report))
        if changed is None:
            return
        followed, state = changed
        fills, venues = followed.fills, followed.venues
        if report.last_quantity > 0 and report.last_price is not None:
            fills += (Fill(report.last_quantity, report.last_price, report.timestamp),)
            venues |= {report.venue}
        self._keep(_Followed(state, fills, venues))

    def _command(self, command: Command, now_us: int) -> None:
        changed = self._changed(command.order_id or "", lambda s: apply_command(s, command, now_us))
        if changed is not None:
            self._keep(replace(changed[0], state=changed[1]))

    def _changed(self, order_id: str, change: Any) -> tuple[_Followed, ParentOrderState] | None:
        """A working order and its state after an event, by the OMS's core; None if the order
        is not working here or the core refused the event."""
        followed = self.working.get(order_id)
        if followed is None:
            return None
        state, _problems = change(followed.state)
        if state is followed.state or state.version == followed.state.version:
            return None
        return followed, state

    def _rejected(self, rejection: Rejection) -> None:
        """The router refused an approved order: it ends rejected, as in the OMS. (Risk's own
        refusals name no order id and never reached this processor as orders.)"""
        followed = self.working.get(rejection.order_id or "")
        if followed is not None:
            state = replace(
                followed.state, status=OrderStatus.REJECTED, updated_at=rejection.rejected_at
            )
            self._keep(replace(followed, state=state))

    def _keep(self, followed: _Followed) -> None:
        order_id = followed.state.order.order_id
        if followed.state.status in TERMINAL:
            self.working.pop(order_id, None)
            self.ended[order_id] = followed
            if self._due_heap is not None:
                heapq.heappush(self._due_heap, (self._due_at(followed), order_id))
        else:
            self.working[order_id] = followed

    def _market(self, record: Quote | Trade) -> None:
        self.market.update(record)
        tape = self.tapes.setdefault(record.symbol, _Tape())
        if isinstance(record, Trade):
            tape.add_print(Print(record.timestamp, record.price, record.quantity))
        mid = self.market.reference_price(record.symbol)
        if mid is not None:
            tape.add_mid(record.timestamp, mid)

    def _advance(self, now_us: int) -> None:
        """Move event time on; once a second of it, forget the market nobody needs any more."""
        previous, self.clock = self.clock, max(self.clock, now_us)
        if self.clock // SECOND_US != previous // SECOND_US:
            self._forget()

    def _forget(self) -> None:
        oldest = self.clock - LATE_ORDER_GRACE_US
        arrivals = self._oldest_arrivals()
        for symbol, tape in self.tapes.items():
            heap = arrivals.get(symbol)
            while heap and heap[0][1] not in self.working and heap[0][1] not in self.ended:
                heapq.heappop(heap)
            tape.forget_before(min(heap[0][0], oldest) if heap else oldest)

    def _oldest_arrivals(self) -> dict[str, list[tuple[int, str]]]:
        followed = len(self.working) + len(self.ended)
        arrivals = self._arrivals
        if arrivals is None or sum(map(len, arrivals.values())) > 2 * followed + 1_000:
            arrivals = self._arrivals = {}
            for each in (*self.working.values(), *self.ended.values()):
                order = each.state.order
                arrivals.setdefault(order.signal.symbol, []).append(
                    (order.approved_at, order.order_id)
                )
            for heap in arrivals.values():
                heapq.heapify(heap)
        return arrivals

    def _due_at(self, followed: _Followed) -> int:
        return followed.state.updated_at + self.config.horizons.longest_us

    def _due(self) -> list[Emit]:
        """Publish every ended order whose horizons have all passed, earliest due first."""
        if not self.ended:
            return []
        heap = self._due_heap
        if heap is None:
            heap = self._due_heap = [(self._due_at(f), o) for o, f in self.ended.items()]
            heapq.heapify(heap)
        emits: list[Emit] = []
        while heap and heap[0][0] <= self.clock:
            _, order_id = heapq.heappop(heap)
            followed = self.ended.pop(order_id, None)
            if followed is not None:
                emits += self._publish(followed)
                self.finished.remember(order_id)
        return emits

    def _publish(self, followed: _Followed) -> list[Emit]:
        state = followed.state
        parent, signal = state.order, state.order.signal
        tape = self.tapes.get(signal.symbol, _Tape())
        market = Market(
            mids=tape.mids,
            trades=tape.prints,
            known_until=self.clock,
            trades_include_fills=self.config.trades_include_fills,
        )
        end_price = market.mid_at(state.updated_at)
        analysis = analyze(
            Execution(
                side=signal.side,
                quantity=signal.quantity,
                fills=followed.fills,
                fees=state.commission,
                decision_price=signal.decision_price,
                arrival_price=parent.arrival_price,
                end_price=end_price,
                arrival_time=parent.approved_at,
                end_time=state.updated_at,
            ),
            market,
            self.config.horizons,
        )
        result = _result(followed, analysis, end_price)
        feedback = ExecutionFeedback(
            **result.model_dump(include=set(ExecutionFeedback.model_fields)),
        )
        return [Emit("tca", result), Emit("tca.feedback", feedback)]


def _result(followed: _Followed, analysis: Analysis, end_price: Decimal | None) -> TcaResult:
    state = followed.state
    parent, signal = state.order, state.order.signal
    return TcaResult(
        order_id=parent.order_id,
        signal_id=signal.signal_id,
        strategy_id=signal.strategy_id,
        account_id=signal.account_id,
        symbol=signal.symbol,
        side=signal.side,
        algorithm=signal.algorithm,
        venues=sorted(followed.venues),
        status=state.status,
        quantity=signal.quantity,
        filled_quantity=analysis.filled_quantity,
        fill_ratio=analysis.fill_ratio,
        decision_price=signal.decision_price,
        arrival_price=parent.arrival_price,
        end_price=end_price,
        average_price=analysis.average_price,
        interval_vwap=analysis.interval_vwap,
        perold_execution_cost=analysis.perold_execution_cost,
        perold_opportunity_cost=analysis.perold_opportunity_cost,
        delay_cost=analysis.delay_cost,
        trading_cost=analysis.trading_cost,
        opportunity_cost=analysis.opportunity_cost,
        fees=analysis.fees,
        total_cost=analysis.total_cost,
        total_cost_bps=analysis.total_cost_bps,
        arrival_slippage_bps=analysis.arrival_slippage_bps,
        vwap_slippage_bps=analysis.vwap_slippage_bps,
        participation_rate=analysis.participation_rate,
        timing_cost=analysis.timing_cost,
        effective_spread_bps=analysis.effective_spread_bps,
        realized_spread_bps=analysis.realized_spread_bps,
        price_impact_bps=analysis.price_impact_bps,
        markouts_bps=analysis.markouts_bps,
        duration_us=max(0, state.updated_at - parent.approved_at),
        completed_at=state.updated_at,
    )

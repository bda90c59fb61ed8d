"""The executor's core: the parents it works, and the slices it sends for them.

The state is one `ParentExecution` per parent order still executing, keyed by order id, and
each symbol's market as the executor has seen it; every function takes the state and an input
and returns the slices to send.

Two kinds of parent:
- **direct** (no algorithm, or `direct`): one slice per venue of the routing plan, at once,
  with the signal's own order type and time in force, but that a market order goes as a
  limit IOC and a stop as a stop-limit at their slippage collars (`collar.py`); cancelled on
  request. Where a venue of the plan cannot hold the order type itself (`Rules.native`: a
  ccxt venue's capability row; a simulated venue holds every type), the executor emulates
  it: an iceberg is worked by the iceberg algorithm (a planned parent, below), and a stop or
  stop-limit is **held** until a print on `market.trades` reaches its stop price (a buy's at
  or above it, a sell's at or below), then sent as a direct market or limit order (`trigger`).
- **planned**: an algorithm's `Plan` says how much should be filled or working by now; on
  every market event, clock tick and report the executor sends one child to close the gap,
  sized by `children` (lots, minimums, remainders folded), never while another child works.
  A child takes liquidity at once (IOC at the parent's limit, or, without one, at the slippage
  collar from the market when it is sent; only while that price is marketable) unless the
  plan rests (iceberg: GTC at the limit). So a partial fill
  is completed by the next child, the limit always holds, and the parent can never overfill.
  Children go to the plan's venue with the most allocated quantity left.

A modify (`streams/orders/amend.py`: a lower quantity, a limit further from the market) gives
the parent new terms: a direct parent's working slices are replaced to fit them (the last ones
shrink first, and one left with nothing to do is cancelled); a planned parent's schedule keeps
its pace and stops at the new quantity, and a resting child takes the new limit.

A planned parent is over when it is filled; or, with nothing working, when it was cancelled,
its `expire_at` passed, or a child was rejected (the venue's reason would refuse the next one
too). A parent whose execution is over leaves the state (`finish`), so it stays bounded; its
order id joins a bounded memory of the latest finished ids, so a re-delivered routed order
does not start it again, while reports and cancels for it are ignored as for any order not
executing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.connectors.gateway.capabilities import Capabilities
from fillstream.connectors.gateway.tracking import trade_id_of
from fillstream.domain.ids import RecentIds, slice_id_for
from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.domain.ledger import Ledger
from fillstream.schemas.models import (
    TERMINAL,
    Command,
    ExecutionReport,
    OrderStatus,
    OrderType,
    ParentOrder,
    RoutedOrder,
    Side,
    Signal,
    Slice,
    SliceAction,
    TimeInForce,
    Trade,
)
from fillstream.streams.execution import algorithms, children, collar, legs
from fillstream.streams.execution.algorithms.base import Market, ParentFacts, Plan, Print, Venue
from fillstream.streams.execution.algorithms.catalog import CATALOG, DIRECT, parse
from fillstream.streams.execution.legs import Leg
from fillstream.streams.execution.volume_profile import VolumeProfile
from fillstream.streams.orders import amend
from fillstream.streams.orders.bracket import bracket_of, leg_orders

__all__ = [
    "ExecutorState",
    "ParentExecution",
    "Rules",
    "advance",
    "cancel",
    "execution_of",
    "finish",
    "legs_over",
    "modify",
    "on_report",
    "over",
    "start",
    "trigger",
]

_ZERO = Decimal(0)
# What a direct order that would take at any price goes as, priced at its collar.
_COLLARED = {OrderType.MARKET: OrderType.LIMIT, OrderType.STOP: OrderType.STOP_LIMIT}
_KEPT_TIME_IN_FORCE = {
    OrderType.MARKET: frozenset({TimeInForce.FOK}),
    OrderType.STOP: frozenset({TimeInForce.FOK, TimeInForce.DAY, TimeInForce.GTD}),
}
_IOC = TimeInForce.IOC
_CANCEL = SliceAction.CANCEL
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
# What a held stop goes as once the market reaches it.
_TRIGGERED = {OrderType.STOP: OrderType.MARKET, OrderType.STOP_LIMIT: OrderType.LIMIT}
_ICEBERG = "iceberg"  # the algorithm that works an iceberg a venue cannot hide


@dataclass(frozen=True)
class Rules:
    """What the executor is configured with: instruments, volume profiles by symbol, and
    whether `market.trades` carries our own fills (`[tca] trades_include_fills`, the one
    setting TCA reads too), which then do not count as the market's volume."""

    instruments: InstrumentBook | None = None
    profiles: dict[str, VolumeProfile] = field(default_factory=dict)
    trades_include_fills: bool = False
    # What each ccxt venue holds itself, by venue name (`[gateway.venues]`); a venue not named
    # is simulated, and the simulated venue holds every order type.
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)

    def native(self, venue: str, order_type: OrderType) -> bool:
        """Whether `venue` holds orders of `order_type` itself, or the executor must emulate."""
        held = self.capabilities.get(venue)
        return held is None or held.native(order_type)

    def venue(self, venue: str, symbol: str) -> Venue:
        instrument = self.instrument(venue, symbol)
        return Venue(None if instrument is None else instrument.lot_size, self.profiles.get(symbol))

    def instrument(self, venue: str, symbol: str) -> Instrument | None:
        if self.instruments is None:
            return None
        return self.instruments.instruments.get((venue, symbol))


@dataclass
class ParentExecution:
    """One parent's execution. Only working children are kept (`slices`, with what each has
    filled so far); what ended is kept as totals, so a long POV's thousands of children cost
    neither memory, saved bytes nor time per event."""

    routed: RoutedOrder
    slices: dict[str, Slice] = field(default_factory=dict)  # working children, by slice id
    filled: dict[str, Decimal] = field(default_factory=dict)  # of each working child
    filled_quantity: Decimal = _ZERO  # of every child, working or ended
    used: dict[str, Decimal] = field(default_factory=dict)  # by venue: filled or working there
    sent: int = 0  # children sent: the next child's sequence number is sent + 1
    cancel_requested: bool = False
    plan: Plan | None = None  # None: direct
    gave_up: str | None = None  # why a planned parent stopped sending (a rejected child)
    amended: Signal | None = None  # the terms modifies gave the parent, if any
    held: bool = False  # a stop its venue cannot hold, waiting for a print to reach it
    legs: list[Leg] = field(default_factory=list)  # a bracket's take-profit and stop-loss
    entry_ended: bool = False  # the entry's execution is over (a bracket's legs may still work)

    @property
    def signal(self) -> Signal:
        """The parent's current terms: as routed, or as last modified."""
        return self.amended or self.routed.order.signal

    def working(self) -> list[Slice]:
        return list(self.slices.values())

    @property
    def fully_filled(self) -> bool:
        return self.filled_quantity >= self.signal.quantity

    def expired(self, now_us: int) -> bool:
        expire_at = self.routed.order.signal.expire_at
        return expire_at is not None and now_us >= expire_at

    def follow(self, report: ExecutionReport) -> Decimal:
        """A working child's report: its fills count, and an ended child leaves. Returns what
        it filled that no report had yet (nothing, for a report delivered again)."""
        child = self.slices[report.slice_id]
        filled = max(self.filled[report.slice_id], report.filled_quantity)
        new = filled - self.filled[report.slice_id]
        self.filled_quantity += new
        self.filled[report.slice_id] = filled
        if report.status in TERMINAL:
            self.used[child.venue] -= child.quantity - filled
            del self.slices[report.slice_id], self.filled[report.slice_id]
        return new


@dataclass
class ExecutorState:
    """The parents executing, by order id, oldest first. An execution changes in place: what
    changes one (these functions; the executor stage after `advance`) `touch`es its key, so
    that the next save writes it again."""

    parents: Ledger[str, ParentExecution] = field(default_factory=Ledger)
    finished: RecentIds = field(default_factory=RecentIds)  # order ids of finished parents
    markets: dict[str, Market] = field(default_factory=dict)  # by symbol

    def market(self, symbol: str) -> Market:
        market = self.markets.get(symbol)
        if market is None:
            market = self.markets[symbol] = Market()
        return market

    # The ids of the parents that time and the market move on (planned ones, and held stops),
    # oldest first, found without looking at every direct order. Not durable: built from
    # `parents` on first use (after a restore too); an id whose parent has left, or no longer
    # waits (a stop sent), goes when next met.
    _waiting: dict[str, None] | None = field(default=None, init=False, repr=False, compare=False)

    def waiting(self, symbol: str | None = None) -> Iterator[ParentExecution]:
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = {
                order_id: None for order_id, execution in self.parents.items() if _waits(execution)
            }
        for order_id in list(waiting):
            execution = self.parents.get(order_id)
            if execution is None or not _waits(execution):
                del waiting[order_id]
            elif symbol in (None, execution.routed.order.signal.symbol):
                yield execution

    def add_waiting(self, order_id: str) -> None:
        if self._waiting is not None:
            self._waiting[order_id] = None


def _waits(execution: ParentExecution) -> bool:
    return execution.plan is not None or execution.held or bool(execution.legs)


def execution_of(state: ExecutorState, order_id: str) -> ParentExecution | None:
    """The execution an order id belongs to: its own, or, for a bracket's leg, the bracket's."""
    return state.parents.get(bracket_of(order_id) or order_id)


def start(state: ExecutorState, routed: RoutedOrder, now_us: int, rules: Rules) -> list[Slice]:
    """The first slices of a newly routed order; nothing for an order already started or
    finished (a re-delivery)."""
    order = routed.order
    if order.order_id in state.parents or order.order_id in state.finished:
        return []
    execution = ParentExecution(routed, legs=[Leg(leg.order_id) for leg in leg_orders(order)])
    state.parents[order.order_id] = execution
    signal = order.signal
    name = signal.algorithm or DIRECT
    raw = signal.algorithm_parameters
    emulated = name == DIRECT and not all(
        rules.native(allocation.venue, signal.order_type) for allocation in routed.venue_plan
    )
    if emulated and signal.order_type is OrderType.ICEBERG:
        name, raw = _ICEBERG, {k: v for k, v in raw.items() if k != collar.PARAMETER}
    elif emulated and signal.order_type in _STOPS:
        execution.held = True
        state.add_waiting(order.order_id)
        return []
    parameters = parse(CATALOG[name], raw)
    if name == DIRECT:
        return _send_direct(execution, state.market(signal.symbol), now_us, rules)
    facts = ParentFacts(
        order_id=order.order_id,
        side=signal.side,
        quantity=signal.quantity,
        limit_price=signal.price,
        display_quantity=signal.display_quantity,
        urgency=signal.urgency,
        confidence=signal.confidence,
        parameters=parameters,
        start_us=now_us,
    )
    market = state.market(signal.symbol)
    venue = _next_venue(execution)
    execution.plan = algorithms.start(name, facts, market, rules.venue(venue, signal.symbol))
    state.add_waiting(order.order_id)
    return advance(execution, market, now_us, rules)


def trigger(state: ExecutorState, trade: Trade, now_us: int, rules: Rules) -> list[Slice]:
    """The slices of the held stops of the print's symbol that it reaches (a buy's at or
    above its stop price, a sell's at or below): a stop goes as a market order (so at its
    collar from the stop price), a stop-limit as a limit, each as a direct order does."""
    sent: list[Slice] = []
    for execution in state.waiting(trade.symbol):
        signal = execution.signal
        sent += work_legs(execution, state.market(signal.symbol), now_us, rules, trade)
        if not execution.held or execution.cancel_requested or execution.expired(now_us):
            continue
        if not _reached(signal, trade):
            continue
        execution.held = False
        state.parents.touch(execution.routed.order.order_id)
        kind = _TRIGGERED[signal.order_type]
        sent += _send_direct(execution, state.market(signal.symbol), now_us, rules, kind)
    return sent


def _reached(signal: Signal, trade: Trade) -> bool:
    """Whether a print reaches a stop: a buy's at or above its stop price, a sell's at or below."""
    stop = signal.stop_price
    return stop is not None and (
        trade.price >= stop if signal.side is Side.BUY else trade.price <= stop
    )


def work_legs(
    execution: ParentExecution,
    market: Market,
    now_us: int,
    rules: Rules,
    trade: Trade | None = None,
) -> list[Slice]:
    """A bracket's leg slices for its open position (`legs.py`): a stale one cancelled, a
    missing one sent. The take-profit goes as a GTC limit; the stop-loss as a stop does
    direct (a stop-limit at its collar), or, where the venue cannot hold stops, is held here
    until a print (`trade`) reaches it and then sent as a market order at its collar."""
    if not execution.legs:
        return []
    sent = _stale_legs(execution, now_us)
    open_ = legs.open_position(execution.filled_quantity, execution.legs)
    stopping = execution.cancel_requested
    venue = max(execution.routed.venue_plan, key=lambda a: a.quantity).venue
    for leg, order in zip(execution.legs, leg_orders(execution.routed.order), strict=True):
        if not leg.due(open_, stopping):
            continue
        kind = order.signal.order_type
        if kind in _STOPS and not rules.native(venue, kind):
            if trade is None or not _reached(order.signal, trade):
                continue  # held until a print reaches the stop
            kind = _TRIGGERED[kind]
        instrument = rules.instrument(venue, order.signal.symbol)
        reference = _direct_reference(order, market, kind)
        sequence = leg.sent + 1
        child = _direct_child(order, sequence, venue, open_, now_us, instrument, reference, kind)
        sent.append(leg.send(child))
    return sent


def _stale_legs(execution: ParentExecution, now_us: int) -> list[Slice]:
    """Cancels of the legs' slices that no longer fit the open position (or must stop)."""
    open_ = legs.open_position(execution.filled_quantity, execution.legs)
    cancels: list[Slice] = []
    for leg in execution.legs:
        if leg.stale(open_, execution.cancel_requested):
            leg.cancelling = True
            working = leg.working
            assert working is not None
            cancels.append(working.model_copy(update={"action": _CANCEL, "created_at": now_us}))
    return cancels


def legs_over(execution: ParentExecution) -> bool:
    """Whether a bracket's legs are done (an order without legs: at once)."""
    open_ = legs.open_position(execution.filled_quantity, execution.legs)
    return legs.over(execution.legs, open_, execution.cancel_requested)


def advance(execution: ParentExecution, market: Market, now_us: int, rules: Rules) -> list[Slice]:
    """The next child of a planned parent, if its plan is ahead of what is filled or working."""
    plan = execution.plan
    if (
        plan is None
        or execution.cancel_requested
        or execution.gave_up
        or execution.expired(now_us)
        or execution.working()
    ):
        return []
    signal = execution.signal
    target = plan.target(now_us, market)
    if target <= execution.filled_quantity:
        return []  # on schedule: the common case, decided before any pricing
    venue = _next_venue(execution)
    instrument = rules.instrument(venue, signal.symbol)
    limit, reference = signal.price, None
    if limit is None:
        reference = market.mid if market.mid is not None else market.last
        if reference is None:
            return []  # no market seen yet to collar and size a market child
        bps = collar.max_slippage_bps(execution.routed.order)
        limit = collar.collar_price(signal.side, reference, bps, instrument)
    touch = market.touch(signal.side)
    if not plan.resting and (touch is None or not _reaches(signal.side, limit, touch)):
        return []  # the market is beyond the limit or the collar: taking now would break it
    quantity = children.child_quantity(
        quantity=signal.quantity,
        done=execution.filled_quantity,  # nothing is working (checked above)
        target=target,
        lot=None if instrument is None else instrument.lot_size,
        smallest=children.smallest_child(
            instrument, _lowest_trade_price(signal.side, limit, touch), plan.min_child
        ),
        largest=plan.max_child,
    )
    if quantity is None:
        return []
    child = _planned_child(execution, venue, quantity, limit, reference, plan.resting, now_us)
    return [_record(execution, child)]


def on_report(
    state: ExecutorState, report: ExecutionReport, now_us: int, rules: Rules
) -> list[Slice]:
    """Follow a slice's status; a planned parent may send its next child. On a tape that
    carries our fills, a new fill (of any parent) is taken out of the market's volume first."""
    execution = execution_of(state, report.order_id)
    if execution is None:
        return []
    order_id = execution.routed.order.order_id
    if report.order_id != order_id:  # a leg's report
        for leg in execution.legs:
            if leg.order_id == report.order_id:
                leg.follow(report)
        state.parents.touch(order_id)
        return work_legs(execution, state.market(report.symbol), now_us, rules)
    if report.slice_id not in execution.slices:
        return []
    new = execution.follow(report)
    state.parents.touch(order_id)
    if rules.trades_include_fills and new > 0 and report.last_price is not None:
        fill = Print(
            report.venue, trade_id_of(report.report_id), report.timestamp, report.last_price, new
        )
        state.market(report.symbol).on_own_fill(fill)
    sent = work_legs(execution, state.market(report.symbol), now_us, rules)
    if execution.plan is None:
        return sent
    if report.status is OrderStatus.REJECTED:
        execution.gave_up = f"child {report.slice_id} rejected" + (
            f": {report.reason}" if report.reason else ""
        )
        return sent
    return sent + advance(execution, state.market(report.symbol), now_us, rules)


def over(execution: ParentExecution, now_us: int) -> bool:
    """Whether the parent's execution has ended (nothing working, nothing more to send)."""
    if execution.working():
        return False
    if execution.held and not execution.cancel_requested:
        return execution.expired(now_us)  # a held stop's DAY or GTD: it waits until then
    if execution.plan is None or execution.fully_filled or execution.cancel_requested:
        return True
    return execution.gave_up is not None or execution.expired(now_us)


def cancel(state: ExecutorState, order_id: str, now_us: int) -> list[Slice]:
    """Cancel requests for every slice of the order still working (none if already asked):
    a bracket's legs' too; a leg's cancel stops that leg alone."""
    execution = execution_of(state, order_id)
    if execution is None or execution.cancel_requested:
        return []
    state.parents.touch(execution.routed.order.order_id)
    if order_id != execution.routed.order.order_id:
        for leg in execution.legs:
            if leg.order_id == order_id and leg.ended is None:
                leg.ended = "cancelled"
        return _stale_legs(execution, now_us)
    execution.cancel_requested = True
    return [
        child.model_copy(update={"action": _CANCEL, "created_at": now_us})
        for child in execution.working()
    ] + _stale_legs(execution, now_us)


def modify(state: ExecutorState, command: Command, now_us: int) -> list[Slice]:
    """Give a working parent the modify's new terms (if `amend` takes them), and its working
    slices the replaces and cancels that fit them."""
    execution = state.parents.get(command.order_id or "")
    if execution is None or execution.cancel_requested:
        return []
    if amend.refusal(execution.signal, command) is not None:
        return []
    execution.amended = amend.amended(execution.signal, command)
    state.parents.touch(execution.routed.order.order_id)
    room = execution.signal.quantity - execution.filled_quantity
    changes: list[Slice] = []
    for child in execution.working():
        if child.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            continue  # it ends at the venue as soon as it arrives: nothing to amend
        filled = execution.filled[child.slice_id]
        share = max(min(child.quantity - filled, room), _ZERO)
        room -= share
        price = execution.signal.price if child.price is not None else None
        if share == child.quantity - filled and price == child.price:
            continue
        action = SliceAction.REPLACE if share > 0 else SliceAction.CANCEL
        amended = child.model_copy(
            update={
                "action": action,
                "quantity": filled + share if share > 0 else child.quantity,
                "price": price,
                "created_at": now_us,
            }
        )
        if share > 0:
            execution.used[child.venue] -= child.quantity - amended.quantity
            execution.slices[child.slice_id] = amended
        changes.append(amended)
    return changes


def finish(state: ExecutorState, order_id: str) -> None:
    """Let a parent whose execution is over leave the state, remembering its id."""
    del state.parents[order_id]
    state.finished.remember(order_id)


def _record(execution: ParentExecution, child: Slice) -> Slice:
    execution.slices[child.slice_id] = child
    execution.filled[child.slice_id] = _ZERO
    execution.used[child.venue] = execution.used.get(child.venue, _ZERO) + child.quantity
    execution.sent += 1
    return child


def _send_direct(
    execution: ParentExecution,
    market: Market,
    now_us: int,
    rules: Rules,
    kind: OrderType | None = None,
) -> list[Slice]:
    """A direct parent's slices, one per venue of its plan, as order type `kind` (the
    signal's, or what a triggered stop becomes)."""
    routed = execution.routed
    signal = routed.order.signal
    kind = kind or signal.order_type
    reference = _direct_reference(routed.order, market, kind)
    if kind in _COLLARED and reference is None:
        execution.gave_up = "no reference price to set the market order's slippage collar"
        return []
    return [
        _record(
            execution,
            _direct_child(
                routed.order,
                execution.sent + 1,
                allocation.venue,
                allocation.quantity,
                now_us,
                rules.instrument(allocation.venue, signal.symbol),
                reference,
                kind,
            ),
        )
        for allocation in routed.venue_plan
    ]


def _direct_reference(order: ParentOrder, market: Market, kind: OrderType) -> Decimal | None:
    """Where a direct order's collar is measured from: a stop's stop price (a triggered one's
    too: it arrives in the market there); a market order's arrival price, else the mid (or
    last trade) the executor has seen; None for an order with a limit of its own, or when no
    price is known."""
    signal = order.signal
    if signal.order_type is OrderType.STOP:
        return signal.stop_price
    if kind is not OrderType.MARKET:
        return None
    return next((p for p in (order.arrival_price, market.mid, market.last) if p is not None), None)


def _direct_child(
    order: ParentOrder,
    sequence: int,
    venue: str,
    quantity: Decimal,
    now_us: int,
    instrument: Instrument | None,
    reference: Decimal | None,
    kind: OrderType,
) -> Slice:
    """The signal's own terms as order type `kind`; given a reference, a market order as a
    limit and a stop as a stop-limit at the collar, IOC (FOK kept, and a stop's DAY or GTD:
    it waits until then)."""
    signal = order.signal
    terms: dict[str, object] = {
        "order_type": kind,
        "price": signal.price,
        "stop_price": signal.stop_price if kind in _STOPS else None,
        "display_quantity": signal.display_quantity,
        "time_in_force": signal.time_in_force,
        "expire_at": signal.expire_at,
    }
    if reference is not None:
        bps = collar.max_slippage_bps(order)
        kept = _KEPT_TIME_IN_FORCE[kind]
        terms |= {
            "order_type": _COLLARED[kind],
            "price": collar.collar_price(signal.side, reference, bps, instrument),
            "collar_reference": reference,
            "time_in_force": signal.time_in_force if signal.time_in_force in kept else _IOC,
        }
    return _child(order, sequence, venue, quantity, now_us, **terms)


def _planned_child(
    execution: ParentExecution,
    venue: str,
    quantity: Decimal,
    limit: Decimal,
    reference: Decimal | None,
    resting: bool,
    now_us: int,
) -> Slice:
    """A limit at the parent's limit, or at the collar from `reference`: IOC, or resting."""
    signal = execution.signal
    time_in_force, expire_at = TimeInForce.IOC, None
    if resting:
        time_in_force, expire_at = signal.time_in_force, signal.expire_at
    return _child(
        execution.routed.order,
        execution.sent + 1,
        venue,
        quantity,
        now_us,
        order_type=OrderType.LIMIT,
        price=limit,
        collar_reference=reference,
        time_in_force=time_in_force,
        expire_at=expire_at,
    )


def _child(
    order: ParentOrder, sequence: int, venue: str, quantity: Decimal, now_us: int, **terms: object
) -> Slice:
    signal = order.signal
    return Slice(
        slice_id=slice_id_for(order.order_id, sequence),
        order_id=order.order_id,
        signal_id=signal.signal_id,
        account_id=signal.account_id,
        symbol=signal.symbol,
        venue=venue,
        action=SliceAction.NEW,
        sequence=sequence,
        side=signal.side,
        quantity=quantity,
        post_only=signal.algorithm_parameters.get("post_only", "false").lower() == "true",
        created_at=now_us,
        **terms,
    )


def _next_venue(execution: ParentExecution) -> str:
    """The plan's venue with the most allocated quantity not yet filled or working there."""
    used = execution.used
    plan = execution.routed.venue_plan
    return max(plan, key=lambda a: a.quantity - used.get(a.venue, _ZERO)).venue


def _reaches(side: Side, limit: Decimal, touch: Decimal) -> bool:
    return touch <= limit if side is Side.BUY else touch >= limit


def _lowest_trade_price(side: Side, limit: Decimal, touch: Decimal | None) -> Decimal:
    """The lowest price a child could fill at, so its notional clears the venue's minimum
    wherever it fills: a buy takes at the touch when that is below its limit; a sell fills
    at its limit or above."""
    if side is Side.BUY and touch is not None and touch < limit:
        return touch
    return limit

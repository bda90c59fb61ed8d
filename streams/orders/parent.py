"""A parent order's state, folded from its slices' execution reports.

Totals come from the executions themselves: filled is the sum of distinct fills (each report
counted once, by report id), the average price is sum(q * p) / sum(q), exact; a slice's
commission is the cumulative figure of its most advanced report, and the parent's is their sum
(in whatever asset each venue charged: no conversion here). A report is refused, with the
problem, if it would overfill the order or comes after the order ended; ops reconcile those.

Slices ending does not end the parent: only the executor knows whether more slices will follow
(a TWAP slice that expires unfilled is followed by the next one). A parent therefore ends
filled, or after a cancel request (a user's, or the executor's when it gives up) once nothing is
working; its final status then says how its slices ended: rejected if every slice was rejected
before any fill, expired if every unfilled slice expired, else cancelled.

A modify (`amend.py`) gives the order new terms; a refused one changes only the `reason` of the
state it publishes, so whoever sent it can read why. Fills already on their way when the
quantity was lowered still count, up to the quantity first approved: a modified order that has
filled its new quantity ends filled when the executor says its execution is over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from fillstream.schemas.models import (
    TERMINAL,
    Command,
    CommandKind,
    ExecType,
    ExecutionReport,
    OrderState,
    OrderStatus,
    ParentOrder,
    Signal,
    Slice,
    SliceAction,
)
from fillstream.schemas.trusted import trusted
from fillstream.streams.orders import amend
from fillstream.streams.orders.lifecycle import IllegalTransition, OrderEvent, transition

__all__ = [
    "ParentOrderState",
    "Problem",
    "ProblemKind",
    "SliceProgress",
    "apply_command",
    "apply_report",
    "apply_slice",
    "open_order",
    "request_cancel",
    "to_record",
]

_ZERO = Decimal(0)
_D = TypeVar("_D")


class ProblemKind(StrEnum):
    """Why an event was not applied to a parent order."""

    DUPLICATE_REPORT = "DUPLICATE_REPORT"
    FOREIGN_REPORT = "FOREIGN_REPORT"
    ORDER_FINISHED = "ORDER_FINISHED"
    OVERFILL = "OVERFILL"
    UNPRICED_FILL = "UNPRICED_FILL"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"


@dataclass(frozen=True, slots=True)
class Problem:
    """An event refused, and why: the state it was offered to is returned unchanged."""

    kind: ProblemKind
    message: str


@dataclass(frozen=True, slots=True)
class SliceProgress:
    """One slice as its reports tell it.

    `filled` sums the fills applied; `reported_filled` is the highest cumulative filled quantity
    any report gave, and `commission` that report's cumulative commission. A terminal status
    sticks: a late report cannot bring an ended slice back to life.
    """

    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = _ZERO
    reported_filled: Decimal = _ZERO
    commission: Decimal = _ZERO

    @property
    def working(self) -> bool:
        """At the venue, or ended with fills that reports announced but that have not arrived."""
        return self.status not in TERMINAL or self.filled < self.reported_filled

    def after(self, report: ExecutionReport) -> SliceProgress:
        ahead = report.filled_quantity >= self.reported_filled
        return _progress(
            self,
            status=self.status if self.status in TERMINAL else report.status,
            filled=self.filled + report.last_quantity,
            reported_filled=report.filled_quantity if ahead else self.reported_filled,
            commission=report.commission if ahead else self.commission,
        )


@dataclass(frozen=True, slots=True)
class ParentOrderState:
    """Everything `orders.state` says about a parent order, and what it is derived from.

    `version` is 1 when the order opens and grows by exactly one per applied event.
    """

    order: ParentOrder
    amended: Signal | None = None  # the terms modifies gave the order, if any
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = _ZERO
    traded_value: Decimal = _ZERO  # sum of last_quantity * last_price, for the average price
    slices: Mapping[str, SliceProgress] = field(default_factory=lambda: MappingProxyType({}))
    report_ids: frozenset[str] = frozenset()
    cancel_requested: bool = False
    slices_sent: int = 0  # as the executor announced when it ended the order
    reason: str | None = None
    notice: str | None = None  # why a modify was refused: in the state it produced, then gone
    version: int = 1
    updated_at: int = 0

    @property
    def terms(self) -> Signal:
        """The order's current terms: as approved, or as last modified."""
        return self.amended or self.order.signal

    @property
    def quantity(self) -> Decimal:
        """What the order is to fill now; fills beyond a lowered quantity raise it again, up to
        the approved quantity (`ceiling`), as they happened at the venues all the same."""
        return max(self.terms.quantity, self.filled)

    @property
    def ceiling(self) -> Decimal:
        return self.order.signal.quantity

    @property
    def working(self) -> bool:
        """A slice at the venue, or one the executor sent whose reports have not arrived yet:
        the executor's end of an order may overtake them, as it travels on another topic."""
        return len(self.slices) < self.slices_sent or any(
            progress.working for progress in self.slices.values()
        )

    @property
    def commission(self) -> Decimal:
        return sum((progress.commission for progress in self.slices.values()), _ZERO)

    @property
    def average_price(self) -> Decimal | None:
        return self.traded_value / self.filled if self.filled else None


def _evolver(cls: type[_D]) -> Callable[..., _D]:
    """`dataclasses.replace` for a slotted dataclass without `__post_init__` (the state, a
    slice's progress), as straight-line code made once: changes by keyword only (an unknown
    one is a TypeError, as for `replace`), each field set through its slot. A report evolves
    its order's state and its slice's progress in the OMS and in TCA: `replace`, then a loop
    over the fields by name, took a sixth of the desk's CPU, and a frozen dataclass's
    `__init__` sets each field through `object.__setattr__`."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "keep": object()}
    namespace |= {f"set_{name}": cls.__dict__[name].__set__ for name in names}
    lines = [f"def evolve(state, /, *, {', '.join(f'{name}=keep' for name in names)}):"]
    lines.append("    evolved = new(cls)")
    for name in names:
        lines.append(f"    set_{name}(evolved, state.{name} if {name} is keep else {name})")
    lines.append("    return evolved")
    exec("\n".join(lines), namespace)
    evolve: Callable[..., _D] = namespace["evolve"]
    return evolve


_evolve = _evolver(ParentOrderState)
_progress = _evolver(SliceProgress)
_UNSENT = SliceProgress()  # immutable: one stands for every slice not heard of yet
# A state `_advance` has just made, not yet seen by anyone, takes its new status through this.
_set_status = ParentOrderState.__dict__["status"].__set__


def open_order(parent: ParentOrder) -> ParentOrderState:
    """A newly approved parent order: new, nothing filled, version 1."""
    return ParentOrderState(order=parent, updated_at=parent.approved_at)


def apply_report(
    state: ParentOrderState, report: ExecutionReport
) -> tuple[ParentOrderState, list[Problem]]:
    """The state after one execution report of one of the order's slices, or the same state
    and the reason the report was refused (a duplicate, a fill beyond the order's quantity or
    for a finished order, ...)."""
    refusal = _refusal(state, report)
    if refusal is not None:
        return state, [refusal]
    filled = state.filled + report.last_quantity
    events: list[OrderEvent] = []
    if report.last_quantity > 0:
        events.append(OrderEvent.FILL if filled == state.ceiling else OrderEvent.PARTIAL_FILL)
    elif report.exec_type is ExecType.ACK and state.status is OrderStatus.NEW:
        events.append(OrderEvent.ACCEPTED)
    progress = state.slices.get(report.slice_id, _UNSENT).after(report)
    return _advance(
        state,
        events,
        at_us=report.timestamp,
        filled=filled,
        traded_value=state.traded_value + report.last_quantity * (report.last_price or _ZERO),
        slices=MappingProxyType({**state.slices, report.slice_id: progress}),
        report_ids=state.report_ids | {report.report_id},
        reason=report.reason or state.reason,
    )


def apply_slice(state: ParentOrderState, child: Slice) -> ParentOrderState:
    """A new slice the executor sent works until a final report of it arrives, whichever way
    its reports travel: known from the start, it keeps a cancel from ending the order too soon.
    Not an event of the order: no new version, nothing to publish."""
    if child.action is not SliceAction.NEW or child.slice_id in state.slices:
        return state
    if state.status in TERMINAL:
        return state
    return _evolve(state, slices=MappingProxyType({**state.slices, child.slice_id: _UNSENT}))


def apply_command(
    state: ParentOrderState, command: Command, at_us: int
) -> tuple[ParentOrderState, list[Problem]]:
    """The state after a cancel or modify of the order (other commands leave it as it is)."""
    if command.kind is CommandKind.CANCEL:
        return request_cancel(state, at_us, command.reason, command.slices_sent)
    if command.kind is CommandKind.MODIFY:
        return modify(state, command, at_us)
    return state, []


def modify(
    state: ParentOrderState, command: Command, at_us: int
) -> tuple[ParentOrderState, list[Problem]]:
    """New terms for a working order, or, refused, the reason on the order (a new version)."""
    if state.status in TERMINAL:
        return state, [_finished(state)]
    why = "a cancel is pending" if state.cancel_requested else amend.refusal(state.terms, command)
    if why is not None:
        return _advance(state, [], at_us=at_us, notice=f"modify refused: {why}")
    return _advance(
        state,
        [],
        at_us=at_us,
        amended=amend.amended(state.terms, command),
        reason=command.reason or state.reason,
    )


def request_cancel(
    state: ParentOrderState, at_us: int, reason: str | None = None, slices_sent: int | None = None
) -> tuple[ParentOrderState, list[Problem]]:
    """Ask the order to end: cancel_pending until nothing is working, then its final status.

    The executor also ends an order this way when it sends no more slices (it gave up, or a
    venue refused the only slice), saying how many it sent: until each of those has reported,
    something is still working. With nothing working the order ends at once.
    """
    if state.status in TERMINAL:
        return state, [_finished(state)]
    return _advance(
        state,
        [OrderEvent.CANCEL_REQUESTED],
        at_us=at_us,
        cancel_requested=True,
        slices_sent=max(state.slices_sent, slices_sent or 0),
        reason=reason or state.reason,
    )


def to_record(state: ParentOrderState) -> OrderState:
    """The `orders.state` record, with the order's current terms: leaves is zero once the order
    has ended."""
    signal = state.terms
    return trusted(  # the order's own validated records and arithmetic on them
        OrderState,
        order_id=state.order.order_id,
        signal_id=signal.signal_id,
        strategy_id=signal.strategy_id,
        account_id=signal.account_id,
        symbol=signal.symbol,
        side=signal.side,
        order_type=signal.order_type,
        quantity=state.quantity,
        price=signal.price,
        algorithm=signal.algorithm,
        status=state.status,
        filled_quantity=state.filled,
        leaves_quantity=_ZERO if state.status in TERMINAL else state.quantity - state.filled,
        average_price=state.average_price,
        commission=state.commission,
        reason=state.notice or state.reason,
        version=state.version,
        created_at=state.order.approved_at,
        updated_at=state.updated_at,
        allocation_group=signal.allocation_group,
    )


def _finished(state: ParentOrderState) -> Problem:
    return Problem(
        ProblemKind.ORDER_FINISHED,
        f"order {state.order.order_id} is already {state.status.value}",
    )


def _refusal(state: ParentOrderState, report: ExecutionReport) -> Problem | None:
    order_id = state.order.order_id
    if report.order_id != order_id:
        return Problem(
            ProblemKind.FOREIGN_REPORT,
            f"report {report.report_id} is for order {report.order_id}, not {order_id}",
        )
    if report.report_id in state.report_ids:
        return Problem(
            ProblemKind.DUPLICATE_REPORT, f"report {report.report_id} was already applied"
        )
    if state.status in TERMINAL:
        return _finished(state)
    if report.last_quantity > 0 and report.last_price is None:
        return Problem(
            ProblemKind.UNPRICED_FILL, f"report {report.report_id} has a fill without a price"
        )
    if state.filled + report.last_quantity > state.ceiling:
        return Problem(
            ProblemKind.OVERFILL,
            f"report {report.report_id} fills {report.last_quantity} on top of {state.filled}, "
            f"beyond the order's {state.ceiling}",
        )
    return None


def _closing_event(state: ParentOrderState) -> OrderEvent:
    """How an order that was asked to end, and has nothing working, ends."""
    unfilled = [p.status for p in state.slices.values() if p.status is not OrderStatus.FILLED]
    if unfilled and not state.filled and all(s is OrderStatus.REJECTED for s in unfilled):
        return OrderEvent.REJECTED
    if unfilled and all(s is OrderStatus.EXPIRED for s in unfilled):
        return OrderEvent.EXPIRED
    return OrderEvent.CANCELLED


def _advance(
    state: ParentOrderState, events: list[OrderEvent], *, at_us: int, **changes: object
) -> tuple[ParentOrderState, list[Problem]]:
    """Apply one event's changes and status moves as a whole, or refuse it as a whole."""
    updated = _evolve(
        state,
        **({"notice": None} | changes),
        version=state.version + 1,
        updated_at=max(state.updated_at, at_us),
    )
    if updated.cancel_requested and not updated.working and OrderEvent.FILL not in events:
        # The order was asked to end and nothing works for it any more: a modified order may
        # have filled its new quantity, else it ends as its slices did.
        filled = updated.filled >= updated.quantity
        events = [*events, OrderEvent.FILL if filled else _closing_event(updated)]
    status = state.status
    for event in events:
        moved = transition(status, event)
        if isinstance(moved, IllegalTransition):
            return state, [Problem(ProblemKind.ILLEGAL_TRANSITION, moved.message)]
        status = moved
    if status is not state.status:  # what decided it reads neither the status nor the version
        _set_status(updated, status)
    return updated, []

"""Direct execution: one slice per venue allocation, sent at once, cancelled on request.

The executor's state is one `ParentExecution` per parent order still executing, keyed by order
id; every function takes the state and an input and returns the slices to send. Execution
algorithms (TWAP, VWAP, ...) will plan slices over time behind the same three entry points.

A parent whose execution is over leaves the state (`finish`), so it stays bounded; its order id
joins a bounded memory of the latest finished ids, so a re-delivered routed order does not start
it again, while reports and cancels for it are ignored as for any order not executing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.schemas.models import (
    ExecutionReport,
    OrderStatus,
    RoutedOrder,
    Slice,
    SliceAction,
)
from fillstream.streams.execution.ids import RecentIds, slice_id_for

__all__ = ["ExecutorState", "ParentExecution", "cancel", "finish", "on_report", "start"]

FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


@dataclass
class ParentExecution:
    routed: RoutedOrder
    slices: dict[str, Slice] = field(default_factory=dict)
    status: dict[str, OrderStatus] = field(default_factory=dict)
    filled: dict[str, Decimal] = field(default_factory=dict)
    cancel_requested: bool = False

    def working(self) -> list[Slice]:
        return [s for slice_id, s in self.slices.items() if self.status[slice_id] not in FINAL]

    @property
    def fully_filled(self) -> bool:
        return sum(self.filled.values()) >= self.routed.order.signal.quantity


@dataclass
class ExecutorState:
    parents: dict[str, ParentExecution] = field(default_factory=dict)
    finished: RecentIds = field(default_factory=RecentIds)  # order ids of finished parents


def start(state: ExecutorState, routed: RoutedOrder, now_us: int) -> list[Slice]:
    """The slices of a newly routed order; nothing for an order already started or finished
    (a re-delivery)."""
    order = routed.order
    if order.order_id in state.parents or order.order_id in state.finished:
        return []
    execution = ParentExecution(routed)
    state.parents[order.order_id] = execution
    signal = order.signal
    post_only = signal.algorithm_parameters.get("post_only", "false").lower() == "true"
    for sequence, allocation in enumerate(routed.venue_plan, start=1):
        slice_id = slice_id_for(order.order_id, sequence)
        child = Slice(
            slice_id=slice_id,
            order_id=order.order_id,
            signal_id=signal.signal_id,
            account_id=signal.account_id,
            symbol=signal.symbol,
            venue=allocation.venue,
            action=SliceAction.NEW,
            sequence=sequence,
            side=signal.side,
            quantity=allocation.quantity,
            order_type=signal.order_type,
            price=signal.price,
            stop_price=signal.stop_price,
            display_quantity=signal.display_quantity,
            time_in_force=signal.time_in_force,
            expire_at=signal.expire_at,
            post_only=post_only,
            created_at=now_us,
        )
        execution.slices[slice_id] = child
        execution.status[slice_id] = OrderStatus.NEW
        execution.filled[slice_id] = Decimal(0)
    return list(execution.slices.values())


def on_report(state: ExecutorState, report: ExecutionReport) -> list[Slice]:
    """Follow a slice's status; direct execution sends nothing new in response."""
    execution = state.parents.get(report.order_id)
    if execution is None or report.slice_id not in execution.slices:
        return []
    execution.status[report.slice_id] = report.status
    execution.filled[report.slice_id] = report.filled_quantity
    return []


def cancel(state: ExecutorState, order_id: str, now_us: int) -> list[Slice]:
    """Cancel requests for every slice of the order still working (none if already asked)."""
    execution = state.parents.get(order_id)
    if execution is None or execution.cancel_requested:
        return []
    execution.cancel_requested = True
    return [
        child.model_copy(update={"action": SliceAction.CANCEL, "created_at": now_us})
        for child in execution.working()
    ]


def finish(state: ExecutorState, order_id: str) -> None:
    """Let a parent whose execution is over leave the state, remembering its id."""
    del state.parents[order_id]
    state.finished.remember(order_id)

"""The OMS processor's core: the latest state of every parent order, for `orders.state`; its
final state again on `orders.ended`, keyed by account, from which risk stops counting the order
as working (risk is partitioned by account, `orders.state` by order id); and, for a child of a
group signal that ended with part unfilled, on `allocations.ended`, keyed by its allocation
group, from which the allocator fails the rest over to another account.

A bracket's legs are orders of their own (`streams/orders/bracket.py`), opened with the
bracket's first slice: from then on the executor may send them, and it ends each one, which
risk never approved and so never hears of on `orders.ended`.

An order that reaches a final status leaves `orders`, so the state stays bounded; its id joins
`finished`, a bounded memory of the latest final order ids, so that a re-delivered
`orders.approved` or `orders.rejected` does not open it again. Reports and commands for it are
ignored, as they were while it was held: a final order takes no event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fillstream.domain.ids import REDELIVERY_MEMORY, RecentIds, order_id_for
from fillstream.domain.ledger import Ledger
from fillstream.schemas.models import (
    TERMINAL,
    Command,
    ExecutionReport,
    OrderState,
    OrderStatus,
    ParentOrder,
    Rejection,
    Slice,
)
from fillstream.streams.orders import (
    apply_command,
    apply_report,
    apply_slice,
    open_order,
    to_record,
)
from fillstream.streams.orders.bracket import bracket_of, leg_orders
from fillstream.streams.orders.parent import ParentOrderState
from fillstream.streams.stages import Emit

__all__ = ["OmsStage"]


class OmsStage:
    inputs = ("orders.approved", "orders.rejected", "slices", "fills", "commands")
    outputs = ("orders.state", "orders.ended", "allocations.ended")
    durable = ("orders", "finished")
    orders: Ledger[str, ParentOrderState]  # the orders not final yet
    finished: RecentIds

    def __init__(self, memory: int = REDELIVERY_MEMORY) -> None:
        self.orders = Ledger()
        self.finished = RecentIds(memory)

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "orders.approved":
            parent: ParentOrder = record
            if parent.order_id in self.orders or parent.order_id in self.finished:
                return []
            return self._emit(open_order(parent))
        if topic == "orders.rejected":
            return self._rejected(record)
        if topic == "slices":
            child: Slice = record
            state = self.orders.get(child.order_id)
            if state is None:
                return []
            self.orders[child.order_id] = apply_slice(state, child)
            return self._open_legs(state.order)
        if topic == "fills":
            report: ExecutionReport = record
            return self._update(report.order_id, lambda s: apply_report(s, report))
        if topic == "commands":
            command: Command = record
            if command.order_id is not None:
                return self._update(command.order_id, lambda s: apply_command(s, command, now_us))
        return []

    def _update(self, order_id: str, change: Any) -> list[Emit]:
        state = self.orders.get(order_id)
        if state is None:
            return []
        updated, _problems = change(state)
        if updated is state or updated.version == state.version:
            return []
        return self._emit(updated)

    def _open_legs(self, bracket: ParentOrder) -> list[Emit]:
        """A bracket's legs not opened yet (none for any other order)."""
        return [
            emit
            for leg in leg_orders(bracket)
            if leg.order_id not in self.orders and leg.order_id not in self.finished
            for emit in self._emit(open_order(leg))
        ]

    def _emit(self, state: ParentOrderState) -> list[Emit]:
        """Publish `state`; hold the order while it works, else let it go and remember its id."""
        order_id = state.order.order_id
        if state.status not in TERMINAL:
            self.orders[order_id] = state
            return [Emit("orders.state", to_record(state))]
        self.orders.pop(order_id, None)
        self.finished.remember(order_id)
        record = to_record(state)
        # against what risk approved: a modify may have lowered the quantity since
        approved = bracket_of(order_id) is None  # a leg is the executor's, not risk's
        return _final(record, unfilled=approved and state.filled < state.order.signal.quantity)

    def _rejected(self, rejection: Rejection) -> list[Emit]:
        """A refused signal's order ends rejected: one approved and then refused (by the
        router) as well as one risk refused, which the producer can look up all the same."""
        signal = rejection.signal
        if signal is None:
            return []
        order_id = rejection.order_id or order_id_for(signal.signal_id)
        if order_id in self.finished or (rejection.order_id is None and order_id in self.orders):
            # Re-delivered, or risk refusing a re-sent signal: the order it names stands.
            return []
        self.finished.remember(order_id)
        state = self.orders.pop(order_id, None) or open_order(
            ParentOrder(order_id=order_id, signal=signal, approved_at=rejection.rejected_at)
        )
        record = to_record(state).model_copy(
            update={
                "status": OrderStatus.REJECTED,
                "reason": f"{rejection.reason_code}: {rejection.reason}",
                "leaves_quantity": Decimal(0),
                "version": state.version + 1,
                "updated_at": rejection.rejected_at,
            }
        )
        return _final(record, unfilled=rejection.order_id is not None)  # risk approved it


def _final(record: OrderState, *, unfilled: bool) -> list[Emit]:
    """An order's final state; on `orders.ended` too when risk still counts part of it as
    working: an order it approved that ended with part unfilled. One that filled in full left
    risk's working orders with its last fill (`fills.accounts`), and one risk refused never
    joined them: neither needs a record more. On `allocations.ended` when it is a group
    signal's child that left part unfilled, refused by risk or not."""
    final = [Emit("orders.state", record)]
    if unfilled:
        final.append(Emit("orders.ended", record))
    if record.allocation_group is not None and record.filled_quantity < record.quantity:
        final.append(Emit("allocations.ended", record))
    return final

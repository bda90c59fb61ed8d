"""The OMS processor's core: the latest state of every parent order, for `orders.state`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fillstream.schemas.models import (
    Command,
    CommandKind,
    ExecutionReport,
    OrderStatus,
    ParentOrder,
    Rejection,
)
from fillstream.streams.execution.ids import order_id_for
from fillstream.streams.orders import apply_report, open_order, request_cancel, to_record
from fillstream.streams.orders.parent import ParentOrderState
from fillstream.streams.stages import Emit

__all__ = ["OmsStage"]


class OmsStage:
    inputs = ("orders.approved", "orders.rejected", "fills", "commands")
    outputs = ("orders.state",)

    def __init__(self) -> None:
        self.orders: dict[str, ParentOrderState] = {}

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "orders.approved":
            parent: ParentOrder = record
            if parent.order_id in self.orders:
                return []
            self.orders[parent.order_id] = open_order(parent)
            return [self._emit(parent.order_id)]
        if topic == "orders.rejected":
            return self._rejected(record)
        if topic == "fills":
            report: ExecutionReport = record
            return self._update(report.order_id, lambda s: apply_report(s, report))
        if topic == "commands":
            command: Command = record
            if command.kind is CommandKind.CANCEL and command.order_id is not None:
                return self._update(
                    command.order_id, lambda s: request_cancel(s, now_us, command.reason)
                )
        return []

    def _update(self, order_id: str, change: Any) -> list[Emit]:
        state = self.orders.get(order_id)
        if state is None:
            return []
        updated, _problems = change(state)
        if updated is state or updated.version == state.version:
            return []
        self.orders[order_id] = updated
        return [self._emit(order_id)]

    def _emit(self, order_id: str) -> Emit:
        return Emit("orders.state", to_record(self.orders[order_id]))

    def _rejected(self, rejection: Rejection) -> list[Emit]:
        """A refused signal's order ends rejected: one approved and then refused (by the
        router) as well as one risk refused, which the producer can look up all the same."""
        signal = rejection.signal
        if signal is None:
            return []
        order_id = rejection.order_id or order_id_for(signal.signal_id)
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
        return [Emit("orders.state", record)]

"""The executor processor's core: routed orders in, slices out; follows fills and cancels.

When the last slice of a parent ends and the parent is not filled, execution is over: the
executor says so with a `cancel` command of its own, from which the OMS gives the parent its
final status (cancelled, rejected or expired). Only the executor can know this, since an
algorithm may still have slices to send. Once its last slice has ended, a parent (filled,
cancelled, or ended so) leaves the executor's state.
"""

from __future__ import annotations

from typing import Any

from fillstream.schemas.models import Command, CommandKind, ExecutionReport, RoutedOrder
from fillstream.streams.execution import direct
from fillstream.streams.stages import Emit

__all__ = ["ExecutorStage"]


class ExecutorStage:
    inputs = ("orders.routed", "fills", "commands", "clock")
    outputs = ("slices", "commands")
    durable = ("state",)

    def __init__(self) -> None:
        self.state = direct.ExecutorState()

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "orders.routed":
            routed: RoutedOrder = record
            return [Emit("slices", child) for child in direct.start(self.state, routed, now_us)]
        if topic == "fills":
            report: ExecutionReport = record
            direct.on_report(self.state, report)
            return self._ended(report, now_us)
        if topic == "commands":
            command: Command = record
            if command.kind is CommandKind.CANCEL and command.order_id is not None:
                cancels = direct.cancel(self.state, command.order_id, now_us)
                return [Emit("slices", child) for child in cancels]
        return []

    def _ended(self, report: ExecutionReport, now_us: int) -> list[Emit]:
        execution = self.state.parents.get(report.order_id)
        if execution is None or execution.working():
            return []
        direct.finish(self.state, report.order_id)
        if execution.cancel_requested or execution.fully_filled:
            return []
        done = Command(
            command_id=f"{report.order_id}:ended",
            kind=CommandKind.CANCEL,
            order_id=report.order_id,
            symbol=report.symbol,
            account_id=report.account_id,
            reason=f"execution ended: last slice {report.status.value}"
            + (f" ({report.reason})" if report.reason else ""),
            issued_by="executor",
            created_at=max(now_us, report.timestamp),
        )
        return [Emit("commands", done)]

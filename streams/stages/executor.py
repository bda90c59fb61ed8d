"""The executor processor's core: routed orders in, slices out; follows fills and cancels.

When the last slice of a parent ends and the parent is not filled, execution is over: the
executor says so with a `cancel` command of its own, from which the OMS gives the parent its
final status (cancelled, rejected or expired). Only the executor can know this, since an
algorithm may still have slices to send. Once its last slice has ended, a parent (filled,
cancelled, or ended so) leaves the executor's state.

A kill switch (for one account, or for every account when it names none) cancels every
parent of that account the executor is working, through the same path as an operator's
cancel: a `cancel` command per order, which the OMS records and the executor then carries out.
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
            if command.kind is CommandKind.KILL_SWITCH:
                return self._kill(command, now_us)
        return []

    def _kill(self, kill: Command, now_us: int) -> list[Emit]:
        return [
            Emit(
                "commands",
                Command(
                    command_id=f"{order_id}:{kill.command_id}",
                    kind=CommandKind.CANCEL,
                    order_id=order_id,
                    symbol=signal.symbol,
                    account_id=signal.account_id,
                    reason=f"kill switch: {kill.reason}" if kill.reason else "kill switch",
                    issued_by="executor",
                    created_at=now_us,
                ),
            )
            for order_id, execution in self.state.parents.items()
            if not execution.cancel_requested
            and kill.account_id in (None, (signal := execution.routed.order.signal).account_id)
        ]

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

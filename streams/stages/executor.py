"""The executor processor's core: routed orders in, slices out; runs the execution algorithms
on market data and clock ticks, follows fills and cancels.

When a parent's execution is over (`parents.over`) and the parent is not filled, the executor
says so with a `cancel` command of its own, from which the OMS gives the parent its final
status (cancelled, rejected or expired). Only the executor can know this, since an algorithm
may still have slices to send. Once over, a parent (filled, cancelled, or ended so) leaves the
executor's state.

A kill switch (for one account, or for every account when it names none) cancels every
parent of that account the executor is working, through the same path as an operator's
cancel: a `cancel` command per order, which the OMS records and the executor then carries out.
A pause stops an account's new orders at risk and leaves its own orders working, but cancels
its group signals' children the same way: ended with part unfilled, a child's rest fails over
to another account of its group (streams/failover.py), which a paused account cannot fill.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from fillstream.domain.instruments import Instrument, InstrumentBook, PublishedRules
from fillstream.schemas.models import (
    ClockTick,
    Command,
    CommandKind,
    ExecutionReport,
    Quote,
    RoutedOrder,
    Slice,
    Trade,
)
from fillstream.streams.execution import parents
from fillstream.streams.execution.parents import ParentExecution, Rules
from fillstream.streams.stages import Emit

__all__ = ["ISSUER", "ExecutorStage"]

ISSUER = "executor"  # `issued_by` of the commands the executor publishes

_NO_INSTRUMENTS = InstrumentBook({})


class ExecutorStage:
    inputs = (
        "orders.routed",
        "fills",
        "commands",
        "market.quotes",
        "market.trades",
        "clock",
        "venue.instruments",
    )
    outputs = ("slices", "commands")
    durable = ("state.parents", "state.finished", "state.markets", "published.rules")
    state: parents.ExecutorState
    published: PublishedRules

    def __init__(self, rules: Rules | None = None) -> None:
        self.configured = rules or Rules()
        self.rules = self.configured
        self.state = parents.ExecutorState()
        self.published = PublishedRules()

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "venue.instruments":
            self.published.learn(Instrument.from_rules(record))
        self._current_rules()
        if topic == "venue.instruments":
            return []
        if topic == "orders.routed":
            routed: RoutedOrder = record
            return _slices(parents.start(self.state, routed, now_us, self.rules))
        if topic == "fills":
            report: ExecutionReport = record
            sent = _slices(parents.on_report(self.state, report, now_us, self.rules))
            return sent + self._ended(
                parents.execution_of(self.state, report.order_id), now_us, report
            )
        if topic in ("market.quotes", "market.trades"):
            return self._market(record, now_us)
        if topic == "clock":
            tick: ClockTick = record
            return self._advance(None, tick.timestamp)
        if topic == "commands":
            command: Command = record
            if command.kind is CommandKind.CANCEL and command.order_id is not None:
                if command.slices_sent is not None:
                    return []  # an order's end, as the executor announced it: not a request
                cancels = parents.cancel(self.state, command.order_id, now_us)
                return _slices(cancels) + self._ended(
                    parents.execution_of(self.state, command.order_id), now_us
                )
            if command.kind is CommandKind.MODIFY:
                return _slices(parents.modify(self.state, command, now_us))
            if command.kind is CommandKind.KILL_SWITCH:
                return self._cancel_working(command, "kill switch", now_us)
            if command.kind is CommandKind.PAUSE:
                return self._cancel_working(command, "account paused", now_us, children=True)
        return []

    def _current_rules(self) -> None:
        """The configured rules with the instrument rules the venues published (kept until
        these change: asked on every record, as a restored stage starts from the configured)."""
        configured = self.configured.instruments or _NO_INSTRUMENTS
        book = self.published.over(configured)
        if book is not configured and book is not self.rules.instruments:
            self.rules = replace(self.configured, instruments=book)

    def _market(self, event: Quote | Trade, now_us: int) -> list[Emit]:
        market = self.state.market(event.symbol)
        if isinstance(event, Quote):
            market.on_quote(event)
            return self._advance(event.symbol, now_us)
        market.on_trade(event, self.rules.trades_include_fills)
        sent = _slices(parents.trigger(self.state, event, now_us, self.rules))
        return sent + self._advance(event.symbol, now_us)

    def _advance(self, symbol: str | None, now_us: int) -> list[Emit]:
        """Every planned parent of the symbol (of every symbol, on a clock tick) moves on; a
        held stop whose expiry passed ends."""
        emits: list[Emit] = []
        for execution in self.state.waiting(symbol):
            market = self.state.market(execution.routed.order.signal.symbol)
            sent = parents.advance(execution, market, now_us, self.rules)
            if sent:
                self.state.parents.touch(execution.routed.order.order_id)
            emits += _slices(sent)
            emits += self._ended(execution, now_us)
        return emits

    def _cancel_working(
        self, command: Command, why: str, now_us: int, *, children: bool = False
    ) -> list[Emit]:
        """A `cancel` per parent of the command's account (of every account when it names
        none) not yet being cancelled; with `children`, only a group signal's children."""
        return [
            Emit(
                "commands",
                Command(
                    command_id=f"{order_id}:{command.command_id}",
                    kind=CommandKind.CANCEL,
                    order_id=order_id,
                    symbol=signal.symbol,
                    account_id=signal.account_id,
                    reason=f"{why}: {command.reason}" if command.reason else why,
                    issued_by=ISSUER,
                    created_at=now_us,
                ),
            )
            for order_id, execution in self.state.parents.items()
            if not execution.cancel_requested
            and command.account_id in (None, (signal := execution.routed.order.signal).account_id)
            and (not children or signal.allocation_group is not None)
        ]

    def _ended(
        self,
        execution: ParentExecution | None,
        now_us: int,
        report: ExecutionReport | None = None,
    ) -> list[Emit]:
        """The parent's end once its execution is over, and, once a bracket's legs are done
        too, theirs; then the parent leaves."""
        if execution is None:
            return []
        order_id = execution.routed.order.order_id
        ended: list[Emit] = []
        if not execution.entry_ended:
            if not parents.over(execution, now_us):
                return []
            execution.entry_ended = True
            self.state.parents.touch(order_id)
            own = report if report is not None and report.order_id == order_id else None
            ended = self._entry_ended(execution, now_us, own)
        if not parents.legs_over(execution):
            return ended
        parents.finish(self.state, order_id)
        return ended + _legs_ended(execution, now_us)

    def _entry_ended(
        self, execution: ParentExecution, now_us: int, report: ExecutionReport | None
    ) -> list[Emit]:
        """Unless filled or cancelled, a `cancel` command that says why the parent's execution
        ended. A modified parent ends with one even when filled: only the executor knows that
        what it filled is all that will come."""
        signal = execution.routed.order.signal
        order_id = execution.routed.order.order_id
        if execution.cancel_requested or (execution.fully_filled and execution.amended is None):
            return []
        if execution.fully_filled:
            why = "the modified quantity is filled"
        elif execution.gave_up is not None:
            why = execution.gave_up
        elif (execution.plan is not None or execution.held) and execution.expired(now_us):
            why = "the order's expiry time passed"
        elif report is not None:
            why = f"last slice {report.status.value}" + (
                f" ({report.reason})" if report.reason else ""
            )
        else:
            why = "nothing left working"
        done = Command(
            command_id=f"{order_id}:ended",
            kind=CommandKind.CANCEL,
            order_id=order_id,
            symbol=signal.symbol,
            account_id=signal.account_id,
            reason=f"execution ended: {why}",
            issued_by=ISSUER,
            slices_sent=execution.sent,
            created_at=max(now_us, report.timestamp) if report is not None else now_us,
        )
        return [Emit("commands", done)]


def _legs_ended(execution: ParentExecution, now_us: int) -> list[Emit]:
    """Each leg's end for the OMS: a leg that filled is first lowered to what it filled (a
    modify), so that it ends filled; then the `cancel` that ends it, with its slice count."""
    signal = execution.routed.order.signal
    closed = sum((leg.filled for leg in execution.legs), Decimal(0))
    ended: list[Emit] = []
    for leg in execution.legs:
        if execution.cancel_requested:
            why = "the bracket was cancelled"
        elif leg.ended is not None:
            why = leg.ended
        elif leg.filled:
            why = f"it closed {leg.filled} of the position"
        elif closed:
            why = "the other leg closed the position"
        else:
            why = "the entry filled nothing to close"
        terms = {
            "order_id": leg.order_id,
            "symbol": signal.symbol,
            "account_id": signal.account_id,
            "issued_by": ISSUER,
            "created_at": now_us,
        }
        if leg.filled:
            ended.append(
                Emit(
                    "commands",
                    Command(
                        command_id=f"{leg.order_id}:closed",
                        kind=CommandKind.MODIFY,
                        quantity=leg.filled,
                        reason=f"closed {leg.filled} of the bracket's position",
                        **terms,
                    ),
                )
            )
        done = Command(
            command_id=f"{leg.order_id}:ended",
            kind=CommandKind.CANCEL,
            reason=f"execution ended: {why}",
            slices_sent=leg.sent,
            **terms,
        )
        ended.append(Emit("commands", done))
    return ended


def _slices(children: list[Slice]) -> list[Emit]:
    return [Emit("slices", child) for child in children]

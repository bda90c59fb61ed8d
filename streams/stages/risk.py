"""The risk processor's core: signals in, approved parent orders or rejections out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fillstream.connectors.instruments import Instrument, PublishedRules
from fillstream.schemas.models import (
    Command,
    ExecutionReport,
    OrderState,
    ParentOrder,
    ReferencePrice,
)
from fillstream.streams.execution.ids import RecentIds, order_id_for
from fillstream.streams.risk import (
    MarketView,
    RiskConfig,
    RiskState,
    apply_command,
    apply_end,
    apply_fill,
    approve,
    check_signal,
    order_price,
    record_rejection,
    to_record,
    validate_raw,
)
from fillstream.streams.risk.reasons import Rejection
from fillstream.streams.stages import Emit

__all__ = ["RiskStage"]


class RiskStage:
    """Pre-trade risk over the accounts of this worker's partitions."""

    inputs = (
        "signals",
        "fills.accounts",
        "orders.ended",
        "commands",
        "market.reference",
        "venue.instruments",
    )
    outputs = ("orders.approved", "orders.rejected")
    durable = ("state.accounts", "state.kill_switch", "market.symbols", "published.rules", "fills")
    state: RiskState
    market: MarketView
    published: PublishedRules
    # Report ids of the executions counted: a desk restarted from its last checkpoint
    # publishes its latest executions again, and a position must count each once.
    fills: RecentIds

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self.state = RiskState()
        self.market = MarketView()
        self.published = PublishedRules()
        self.fills = RecentIds()

    def _config(self) -> RiskConfig:
        """The configuration with the instrument rules the venues published."""
        book = self.published.over(self.config.instruments)
        if book is not self.config.instruments:
            self.config = replace(self.config, instruments=book)
        return self.config

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "signals":
            return self._on_signal(record, now_us)
        if topic == "fills.accounts":
            report: ExecutionReport = record
            if report.last_quantity > 0 and report.report_id not in self.fills:
                self.fills.remember(report.report_id)
                apply_fill(
                    self.state,
                    report.account_id,
                    report.symbol,
                    report.side,
                    report.last_quantity,
                    report.order_id,
                )
        elif topic == "orders.ended":
            ended: OrderState = record
            unfilled = ended.quantity - ended.filled_quantity
            apply_end(self.state, ended.account_id, ended.order_id, unfilled)
        elif topic == "commands":
            command: Command = record
            apply_command(self.state, command)
        elif topic == "market.reference":
            reference: ReferencePrice = record
            self.market.update(reference)
        elif topic == "venue.instruments":
            self.published.learn(Instrument.from_rules(record))
        return []

    def _on_signal(self, raw: Mapping[str, Any], now_us: int) -> list[Emit]:
        """Validate, check and decide; a raw record so that a malformed signal is answered too."""
        signal = validate_raw(raw)
        if isinstance(signal, Rejection):
            return [Emit("orders.rejected", to_record(signal, raw, rejected_at=now_us))]
        outcome = check_signal(self._config(), self.state, signal, self.market, now_us)
        if isinstance(outcome, Rejection):
            record_rejection(self.state, signal)
            return [Emit("orders.rejected", to_record(outcome, signal, rejected_at=now_us))]
        approve(self.state, signal, order_price(signal, self.market), now_us)
        parent = ParentOrder(
            order_id=order_id_for(signal.signal_id),
            signal=signal,
            arrival_price=self.market.reference_price(signal.symbol),
            max_slippage_bps=self.config.limits_for(
                signal.account_id, signal.symbol
            ).max_slippage_bps,
            approved_at=now_us,
            risk_score=float(outcome),
        )
        return [Emit("orders.approved", parent)]

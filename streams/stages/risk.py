"""The risk processor's core: signals in, approved parent orders or rejections out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from fillstream.domain.ids import RecentIds, order_id_for
from fillstream.domain.instruments import Instrument, PublishedRules
from fillstream.schemas.models import (
    Command,
    ExecutionReport,
    OrderState,
    ParentOrder,
    ReferencePrice,
)
from fillstream.schemas.topics import partition_of
from fillstream.schemas.trusted import trusted
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
from fillstream.streams.risk.standing import AccountBook, account_status, book_fill, stand
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
    outputs = ("orders.approved", "orders.rejected", "accounts.state")
    durable = (
        "state.accounts",
        "state.kill_switch",
        "market.symbols",
        "published.rules",
        "fills",
        "books",
    )
    state: RiskState
    market: MarketView
    published: PublishedRules
    # Report ids of the executions counted: a desk restarted from its last checkpoint
    # publishes its latest executions again, and a position must count each once.
    fills: RecentIds
    # The money of each account the config declares (`config.tracked`), whose state risk
    # publishes on `accounts.state` after each change (streams/risk/standing.py).
    books: dict[str, AccountBook]

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self.state = RiskState()
        self.market = MarketView()
        self.published = PublishedRules()
        self.fills = RecentIds()
        self.books = {}
        self._owns: Callable[[str], bool] = lambda account_id: True  # replay: one stage, all

    def placed(self, partition: int, partitions: int) -> None:
        """Live, this stage holds the accounts keyed to `partition` of `partitions`. An account
        command comes to every partition (the desk's are by symbol); only the account's own
        answers it on `accounts.state`: the others hold none of its positions and orders, and
        their empty states would contradict the owner's."""
        self._owns = lambda account_id: partition_of(account_id.encode(), partitions) == partition

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
                if report.account_id in self.config.tracked and report.last_price is not None:
                    book = self.books.get(report.account_id, AccountBook())
                    self.books[report.account_id] = book_fill(
                        book, report.symbol, report.side, report.last_quantity, report.last_price
                    )
                return self._standing((report.account_id,), now_us)
        elif topic == "orders.ended":
            ended: OrderState = record
            unfilled = ended.quantity - ended.filled_quantity
            apply_end(self.state, ended.account_id, ended.order_id, unfilled)
            return self._standing((ended.account_id,), now_us)
        elif topic == "commands":
            command: Command = record
            apply_command(self.state, command, self.config.paused_at_start)
            changed = self.config.tracked if command.account_id is None else {command.account_id}
            return self._standing(filter(self._owns, changed), now_us)
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
        parent = trusted(  # of the signal just validated, the market's and the config's values
            ParentOrder,
            order_id=order_id_for(signal.signal_id),
            signal=signal,
            arrival_price=self.market.reference_price(signal.symbol),
            max_slippage_bps=self.config.limits_for(
                signal.account_id, signal.symbol
            ).max_slippage_bps,
            approved_at=now_us,
            risk_score=float(outcome),
        )
        return [Emit("orders.approved", parent), *self._standing((signal.account_id,), now_us)]

    def _standing(self, accounts: Iterable[str], now_us: int) -> list[Emit]:
        """The state of each of `accounts` the config declares, after a change (sorted: a
        command for every account publishes them in one order)."""
        emits = []
        for account_id in sorted(self.config.tracked.intersection(accounts)):
            book, standing = stand(
                account_id,
                self.state.account(account_id),
                self.books.get(account_id, AccountBook()),
                account_status(self.config, self.state, account_id),
                self.market,
                now_us,
            )
            self.books[account_id] = book
            emits.append(Emit("accounts.state", standing))
        return emits

"""Records a restarted processor publishes again reach the next one twice; the second copy
must change nothing. (Under at-least-once a processor repeats what it published since its
last checkpoint, each copy equal to the first.)"""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.config import load_config
from fillstream.schemas.models import (
    ExecType,
    ExecutionReport,
    OrderStatus,
    ParentOrder,
    Quote,
    Side,
    Signal,
)
from fillstream.streams.stages.risk import RiskStage
from fillstream.streams.stages.router import RouterStage

T = 1_723_161_300_000_000


def _fill(report_id: str, quantity: str) -> ExecutionReport:
    return ExecutionReport(
        report_id=report_id,
        order_id="o-1",
        signal_id="s-1",
        slice_id="o-1-1",
        account_id="acct-1",
        symbol="BTC/USDT",
        venue="binance",
        side=Side.BUY,
        exec_type=ExecType.PARTIAL_FILL,
        status=OrderStatus.PARTIALLY_FILLED,
        quantity=D("1"),
        last_quantity=D(quantity),
        last_price=D("61000"),
        filled_quantity=D(quantity),
        leaves_quantity=D("1") - D(quantity),
        commission=D("0"),
        timestamp=T,
    )


def test_an_execution_delivered_twice_counts_once_in_the_position():
    risk = RiskStage(load_config().risk)
    first, second = _fill("o-1-1:2", "0.25"), _fill("o-1-1:3", "0.5")
    for report in (first, first, second, first, second):
        risk.handle("fills.accounts", report, T)
    assert risk.state.accounts["acct-1"].positions["BTC/USDT"] == D("0.75")  # 0.25 + 0.5


def test_an_approval_delivered_twice_is_routed_once():
    config = load_config()
    router = RouterStage(config.venues, config.instruments)
    quote = Quote(
        symbol="BTC/USDT",
        venue="binance",
        bid_price=D("61000"),
        bid_size=D("5"),
        ask_price=D("61001"),
        ask_size=D("5"),
        timestamp=T,
    )
    router.handle("market.quotes", quote, T)
    signal = Signal(
        signal_id="s-1",
        strategy_id="t",
        account_id="acct-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=D("1"),
        order_type="market",
        created_at=T,
    )
    parent = ParentOrder(order_id="o-s-1", signal=signal, approved_at=T)
    (routed,) = router.handle("orders.approved", parent, T)
    assert routed.topic == "orders.routed"
    # The quotes move; the copy must not be routed again against them.
    router.handle("market.quotes", quote.model_copy(update={"ask_size": D("0.1")}), T + 1)
    assert router.handle("orders.approved", parent, T + 2) == []

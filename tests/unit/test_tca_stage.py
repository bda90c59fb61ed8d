"""The TCA processor's core, fed by hand: an order followed to its end, measured once the market
has moved past its horizons, published once.

The market (BTC/USDT on binance), in seconds after T:
    −1  quote 99.90 / 100.10   mid 100.00
     0  the order arrives (decision price 99.80, arrival mid 100.00)
     1  fill 1 @ 100.10 (slice 1), and a market print 3 @ 100.10
     2  quote 100.00 / 100.20  mid 100.10
   2.5  market print 5 @ 100.15
     3  fill 1 @ 100.20 (slice 2): the order is filled
     6  quote 100.20 / 100.40  mid 100.30
     8  quote 100.30 / 100.50  mid 100.40   (3 s + the longest horizon, 5 s)
Horizons: markouts at 1 s and 5 s, realized spread and impact at Δ = 5 s.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.schemas.models import (
    ClockTick,
    Command,
    ExecutionFeedback,
    ExecutionReport,
    OrderStatus,
    ParentOrder,
    Quote,
    Rejection,
    Signal,
    TcaResult,
    Trade,
)
from fillstream.schemas.topics import event_time
from fillstream.streams.memory import Memory
from fillstream.streams.stages.tca import TcaStage
from fillstream.streams.tca import Horizons, TcaConfig

T = 1_723_161_300_000_000
S = 1_000_000
CONFIG = TcaConfig(horizons=Horizons(markouts_us=(S, 5 * S), spread_us=5 * S))


def parent(quantity: str = "2", order_id: str = "o-s-1") -> ParentOrder:
    signal = Signal(
        signal_id=order_id.removeprefix("o-"),
        strategy_id="momentum",
        account_id="acct-1",
        symbol="BTC/USDT",
        side="buy",
        quantity=quantity,
        order_type="market",
        algorithm="twap",
        decision_price="99.80",
        created_at=T,
    )
    return ParentOrder(order_id=order_id, signal=signal, arrival_price="100.00", approved_at=T)


def quote(at: float, bid: str, ask: str) -> tuple[str, Quote]:
    return "market.quotes", Quote(
        symbol="BTC/USDT",
        venue="binance",
        bid_price=bid,
        ask_price=ask,
        timestamp=T + int(at * S),
    )


def trade(at: float, price: str, quantity: str) -> tuple[str, Trade]:
    return "market.trades", Trade(
        symbol="BTC/USDT",
        venue="binance",
        trade_id=f"t{at}",
        price=price,
        quantity=quantity,
        timestamp=T + int(at * S),
    )


def fill(at: float, slice_: int, price: str, commission: str, order_id: str = "o-s-1"):
    return "fills", ExecutionReport(
        report_id=f"{order_id}-{slice_}:1",
        order_id=order_id,
        signal_id=order_id.removeprefix("o-"),
        slice_id=f"{order_id}-{slice_}",
        account_id="acct-1",
        symbol="BTC/USDT",
        venue="binance",
        side="buy",
        exec_type="fill",
        status=OrderStatus.FILLED,
        quantity="1",
        last_quantity="1",
        last_price=price,
        filled_quantity="1",
        leaves_quantity="0",
        commission=commission,
        timestamp=T + int(at * S),
    )


def cancel(at: float, order_id: str = "o-s-1") -> tuple[str, Command]:
    return "commands", Command(
        command_id=f"{order_id}:cancel",
        kind="cancel",
        order_id=order_id,
        symbol="BTC/USDT",
        created_at=T + int(at * S),
    )


def tick(at: float) -> tuple[str, ClockTick]:
    return "clock", ClockTick(partition=0, sequence=0, timestamp=T + int(at * S))


BEFORE_END = [
    quote(-1, "99.90", "100.10"),
    ("orders.approved", parent()),
    fill(1, 1, "100.10", "0.01"),
    trade(1, "100.10", "3"),
    quote(2, "100.00", "100.20"),
    trade(2.5, "100.15", "5"),
    fill(3, 2, "100.20", "0.02"),
    quote(6, "100.20", "100.40"),
]
HORIZON_PASSED = quote(8, "100.30", "100.50")


def feed(stage: TcaStage, records) -> list:
    """Hand each record to the stage at its own event time, as both shells do."""
    return [
        emit
        for topic, record in records
        for emit in stage.handle(topic, record, event_time(topic, record, 0))
    ]


def test_a_filled_buy_is_published_with_the_hand_figures_once_its_horizons_pass():
    stage = TcaStage(CONFIG)
    assert feed(stage, BEFORE_END) == []  # filled at 3 s, but the market is only at 6 s
    tca, feedback = feed(stage, [HORIZON_PASSED])
    assert (tca.topic, feedback.topic) == ("tca", "tca.feedback")
    result: TcaResult = tca.record
    assert (result.order_id, result.status, result.venues, result.algorithm) == (
        "o-s-1",
        OrderStatus.FILLED,
        ["binance"],
        "twap",
    )
    # Filled 2 for 100.10 + 100.20 = 200.30: average 100.15; fees 0.01 + 0.02.
    assert (result.filled_quantity, result.average_price, result.fees) == (
        2,
        D("100.15"),
        D("0.03"),
    )
    assert (result.decision_price, result.arrival_price, result.end_price) == (
        D("99.80"),
        D("100.00"),
        D("100.10"),  # the mid at completion (3 s)
    )
    # Perold: 200.30 − 2 × 99.80 = 0.70, nothing unfilled; total 0.73 over 199.60.
    assert (result.perold_execution_cost, result.perold_opportunity_cost) == (D("0.70"), 0)
    # Expanded: delay 2 × (100.00 − 99.80) = 0.40; trading 200.30 − 2 × 100.00 = 0.30.
    assert (result.delay_cost, result.trading_cost, result.opportunity_cost) == (
        D("0.40"),
        D("0.30"),
        0,
    )
    assert result.total_cost == D("0.73")
    assert result.total_cost_bps == pytest.approx(0.73 / 199.60 * 1e4)
    assert result.arrival_slippage_bps == pytest.approx(15.0)  # (100.15 − 100)/100
    # Interval 0..3 s: others 3 × 100.10 + 5 × 100.15 = 801.05 over 8, plus the own 200.30
    # over 2: 1,001.35 / 10 = 100.135; participation 2/10.
    assert (result.interval_vwap, result.participation_rate) == (D("100.135"), 0.2)
    assert result.vwap_slippage_bps == pytest.approx(0.015 / 100.135 * 1e4)
    # Timing: 1 × (100.00 − 100) + 1 × (100.10 − 100) = 0.10.
    assert result.timing_cost == D("0.10")
    # Fill 1: m 100.00, m+5s 100.30: realized 2(100.10 − 100.30)/100 = −40, impact 60.
    # Fill 2: m 100.10, m+5s 100.40: realized 2(100.20 − 100.40)/100.10, impact 2(0.30)/100.10.
    realized = (-40 + -0.4 / 100.10 * 1e4) / 2
    impact = (60 + 0.6 / 100.10 * 1e4) / 2
    assert result.realized_spread_bps == pytest.approx(realized)
    assert result.price_impact_bps == pytest.approx(impact)
    assert result.effective_spread_bps == result.realized_spread_bps + result.price_impact_bps
    # Markouts. 1 s: fill 1 sees 100.10 → 0; fill 2 sees 100.10 → −0.10/100.20.
    # 5 s: fill 1 sees 100.30 → 0.20/100.10; fill 2 sees 100.40 → 0.20/100.20.
    assert result.markouts_bps == pytest.approx(
        {"1": -0.1 / 100.20 * 1e4 / 2, "5": (0.2 / 100.10 + 0.2 / 100.20) * 1e4 / 2}
    )
    assert (result.duration_us, result.completed_at) == (3 * S, T + 3 * S)
    assert feedback.record == ExecutionFeedback(
        order_id="o-s-1",
        signal_id="s-1",
        strategy_id="momentum",
        account_id="acct-1",
        symbol="BTC/USDT",
        algorithm="twap",
        venues=["binance"],
        status=OrderStatus.FILLED,
        fill_ratio=1.0,
        total_cost=D("0.73"),
        total_cost_bps=result.total_cost_bps,
        arrival_slippage_bps=result.arrival_slippage_bps,
        duration_us=3 * S,
        completed_at=T + 3 * S,
    )
    # Published once: the order has left, and its re-delivery does not open it again.
    assert (stage.working, stage.ended, "o-s-1" in stage.finished) == ({}, {}, True)
    assert feed(stage, [("orders.approved", parent()), fill(9, 1, "100.10", "0.01")]) == []
    assert feed(stage, [tick(30)]) == []


def test_re_delivered_fills_count_once():
    doubled = []
    for topic, record in BEFORE_END:
        doubled.append((topic, record))
        if topic == "fills":
            doubled.append((topic, record))
    stage = TcaStage(CONFIG)
    feed(stage, doubled)
    (tca, _feedback) = feed(stage, [HORIZON_PASSED])
    reference = TcaStage(CONFIG)
    feed(reference, BEFORE_END)
    assert tca.record == feed(reference, [HORIZON_PASSED])[0].record
    assert tca.record.filled_quantity == 2


def test_a_cancelled_partial_fill_carries_opportunity_cost():
    # Buy 2: fill 1 @ 100.10 at 1 s, cancelled at 4 s (the mid is 100.10 since 2 s);
    # the clock passes 4 + 5 s with no market data.
    stage = TcaStage(CONFIG)
    records = [*BEFORE_END[:6], cancel(4)]
    assert feed(stage, records) == []
    assert feed(stage, [tick(8.9)]) == []
    tca, feedback = feed(stage, [tick(9)])
    result = tca.record
    assert (result.status, result.filled_quantity, result.fill_ratio) == (
        OrderStatus.CANCELLED,
        1,
        0.5,
    )
    assert result.end_price == D("100.10")
    # Perold: 100.10 − 99.80 = 0.30 executed; 1 × (100.10 − 99.80) = 0.30 missed.
    assert (result.perold_execution_cost, result.perold_opportunity_cost) == (
        D("0.30"),
        D("0.30"),
    )
    # Expanded: delay 2 × 0.20 = 0.40; trading 0.10; opportunity 1 × (100.10 − 100.00) = 0.10.
    assert (result.delay_cost, result.trading_cost, result.opportunity_cost) == (
        D("0.40"),
        D("0.10"),
        D("0.10"),
    )
    assert result.total_cost == D("0.61")  # 0.30 + 0.30 + 0.01 fees
    assert (result.duration_us, feedback.record.status) == (4 * S, OrderStatus.CANCELLED)


def test_an_order_the_router_refuses_ends_rejected_with_all_of_it_missed():
    stage = TcaStage(CONFIG)
    refused = Rejection(
        signal_id="s-1",
        order_id="o-s-1",
        account_id="acct-1",
        symbol="BTC/USDT",
        reason_code="NO_VENUE",
        reason="no venue",
        stage="router",
        rejected_at=T,
    )
    feed(stage, [BEFORE_END[0], BEFORE_END[1], ("orders.rejected", refused)])
    (tca, _feedback) = feed(stage, [tick(5)])
    assert (tca.record.status, tca.record.filled_quantity) == (OrderStatus.REJECTED, 0)
    assert tca.record.perold_opportunity_cost == D("0.40")  # 2 × (100.00 − 99.80)


@pytest.mark.parametrize("cut", range(1, len(BEFORE_END)))
def test_a_stage_restored_from_its_memory_mid_order_publishes_the_same(cut):
    uninterrupted = TcaStage(CONFIG)
    feed(uninterrupted, BEFORE_END)
    expected = feed(uninterrupted, [HORIZON_PASSED])
    first = TcaStage(CONFIG)
    feed(first, BEFORE_END[:cut])
    restored = TcaStage(CONFIG)
    Memory(restored).restore(Memory(first).changes()[0])
    feed(restored, BEFORE_END[cut:])
    assert feed(restored, [HORIZON_PASSED]) == expected


def test_only_the_market_orders_in_flight_need_is_kept():
    stage = TcaStage(CONFIG)
    feed(stage, [*BEFORE_END, HORIZON_PASSED])
    tape = stage.tapes["BTC/USDT"]
    assert (len(tape.mids), len(tape.prints)) == (4, 2)  # all of it: the order was in flight
    # Nothing in flight: a minute later only the prevailing mid and the last few seconds stay.
    later = [quote(60 + n, "100.30", str(D("100.50") + n / D(100))) for n in range(20)]
    feed(stage, later)
    assert tape.prints == []
    assert [at for at, _ in tape.mids] == [T + n * S for n in range(74, 80)]
    # An order in flight keeps the market from its arrival (80 s) on: the mid prevailing then.
    arriving = parent(order_id="o-s-2").model_copy(update={"approved_at": T + 80 * S})
    feed(stage, [("orders.approved", arriving)])
    feed(stage, [quote(80 + n, "100", str(101 + n)) for n in range(1, 20)])
    assert [at for at, _ in tape.mids] == [T + 79 * S] + [T + n * S for n in range(81, 100)]


def test_orders_are_published_when_each_ones_horizons_pass_also_after_a_restore():
    """A ends filled at 3 s and B refused at 2 s; the longest horizon is 5 s: B is due at 7 s,
    A at 8 s, whatever order they ended in and across a restore in between."""
    stage = TcaStage(CONFIG)
    refused = Rejection(
        signal_id="s-2",
        order_id="o-s-2",
        account_id="acct-1",
        strategy_id="momentum",
        symbol="BTC/USDT",
        reason_code="NO_VENUE",
        reason="no venue",
        stage="router",
        rejected_at=T + 2 * S,
    )
    assert feed(stage, [("orders.approved", parent(order_id="o-s-2")), *BEFORE_END]) == []
    assert feed(stage, [("orders.rejected", refused)]) == []
    restored = TcaStage(CONFIG)
    Memory(restored).restore(Memory(stage).changes()[0])
    assert feed(restored, [tick(6.9)]) == []
    assert [e.record.order_id for e in feed(restored, [tick(7)])] == ["o-s-2", "o-s-2"]
    assert feed(restored, [tick(7.9)]) == []
    assert [e.record.order_id for e in feed(restored, [tick(8)])] == ["o-s-1", "o-s-1"]
    assert feed(restored, [tick(20)]) == []  # each once


def test_a_restored_stage_keeps_the_market_of_the_orders_in_flight():
    """The order approved at 0 s is still working at 60 s, so every mid since its arrival
    stays, across a restore; once it ends and is published, only the last 5 s do."""
    stage = TcaStage(CONFIG)
    feed(stage, [quote(-1, "99.90", "100.10"), ("orders.approved", parent())])
    feed(stage, [quote(n, "100", str(101 + n)) for n in range(1, 30)])
    restored = TcaStage(CONFIG)
    Memory(restored).restore(Memory(stage).changes()[0])
    feed(restored, [quote(n, "100", str(101 + n)) for n in range(30, 60)])
    tape = restored.tapes["BTC/USDT"]
    assert [at for at, _ in tape.mids] == [T - S] + [T + n * S for n in range(1, 60)]
    feed(restored, [cancel(60), tick(66)])  # ended at 60 s, published at 65 s (5 s horizon)
    feed(restored, [quote(n, "100", str(101 + n)) for n in range(67, 70)])
    assert [at for at, _ in tape.mids] == [T + 59 * S] + [T + n * S for n in range(67, 70)]

"""Participation counts other participants' volume only, on a tape that carries our fills too.

A real venue's public trades include our own executions; counted as the market's volume, they
feed back into POV's target and VWAP's cap (docs/ALGORITHMS.md, "What participation counts").
With `trades_include_fills` the executor matches each of our fills to its print, in whichever
order the two arrive, and leaves the print out.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.domain.reports import report_of
from fillstream.schemas.models import (
    ExecType,
    ExecutionReport,
    OrderStatus,
    OrderType,
    ParentOrder,
    Quote,
    RoutedOrder,
    Side,
    Signal,
    Slice,
    Trade,
    VenueAllocation,
)
from fillstream.streams.execution.algorithms.base import MATCH_WINDOW_US, Market, Print
from fillstream.streams.execution.algorithms.pov import PovPlan
from fillstream.streams.execution.parents import Rules
from fillstream.streams.memory import Memory
from fillstream.streams.stages.executor import ExecutorStage

T = 1_723_161_300_000_000
SECOND = 1_000_000
VENUE, SYMBOL = "binance", "BTC/USDT"
CARRIES = Rules(trades_include_fills=True)


def trade(trade_id: str, quantity: str, at: int, price: str = "100", venue: str = VENUE) -> Trade:
    return Trade(
        symbol=SYMBOL,
        venue=venue,
        trade_id=trade_id,
        price=D(price),
        quantity=D(quantity),
        timestamp=at,
    )


def quote(at: int) -> Quote:
    return Quote(
        symbol=SYMBOL,
        venue=VENUE,
        bid_price=D(99),
        bid_size=D(100),
        ask_price=D(100),
        ask_size=D(100),
        timestamp=at,
    )


def pov(rate: str, quantity: str = "10") -> RoutedOrder:
    signal = Signal(
        signal_id="sig-1",
        strategy_id="strat-1",
        account_id="acct-1",
        symbol=SYMBOL,
        side=Side.BUY,
        quantity=D(quantity),
        order_type=OrderType.MARKET,
        algorithm="pov",
        # the quote's spread is 100 bps wide: a collar that reaches its ask from the mid
        algorithm_parameters={"participation_rate": rate, "max_slippage_bps": "100"},
        created_at=T,
    )
    return RoutedOrder(
        order=ParentOrder(order_id="o-sig-1", signal=signal, approved_at=T),
        venue_plan=[VenueAllocation(venue=VENUE, quantity=D(quantity))],
        routed_at=T,
    )


def filled(child: Slice, at: int, trade_id: str | None, price: str = "100") -> ExecutionReport:
    """The venue's report of `child` filled in full; it names the trade where `trade_id`
    is given, as the ccxt gateway's reports do (`{slice}#trade:{id}`)."""
    return report_of(
        child,
        report_id=f"{child.slice_id}#trade:{trade_id}" if trade_id else f"{child.slice_id}:1",
        venue=child.venue,
        exec_type=ExecType.FILL,
        status=OrderStatus.FILLED,
        last_quantity=child.quantity,
        last_price=D(price),
        filled_quantity=child.quantity,
        leaves_quantity=D(0),
        commission=D(0),
        timestamp=at,
    )


def slices(emits: list) -> list[Slice]:
    return [emit.record for emit in emits if emit.topic == "slices"]


def test_a_tape_with_our_fill_in_it_worked_by_hand():
    # The tape: others trade 8 (trade 1), we buy 2 (trade 2: our fill's report names it),
    # others trade 4 (trade 3), all at 100. POV at 20% trades 0.2 / 0.8 = 1/4 of what it counts.
    #   without subtraction: counted 8 + 2 + 4 = 14, target 14/4 = 3.5; trading it, our share
    #     of the market would be 3.5 / (12 + 3.5) = 22.6%, and each fill raises it further;
    #   with subtraction:    counted 14 − 2 = 12, target 12/4 = 3, share 3 / (12 + 3) = 20%.
    plan = PovPlan(quantity=D(10), rate=D("0.2"), volume_at_start=D(0))
    ours = Print(VENUE, "2", T + 2, D(100), D(2))
    tape = [trade("1", "8", T + 1), trade("2", "2", T + 2), trade("3", "4", T + 3)]

    plain, matched = Market(), Market()
    for print_ in tape:
        plain.on_trade(print_)
        matched.on_trade(print_, carries_fills=True)
    matched.on_own_fill(ours)

    assert plain.volume == D(14) and plan.target(T + 3, plain) == D("3.5")
    assert matched.volume == D(12) and plan.target(T + 3, matched) == D(3)
    assert matched.turnover == D(1200)  # 12 × 100: the others' VWAP is unbiased by ours too
    assert D(3) / (matched.volume + 3) == D("0.2")


@pytest.mark.parametrize("print_first", [True, False], ids=["print-first", "fill-first"])
@pytest.mark.parametrize("trade_id", ["2", None], ids=["by-trade-id", "by-time-price-size"])
def test_the_executor_takes_our_fill_out_whichever_comes_first(print_first, trade_id):
    # The same tape through the executor: child 1 is 8/4 = 2; once it is filled and its print
    # is on the tape, others' 4 more make the target 12/4 = 3, so child 2 is 1 (not 1.5).
    stage = ExecutorStage(CARRIES)
    stage.handle("market.quotes", quote(T), T)
    assert slices(stage.handle("orders.routed", pov("0.2"), T)) == []  # nothing traded yet
    [first] = slices(stage.handle("market.trades", trade("1", "8", T + SECOND), T + SECOND))
    assert first.quantity == D(2)

    at = T + 2 * SECOND
    echo, report = trade("2", "2", at), filled(first, at, trade_id)
    for topic, record in [("market.trades", echo), ("fills", report)][:: 1 if print_first else -1]:
        assert slices(stage.handle(topic, record, at)) == []  # on target: 2 of 8/4

    [second] = slices(stage.handle("market.trades", trade("3", "4", T + 3 * SECOND), at))
    assert second.quantity == D(1)
    market = stage.state.market(SYMBOL)
    assert market.volume == D(12) and market.turnover == D(1200)
    assert not market.fills_unseen  # matched: nothing waits
    assert [p.trade_id for p in market.prints_unclaimed] == ["1", "3"]  # others', counted


def test_a_fill_first_waits_for_its_own_print_not_an_earlier_identical_one():
    # Others trade 8 (trade 1) at 1 s: child 1 is 8/4 = 2. Others trade 2 at 100 (trade 2) at
    # 1.5 s, the size and price our fill will have: 10 counted, target 2.5, child 1 working.
    # At 2 s child 1's fill (no trade id) comes before its print. Trade 2 is not it (stamped
    # half a second earlier, and a venue stamps fill and print with the execution's time), so
    # the others' volume stays 10 and the target 10/4 = 2.5: child 2 is 2.5 − 2 = 0.5. The
    # print, when it comes, is ours and changes nothing.
    stage = ExecutorStage(CARRIES)
    stage.handle("market.quotes", quote(T), T)
    stage.handle("orders.routed", pov("0.2"), T)
    [first] = slices(stage.handle("market.trades", trade("1", "8", T + SECOND), T + SECOND))
    assert first.quantity == D(2)
    half = T + 3 * SECOND // 2
    assert slices(stage.handle("market.trades", trade("2", "2", half), half)) == []

    at = T + 2 * SECOND
    [second] = slices(stage.handle("fills", filled(first, at, None), at))
    market = stage.state.market(SYMBOL)
    assert second.quantity == D("0.5") and market.volume == D(10)
    assert slices(stage.handle("market.trades", trade("3", "2", at), at)) == []
    assert market.volume == D(10) and market.turnover == D(1000)
    assert not market.fills_unseen
    assert [p.trade_id for p in market.prints_unclaimed] == ["1", "2"]  # the others', counted


def test_without_the_setting_every_print_counts_and_nothing_is_held():
    stage = ExecutorStage(Rules())
    stage.handle("market.quotes", quote(T), T)
    stage.handle("orders.routed", pov("0.2"), T)
    [first] = slices(stage.handle("market.trades", trade("1", "8", T + SECOND), T + SECOND))
    at = T + 2 * SECOND
    stage.handle("fills", filled(first, at, "2"), at)
    stage.handle("market.trades", trade("2", "2", at), at)
    market = stage.state.market(SYMBOL)
    assert market.volume == D(10)  # our 2 counted as the others'
    assert not market.fills_unseen and not market.prints_unclaimed


@pytest.mark.parametrize(
    ("print_", "matches"),
    [
        (trade("x", "2", T), True),  # stamped, as the fill, with the execution's time
        (trade("x", "2", T - 1), False),  # another moment: another execution, however close
        (trade("x", "2", T + SECOND), False),
        (trade("x", "2.5", T), False),  # another size
        (trade("x", "2", T, price="101"), False),  # another price
        (trade("x", "2", T, venue="kraken"), False),  # another venue's tape
    ],
)
def test_a_fill_without_a_trade_id_matches_by_venue_price_size_and_time(print_, matches):
    fill = Print(VENUE, None, T, D(100), D(2))
    seen = Print(print_.venue, print_.trade_id, print_.timestamp, print_.price, print_.quantity)
    assert fill.shows(seen) is matches


def test_a_fill_with_a_trade_id_matches_that_print_only():
    fill = Print(VENUE, "42", T, D(100), D(2))
    assert fill.shows(Print(VENUE, "42", T + 60 * SECOND, D(100), D(2)))
    assert not fill.shows(Print(VENUE, "43", T, D(100), D(2)))  # same time, price, size


def test_a_report_delivered_again_is_taken_out_once():
    stage = ExecutorStage(CARRIES)
    stage.handle("market.quotes", quote(T), T)
    stage.handle("orders.routed", pov("0.2"), T)
    [first] = slices(stage.handle("market.trades", trade("1", "8", T + SECOND), T + SECOND))
    at = T + 2 * SECOND
    stage.handle("market.trades", trade("2", "2", at), at)
    report = filled(first, at, None)
    stage.handle("fills", report, at)
    stage.handle("fills", report, at)  # at-least-once: the same report again
    assert stage.state.market(SYMBOL).volume == D(8)


def test_what_waits_is_bounded_by_the_window_and_a_count():
    market = Market()
    market.on_own_fill(Print(VENUE, "1", T, D(100), D(1)))  # its print never comes
    market.on_trade(trade("9", "3", T + MATCH_WINDOW_US), carries_fills=True)
    assert len(market.fills_unseen) == 1  # still within the window
    market.on_trade(trade("10", "3", T + MATCH_WINDOW_US + 1), carries_fills=True)
    assert not market.fills_unseen  # the window passed: forgotten, nothing changed
    assert market.volume == D(6)
    for n in range(1_500):  # a burst of prints within one window
        market.on_trade(trade(f"b{n}", "1", T + MATCH_WINDOW_US + 1), carries_fills=True)
    assert len(market.prints_unclaimed) == 1_000


def test_a_fill_waiting_for_its_print_survives_a_restart():
    stage = ExecutorStage(CARRIES)
    stage.handle("market.quotes", quote(T), T)
    stage.handle("orders.routed", pov("0.2"), T)
    [first] = slices(stage.handle("market.trades", trade("1", "8", T + SECOND), T + SECOND))
    at = T + 2 * SECOND
    stage.handle("fills", filled(first, at, "2"), at)

    restored = ExecutorStage(CARRIES)
    Memory(restored).restore(Memory(stage).changes()[0])
    market = restored.state.market(SYMBOL)
    assert list(market.fills_unseen) == [Print(VENUE, "2", at, D(100), D(2))]
    restored.handle("market.trades", trade("2", "2", at), at)
    assert market.volume == D(8) and not market.fills_unseen


def share_of_the_market(rate: str, rules: Rules, steps: int = 200) -> D:
    """POV through the executor on a tape that carries our fills: others trade 1 a second,
    each child fills at once and its print follows on the tape. Our share of all volume."""
    stage = ExecutorStage(rules)
    stage.handle("market.quotes", quote(T), T)
    stage.handle("orders.routed", pov(rate, quantity="1000"), T)
    ours = others = D(0)
    working = []
    for step in range(1, steps + 1):
        at = T + step * SECOND
        others += 1
        working += slices(stage.handle("market.trades", trade(f"o{step}", "1", at), at))
        while working:
            child = working.pop()
            ours += child.quantity
            working += slices(stage.handle("fills", filled(child, at, f"f{step}"), at))
            echo = trade(f"f{step}", str(child.quantity), at)
            working += slices(stage.handle("market.trades", echo, at))
    return ours / (ours + others)


def test_the_feedback_measured_and_removed():
    # Counting our prints as the others', POV at r trades r/(1 − r) of (others + ours), so its
    # share s of the total solves s = r/(1 − r): 3/7 ≈ 42.9% at 30%, and 1 (everything) at 50%.
    assert float(share_of_the_market("0.3", Rules())) == pytest.approx(3 / 7)
    assert share_of_the_market("0.5", Rules()) == D(1000) / D(1200)  # all 1000 in 200 s
    assert share_of_the_market("0.3", CARRIES) == D("0.3")
    assert share_of_the_market("0.5", CARRIES) == D("0.5")

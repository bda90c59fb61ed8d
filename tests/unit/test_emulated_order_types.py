"""The executor emulates what a venue cannot hold: a stop held until a print reaches it, an
iceberg worked by the iceberg algorithm. Expectations written out by hand.

The venues are ccxt venues named in the engine config: `kraken` has no row in the capability
table (market and limit only), `nobitex` holds stops but no icebergs; `sim` is a simulated
venue, which holds everything. No instrument rules, so prices are not rounded to a tick.
"""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.connectors.gateway.capabilities import capabilities_of
from fillstream.domain.ids import order_id_for, slice_id_for
from fillstream.schemas.models import (
    ExecutionReport,
    OrderType,
    ParentOrder,
    RoutedOrder,
    Signal,
    Slice,
    TimeInForce,
    Trade,
    VenueAllocation,
)
from fillstream.streams.execution.parents import (
    ExecutorState,
    Rules,
    cancel,
    on_report,
    over,
    start,
    trigger,
)
from fillstream.streams.stages.executor import ExecutorStage

T = 1723161300000000
SECOND = 1_000_000
RULES = Rules(capabilities={name: capabilities_of(name) for name in ("kraken", "nobitex")})
ORDER = order_id_for("sig-1")


def routed(venue: str, quantity: str, **terms: object) -> RoutedOrder:
    fields: dict[str, object] = {
        "signal_id": "sig-1",
        "strategy_id": "st",
        "account_id": "a-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": D(quantity),
        "created_at": T,
    }
    signal = Signal.model_validate(fields | terms)
    order = ParentOrder(order_id=ORDER, signal=signal, approved_at=T)
    plan = [VenueAllocation(venue=venue, quantity=D(quantity))]
    return RoutedOrder(order=order, venue_plan=plan, routed_at=T)


def trade(price: str, at: int) -> Trade:
    return Trade(
        symbol="BTC/USDT",
        venue="kraken",
        trade_id=f"t{at}",
        price=D(price),
        quantity=D("0.1"),
        timestamp=at,
    )


def filled(child: Slice, at: int) -> ExecutionReport:
    return ExecutionReport(
        report_id=f"{child.slice_id}:fill",
        order_id=child.order_id,
        signal_id="sig-1",
        slice_id=child.slice_id,
        account_id="a-1",
        symbol="BTC/USDT",
        venue=child.venue,
        side=child.side,
        exec_type="fill",
        status="filled",
        quantity=child.quantity,
        last_quantity=child.quantity,
        last_price=child.price,
        filled_quantity=child.quantity,
        leaves_quantity=D(0),
        commission=D(0),
        timestamp=at,
    )


def test_a_stop_buy_is_held_until_a_print_at_or_above_it_then_sent_as_a_market_order():
    state = ExecutorState()
    stop = routed("kraken", "0.05", order_type="stop", stop_price=D("61829"))
    assert start(state, stop, T, RULES) == []  # kraken holds no stops: the executor does
    execution = state.parents[ORDER]
    assert execution.held and not over(execution, T + SECOND)

    assert trigger(state, trade("61828.99", T + SECOND), T + SECOND, RULES) == []
    (child,) = trigger(state, trade("61829", T + 2 * SECOND), T + 2 * SECOND, RULES)
    # A market order at its collar: 50 bps above the stop price, 61,829 × 1.005 = 62,138.145,
    # immediate-or-cancel, measured from the stop price.
    assert (child.slice_id, child.venue, child.order_type, child.time_in_force) == (
        slice_id_for(ORDER, 1),
        "kraken",
        OrderType.LIMIT,
        TimeInForce.IOC,
    )
    assert (child.quantity, child.price, child.collar_reference, child.stop_price) == (
        D("0.05"),
        D("62138.145"),
        D("61829"),
        None,
    )
    assert child.created_at == T + 2 * SECOND
    assert trigger(state, trade("61900", T + 3 * SECOND), T + 3 * SECOND, RULES) == []  # once
    assert not over(execution, T + 3 * SECOND)  # its slice works
    on_report(state, filled(child, T + 3 * SECOND), T + 3 * SECOND, RULES)
    assert over(execution, T + 3 * SECOND)


def test_a_stop_limit_sell_triggers_at_or_below_and_rests_at_its_limit():
    state = ExecutorState()
    stop = routed(
        "kraken",
        "0.02",
        side="sell",
        order_type="stop_limit",
        stop_price=D("61700"),
        price=D("61650"),
    )
    assert start(state, stop, T, RULES) == []
    assert trigger(state, trade("61700.01", T + 1), T + 1, RULES) == []
    (child,) = trigger(state, trade("61699.5", T + 2), T + 2, RULES)
    assert (child.order_type, child.price, child.time_in_force, child.stop_price) == (
        OrderType.LIMIT,
        D("61650"),
        TimeInForce.GTC,
        None,
    )
    assert child.collar_reference is None


def test_a_held_stop_ends_when_cancelled_or_at_its_expiry():
    state = ExecutorState()
    start(state, routed("kraken", "0.05", order_type="stop", stop_price=D("61829")), T, RULES)
    assert cancel(state, ORDER, T + 1) == []  # nothing at the venue to cancel
    assert over(state.parents[ORDER], T + 1)
    assert trigger(state, trade("62000", T + 2), T + 2, RULES) == []  # cancelled: never sent

    state = ExecutorState()
    gtd = routed(
        "kraken",
        "0.05",
        order_type="stop",
        stop_price=D("61829"),
        time_in_force="GTD",
        expire_at=T + 60 * SECOND,
    )
    start(state, gtd, T, RULES)
    assert not over(state.parents[ORDER], T + 60 * SECOND - 1)
    assert over(state.parents[ORDER], T + 60 * SECOND)
    assert trigger(state, trade("62000", T + 61 * SECOND), T + 61 * SECOND, RULES) == []


def test_a_venue_that_holds_stops_gets_them_at_once():
    for venue in ("nobitex", "sim"):
        state = ExecutorState()
        stop = routed(venue, "0.05", order_type="stop", stop_price=D("61829"))
        (child,) = start(state, stop, T, RULES)
        assert (child.order_type, child.stop_price, child.price) == (
            OrderType.STOP_LIMIT,
            D("61829"),
            D("62138.145"),
        )
        assert not state.parents[ORDER].held


def test_an_iceberg_a_venue_cannot_hide_is_shown_a_part_at_a_time():
    """0.05 shown 0.01 at Nobitex: five GTC limits of 0.01 at 61,800, each sent when the one
    before has filled, none of them an iceberg the gateway would refuse."""
    state = ExecutorState()
    iceberg = routed(
        "nobitex",
        "0.05",
        order_type="iceberg",
        price=D("61800"),
        display_quantity=D("0.01"),
        algorithm_parameters={"max_slippage_bps": "20"},  # direct's: no use to the iceberg
    )
    sent = start(state, iceberg, T, RULES)
    children = list(sent)
    for step in range(1, 6):
        assert len(sent) == 1
        sent = on_report(state, filled(sent[0], T + step), T + step, RULES)
        children += sent
    assert sent == []
    assert [c.slice_id for c in children] == [slice_id_for(ORDER, n) for n in range(1, 6)]
    assert {(c.order_type, c.price, c.quantity, c.time_in_force) for c in children} == {
        (OrderType.LIMIT, D("61800"), D("0.01"), TimeInForce.GTC)
    }
    assert all(c.display_quantity is None and c.venue == "nobitex" for c in children)
    assert over(state.parents[ORDER], T + 5)
    assert state.parents[ORDER].filled_quantity == D("0.05")


def test_an_iceberg_a_venue_can_hide_goes_whole():
    state = ExecutorState()
    iceberg = routed(
        "sim", "0.05", order_type="iceberg", price=D("61800"), display_quantity=D("0.01")
    )
    (child,) = start(state, iceberg, T, RULES)
    assert (child.order_type, child.quantity, child.display_quantity) == (
        OrderType.ICEBERG,
        D("0.05"),
        D("0.01"),
    )


def test_the_executor_stage_sends_a_held_stop_on_the_print_that_reaches_it():
    stage = ExecutorStage(RULES)
    stop = routed("kraken", "0.05", order_type="stop", stop_price=D("61829"))
    assert stage.handle("orders.routed", stop, T) == []
    assert stage.handle("market.trades", trade("61800", T + 1), T + 1) == []
    (emit,) = stage.handle("market.trades", trade("61830", T + 2), T + 2)
    assert (emit.topic, emit.record.slice_id, emit.record.price) == (
        "slices",
        slice_id_for(ORDER, 1),
        D("62138.145"),
    )

"""A bracket's legs at the executor, by hand: they go to a ccxt venue as ordinary limit and
stop slices (a stop the venue cannot hold is held here until a print reaches it), rest for
the open position, and are one-cancels-other.

`binance` holds stops, `kraken` has no row in the capability table (market and limit only).
No instrument rules, so prices are not rounded to a tick; the collar is the desk's 50 bps.
"""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.connectors.gateway.capabilities import capabilities_of
from fillstream.schemas.models import (
    ExecutionReport,
    OrderType,
    ParentOrder,
    RoutedOrder,
    Signal,
    Slice,
    SliceAction,
    TimeInForce,
    VenueAllocation,
)
from fillstream.streams.execution.parents import (
    ExecutorState,
    Rules,
    cancel,
    legs_over,
    on_report,
    over,
    start,
    trigger,
)
from tests.unit.test_emulated_order_types import trade

T = 1723161300000000
SECOND = 1_000_000
RULES = Rules(capabilities={name: capabilities_of(name) for name in ("binance", "kraken")})


def routed(venue: str) -> RoutedOrder:
    """A limit buy of 1 at 60,000: take-profit at 61,000, stop-loss at 59,000."""
    signal = Signal(
        signal_id="br",
        strategy_id="st",
        account_id="a-1",
        symbol="BTC/USDT",
        side="buy",
        quantity=D(1),
        order_type="limit",
        price=D(60000),
        take_profit=D(61000),
        stop_loss=D(59000),
        created_at=T,
    )
    order = ParentOrder(order_id="o-br", signal=signal, approved_at=T)
    return RoutedOrder(
        order=order, venue_plan=[VenueAllocation(venue=venue, quantity=D(1))], routed_at=T
    )


def report(child: Slice, status: str, filled: str, at: int, last: str = "0") -> ExecutionReport:
    return ExecutionReport(
        report_id=f"{child.slice_id}:{status}:{filled}",
        order_id=child.order_id,
        signal_id="br",
        slice_id=child.slice_id,
        account_id="a-1",
        symbol="BTC/USDT",
        venue=child.venue,
        side=child.side,
        exec_type="fill" if D(last) else "cancel",
        status=status,
        quantity=child.quantity,
        last_quantity=D(last),
        last_price=child.price if D(last) else None,
        filled_quantity=D(filled),
        leaves_quantity=child.quantity - D(filled),
        commission=D(0),
        timestamp=at,
    )


def terms(child: Slice) -> tuple:
    return (
        child.slice_id,
        child.action,
        child.side.value,
        child.order_type,
        child.quantity,
        child.price,
        child.stop_price,
        child.time_in_force,
    )


def test_on_a_venue_that_holds_stops_the_legs_rest_as_a_limit_and_a_stop_limit():
    state = ExecutorState()
    (entry,) = start(state, routed("binance"), T, RULES)
    take_profit, stop_loss = on_report(
        state, report(entry, "partially_filled", "0.4", T, "0.4"), T, RULES
    )
    # The stop-loss as a direct stop goes: a stop-limit at its collar, 59,000 × 0.995 = 58,705.
    assert [terms(take_profit), terms(stop_loss)] == [
        ("tp-br-1", "new", "sell", OrderType.LIMIT, D("0.4"), D(61000), None, TimeInForce.GTC),
        (
            "sl-br-1",
            "new",
            "sell",
            OrderType.STOP_LIMIT,
            D("0.4"),
            D(58705),
            D(59000),
            TimeInForce.IOC,
        ),
    ]
    # The entry fills 0.6 more: both legs no longer fit 1, so both are cancelled, then sent
    # again at 1 once each cancel is confirmed.
    at = T + SECOND
    resized = on_report(state, report(entry, "filled", "1", at, "0.6"), at, RULES)
    assert [(c.slice_id, c.action) for c in resized] == [
        ("tp-br-1", SliceAction.CANCEL),
        ("sl-br-1", SliceAction.CANCEL),
    ]
    execution = state.parents["o-br"]
    assert over(execution, at) and not legs_over(execution)
    (take_profit_2,) = on_report(state, report(take_profit, "cancelled", "0", at), at, RULES)
    (stop_loss_2,) = on_report(state, report(stop_loss, "cancelled", "0", at), at, RULES)
    assert (take_profit_2.slice_id, take_profit_2.quantity) == ("tp-br-2", D(1))
    assert (stop_loss_2.slice_id, stop_loss_2.quantity) == ("sl-br-2", D(1))
    # The take-profit fills 0.3: the stop-loss shrinks to 1 − 0.3 = 0.7 ...
    at += SECOND
    (shrink,) = on_report(
        state, report(take_profit_2, "partially_filled", "0.3", at, "0.3"), at, RULES
    )
    assert (shrink.slice_id, shrink.action) == ("sl-br-2", SliceAction.CANCEL)
    (stop_loss_3,) = on_report(state, report(stop_loss_2, "cancelled", "0", at), at, RULES)
    assert (stop_loss_3.slice_id, stop_loss_3.quantity) == ("sl-br-3", D("0.7"))
    # ... and once it fills the rest, the stop-loss is cancelled, and nothing follows.
    at += SECOND
    (last,) = on_report(state, report(take_profit_2, "filled", "1", at, "0.7"), at, RULES)
    assert (last.slice_id, last.action) == ("sl-br-3", SliceAction.CANCEL)
    assert on_report(state, report(stop_loss_3, "cancelled", "0", at), at, RULES) == []
    assert legs_over(execution)


def test_on_a_venue_without_stops_the_stop_loss_is_held_until_a_print_reaches_it():
    state = ExecutorState()
    (entry,) = start(state, routed("kraken"), T, RULES)
    (take_profit,) = on_report(state, report(entry, "filled", "1", T, "1"), T, RULES)
    assert terms(take_profit)[:5] == ("tp-br-1", "new", "sell", OrderType.LIMIT, D(1))

    assert trigger(state, trade("59000.01", T + SECOND), T + SECOND, RULES) == []
    # A print at the stop: the stop-loss goes as a market sell at its collar from the stop
    # price, 59,000 × 0.995 = 58,705, immediate-or-cancel; once it fills, the take-profit is
    # cancelled.
    (stop_loss,) = trigger(state, trade("59000", T + 2 * SECOND), T + 2 * SECOND, RULES)
    assert terms(stop_loss) == (
        "sl-br-1",
        "new",
        "sell",
        OrderType.LIMIT,
        D(1),
        D(58705),
        None,
        TimeInForce.IOC,
    )
    at = T + 3 * SECOND
    (cancel_take_profit,) = on_report(state, report(stop_loss, "filled", "1", at, "1"), at, RULES)
    assert (cancel_take_profit.slice_id, cancel_take_profit.action) == (
        "tp-br-1",
        SliceAction.CANCEL,
    )


def test_cancelling_the_bracket_cancels_its_resting_legs():
    state = ExecutorState()
    (entry,) = start(state, routed("binance"), T, RULES)
    legs = on_report(state, report(entry, "partially_filled", "0.4", T, "0.4"), T, RULES)
    cancels = cancel(state, "o-br", T + SECOND)
    assert [(c.slice_id, c.action) for c in cancels] == [
        ("o-br-1", SliceAction.CANCEL),
        ("tp-br-1", SliceAction.CANCEL),
        ("sl-br-1", SliceAction.CANCEL),
    ]
    for child in (entry, *legs):
        assert (
            on_report(
                state,
                report(child, "cancelled", "0.4" if child is entry else "0", T + SECOND),
                T + SECOND,
                RULES,
            )
            == []
        )
    assert legs_over(state.parents["o-br"])


def test_a_restored_bracket_sends_the_same_slices_for_a_report_processed_again():
    """The legs live in the parent's execution, a durable entry: after a crash the report
    that resized them, processed again from the restored entry, gives the same slices."""
    from fillstream.streams.execution.parents import ParentExecution
    from fillstream.streams.state_codec import decode_value, encode_value

    state = ExecutorState()
    (entry,) = start(state, routed("binance"), T, RULES)
    legs = on_report(state, report(entry, "partially_filled", "0.4", T, "0.4"), T, RULES)
    (take_profit, _stop_loss) = legs
    saved = encode_value(ParentExecution, state.parents["o-br"])
    at = T + SECOND
    again = report(take_profit, "partially_filled", "0.1", at, "0.1")
    first = on_report(state, again, at, RULES)

    back = ExecutorState()
    back.parents["o-br"] = decode_value(ParentExecution, saved)
    assert back.parents["o-br"].legs[0].working == take_profit
    assert on_report(back, again, at, RULES) == first
    # the stop-loss, 0.4 of an open position now 0.3, is cancelled to be sent again
    assert [(c.slice_id, c.action) for c in first] == [("sl-br-1", SliceAction.CANCEL)]

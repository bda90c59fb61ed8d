"""Direct execution: one slice per allocation, deterministic ids, cancel of what still works."""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.domain.ids import order_id_for, slice_id_for
from fillstream.schemas.models import (
    ExecutionReport,
    ParentOrder,
    RoutedOrder,
    Signal,
    SliceAction,
    VenueAllocation,
)
from fillstream.streams.execution.parents import ExecutorState, Rules, cancel, on_report, start

T = 1723161300000000


def routed() -> RoutedOrder:
    signal = Signal(
        signal_id="sig-1",
        strategy_id="st",
        account_id="a-1",
        symbol="BTC/USDT",
        side="buy",
        quantity=D("0.3"),
        order_type="limit",
        price=D("61000"),
        created_at=T,
    )
    order = ParentOrder(order_id=order_id_for("sig-1"), signal=signal, approved_at=T)
    plan = [
        VenueAllocation(venue="binance", quantity=D("0.2")),
        VenueAllocation(venue="kraken", quantity=D("0.1"), priority=1),
    ]
    return RoutedOrder(order=order, venue_plan=plan, routed_at=T)


def test_ids_are_deterministic_short_and_venue_safe():
    assert order_id_for("sig-1") == "o-sig-1"
    long_id = "5b0e8d4c-1f1e-4c7a-9a5e-3a3c2f1d9e77"
    assert order_id_for(long_id) == order_id_for(long_id)
    assert len(slice_id_for(order_id_for(long_id), 9999)) <= 36
    assert order_id_for("has space") != "o-has space"


def test_each_allocation_becomes_one_slice_and_redelivery_sends_nothing():
    state = ExecutorState()
    slices = start(state, routed(), T + 5, Rules())
    assert [(s.slice_id, s.venue, s.quantity, s.sequence) for s in slices] == [
        ("o-sig-1-1", "binance", D("0.2"), 1),
        ("o-sig-1-2", "kraken", D("0.1"), 2),
    ]
    assert all(s.price == D("61000") and s.created_at == T + 5 for s in slices)
    assert start(state, routed(), T + 9, Rules()) == []


def _report(slice_id: str, status: str, filled: str) -> ExecutionReport:
    return ExecutionReport(
        report_id=f"{slice_id}:1",
        order_id="o-sig-1",
        signal_id="sig-1",
        slice_id=slice_id,
        account_id="a-1",
        symbol="BTC/USDT",
        venue="binance",
        side="buy",
        exec_type="fill",
        status=status,
        quantity=D("0.2"),
        last_quantity=D(filled),
        filled_quantity=D(filled),
        leaves_quantity=D("0.2") - D(filled),
        commission=D(0),
        timestamp=T,
    )


def test_cancel_asks_only_for_slices_still_working_and_only_once():
    state = ExecutorState()
    start(state, routed(), T, Rules())
    on_report(state, _report("o-sig-1-1", "filled", "0.2"), T + 50, Rules())
    cancels = cancel(state, "o-sig-1", T + 100)
    assert [(c.slice_id, c.action, c.created_at) for c in cancels] == [
        ("o-sig-1-2", SliceAction.CANCEL, T + 100)
    ]
    assert cancel(state, "o-sig-1", T + 200) == []
    assert cancel(state, "o-unknown", T) == []

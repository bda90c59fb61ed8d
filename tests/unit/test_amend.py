"""Modifying a working order: which modifies are taken (only those that lower its risk), and
what they do to the parent's state, the executor's slices and the venue's order.

Vectors are worked by hand from the rule in `streams/orders/amend.py`: a lower quantity, or a
limit further from the market (lower for a buy, higher for a sell).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.schemas.models import Command, ExecType, OrderStatus, Signal
from fillstream.streams.orders import amend, apply_command, apply_report, to_record
from fillstream.streams.stages.executor import ExecutorStage
from fillstream.streams.stages.oms import OmsStage
from tests.unit.test_bounded_state import T0, approved, filled, report, routed
from tests.unit.test_order_lifecycle_parent import T, ack, ended, fill, parent

S, X = OrderStatus, ExecType


def modify(quantity: str | None = None, price: str | None = None, order_id: str = "ord-1"):
    return Command(
        command_id=f"m-{quantity}-{price}",
        kind="modify",
        order_id=order_id,
        symbol="BTC/USDT",
        quantity=None if quantity is None else D(quantity),
        price=None if price is None else D(price),
        reason="trader asked",
        created_at=T0 + 5,
    )


def cancel(**fields) -> Command:
    return Command(
        command_id="c-1", kind="cancel", order_id="ord-1", symbol="BTC/USDT", created_at=T, **fields
    )


def terms(side: str = "buy", order_type: str = "limit", price: str | None = "100") -> Signal:
    return Signal(
        signal_id="sig-1",
        strategy_id="st",
        account_id="a-1",
        symbol="BTC/USDT",
        side=side,
        quantity=D(10),
        order_type=order_type,
        price=None if price is None else D(price),
        created_at=T0,
    )


@pytest.mark.parametrize(
    ("side", "order_type", "price", "change", "refused"),
    [
        ("buy", "limit", "100", {"quantity": "6"}, None),
        ("buy", "limit", "100", {"quantity": "10"}, None),  # the same: nothing added
        ("buy", "limit", "100", {"quantity": "11"}, "may not raise the quantity (10 to 11)"),
        ("buy", "limit", "100", {"price": "99"}, None),
        ("buy", "limit", "100", {"price": "101"}, "may not move a buy limit toward the market"),
        ("sell", "limit", "100", {"price": "101"}, None),
        ("sell", "limit", "100", {"price": "99"}, "may not move a sell limit toward the market"),
        ("buy", "market", None, {"price": "99"}, "a market order has no limit price to change"),
        ("buy", "market", None, {"quantity": "4"}, None),
    ],
)
def test_only_a_modify_that_lowers_the_risk_is_taken(side, order_type, price, change, refused):
    why = amend.refusal(terms(side, order_type, price), modify(**change))
    assert (why is None) if refused is None else (why is not None and refused in why)


def test_a_lower_quantity_leaves_less_to_fill():
    state = apply_report(parent(), ack())[0]
    state = apply_report(state, fill("f1", "2", "100", "2"))[0]
    state, problems = apply_command(state, modify("6"), T + 5)
    assert problems == []
    record = to_record(state)
    assert (state.status, state.version, state.ceiling) == (
        S.PARTIALLY_FILLED,
        4,  # opened, acked, filled, modified
        D(10),
    )
    assert (record.quantity, record.leaves_quantity, record.reason) == (D(6), D(4), "trader asked")


def test_a_modified_order_ends_filled_once_the_executor_says_it_is_over():
    state = apply_report(parent(), ack())[0]
    state = apply_command(state, modify("6"), T + 1)[0]
    state = apply_report(state, fill("f1", "6", "100", "6"))[0]
    # The new quantity is filled, but the slice of 10 still works at the venue.
    assert (state.status, state.filled, state.quantity) == (S.PARTIALLY_FILLED, D(6), D(6))
    # A fill that was on its way counts: the order grows back to what it filled.
    state = apply_report(state, fill("f2", "1", "100", "7"))[0]
    assert (state.status, state.quantity) == (S.PARTIALLY_FILLED, D(7))
    state = apply_command(state, cancel(issued_by="executor", slices_sent=1), T + 9)[0]
    assert state.status is S.CANCEL_PENDING  # the slice has not ended yet
    state = apply_report(state, ended(X.CANCEL, S.CANCELLED, filled="7"))[0]
    assert (state.status, state.filled) == (S.FILLED, D(7))


def test_a_refused_modify_changes_nothing_but_the_reason():
    state = apply_report(parent(), ack())[0]
    after, problems = apply_command(state, modify("12"), T + 1)
    assert problems == [] and after.version == state.version + 1
    assert (after.terms, after.status) == (state.terms, state.status)
    assert to_record(after).reason.startswith("modify refused: a modify may not raise")
    pending = apply_command(state, modify("5"), T + 1)[0]  # taken; then a cancel is pending
    cancelling = apply_command(pending, cancel(), T + 2)[0]
    refused = apply_command(cancelling, modify("3"), T + 3)[0]
    assert (refused.quantity, to_record(refused).reason) == (
        D(5),
        "modify refused: a cancel is pending",
    )
    # The note goes with the next event: the order's own reason is back.
    assert to_record(apply_report(refused, ack("ord-1-2"))[0]).reason == "trader asked"


def test_a_modify_of_a_finished_order_is_refused_as_for_any_event():
    state = apply_report(parent(), fill("f", "10", "100", "10"))[0]
    after, problems = apply_command(state, modify("5"), T + 1)
    assert after is state and problems[0].kind.value == "ORDER_FINISHED"


# -- the executor and the OMS, on the order of test_bounded_state: 0.3 to buy at 61,000,
# -- 0.2 on binance (slice -1) and 0.1 on kraken (slice -2)


def actions(emits) -> list[tuple[str, str, D, D | None]]:
    return [
        (e.record.slice_id, e.record.action.value, e.record.quantity, e.record.price)
        for e in emits
        if e.topic == "slices"
    ]


def test_the_executor_fits_the_working_slices_to_the_new_terms():
    stage = ExecutorStage()
    stage.handle("orders.routed", routed(), T0)
    partial = report("o-sig-1-1", "partial_fill", "partially_filled", filled="0.05", last="0.05")
    stage.handle("fills", partial, T0 + 1)
    # 0.25 at 60,900: slice -1 keeps its 0.2 (0.05 filled, 0.15 to go), slice -2 keeps 0.05
    emits = stage.handle("commands", modify("0.25", "60900", "o-sig-1"), T0 + 2)
    assert actions(emits) == [
        ("o-sig-1-1", "replace", D("0.2"), D(60900)),
        ("o-sig-1-2", "replace", D("0.05"), D(60900)),
    ]
    # 0.2: slice -1 fills it; slice -2 has nothing left to do
    emits = stage.handle("commands", modify("0.2", order_id="o-sig-1"), T0 + 3)
    assert actions(emits) == [("o-sig-1-2", "cancel", D("0.05"), D(60900))]
    # a refused modify sends nothing
    assert stage.handle("commands", modify("0.3", order_id="o-sig-1"), T0 + 4) == []


def test_a_modified_parent_that_filled_its_new_quantity_ends_filled_in_the_oms():
    executor, oms = ExecutorStage(), OmsStage()
    oms.handle("orders.approved", approved(), T0)
    executor.handle("orders.routed", routed(), T0)
    lower = modify("0.2", order_id="o-sig-1")
    assert actions(executor.handle("commands", lower, T0 + 1)) == [
        ("o-sig-1-2", "cancel", D("0.1"), D(61000))
    ]
    venue = [filled("o-sig-1-1", "0.2"), report("o-sig-1-2", "cancel", "cancelled", n=2)]
    notices = [e.record for r in venue for e in executor.handle("fills", r, T0 + 2)]
    (ended,) = notices
    assert (ended.reason, ended.slices_sent) == (
        "execution ended: the modified quantity is filled",
        2,
    )
    # The OMS reads the notice before the cancelled slice's report: it waits for it.
    states = [oms.handle("commands", lower, T0 + 1)]
    states += [oms.handle("fills", venue[0], T0 + 2), oms.handle("commands", ended, T0 + 2)]
    assert [s[0].record.status.value for s in states] == [
        "new",
        "partially_filled",
        "cancel_pending",
    ]
    last, ended = oms.handle("fills", venue[1], T0 + 2)
    assert (last.record.status.value, last.record.filled_quantity) == ("filled", D("0.2"))
    assert last.record.quantity == D("0.2") and oms.orders == {}
    # Filled at its lowered quantity, but short of the 0.3 risk approved and still counts as
    # working (risk does not see modifies): its end goes to risk too, to release the rest.
    assert approved().signal.quantity == D("0.3")
    assert (ended.topic, ended.record) == ("orders.ended", last.record)

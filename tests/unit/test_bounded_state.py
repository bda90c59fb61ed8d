"""Finished orders leave the venue, the executor and the OMS; re-deliveries stay ignored.

Each core keeps what is still working, and a bounded memory (`RecentIds`) of the latest ids it
has finished with, so that a re-delivered message does not start a finished order again. The
venue scenarios use the book and instrument of test_simvenue.py (asks 101 × 3, 102 × 4, ...).
"""

from __future__ import annotations

from decimal import Decimal as D
from types import MappingProxyType

import pytest

from fillstream.connectors.simvenue import SimulatedVenue, VenueReason
from fillstream.domain.ids import RecentIds, order_id_for
from fillstream.schemas.models import (
    Command,
    ExecutionReport,
    OrderStatus,
    ParentOrder,
    Rejection,
    RoutedOrder,
    Signal,
    SliceAction,
    VenueAllocation,
)
from fillstream.streams.execution.parents import ExecutorState
from fillstream.streams.memory import Memory
from fillstream.streams.stages.executor import ExecutorStage
from fillstream.streams.stages.oms import OmsStage
from tests.unit.test_simvenue import BOOK, BTC, MIDNIGHT, VENUE, T, amend, arrive, code, new

# --- the memory ---------------------------------------------------------------------------------


def test_a_full_memory_forgets_its_oldest_id():
    memory = RecentIds(2)
    for id_ in ("a", "b", "c"):
        memory.remember(id_)
    assert (list(memory), "a" in memory, "c" in memory) == (["b", "c"], False, True)
    memory.remember("b", "noted")  # known: keeps its place, takes the note
    assert (list(memory), memory.note("b"), memory.note("c")) == (["b", "c"], "noted", "")
    memory.remember("d")
    assert (list(memory), memory.note("b")) == (["c", "d"], None)


class Remembers:
    """A stage's memory that is one bounded memory of ids."""

    durable = ("seen",)
    seen: RecentIds

    def __init__(self, capacity: int) -> None:
        self.seen = RecentIds(capacity)


def saved_and_restored(holder: Remembers, capacity: int) -> Remembers:
    puts, _ = Memory(holder).changes()
    copy = Remembers(capacity)
    Memory(copy).restore(puts)
    return copy


# An id is the rest of its entry's key, whatever it holds: a line break, a slash, a percent.
@pytest.mark.parametrize("odd", ["b", "line\nbreak", "a/b%2F"])
def test_a_memory_round_trips_through_its_saved_entries_and_stays_bounded(odd):
    holder = Remembers(3)
    entries = [("a", "x y"), (odd, ""), ("c", odd)]
    for id_, note in entries:
        holder.seen.remember(id_, note)
    copy = saved_and_restored(holder, 3).seen
    assert [(id_, copy.note(id_)) for id_ in copy] == entries
    copy.remember("d")
    assert list(copy) == [odd, "c", "d"]
    assert list(saved_and_restored(Remembers(1), 1).seen) == []


def test_a_memory_needs_room():
    with pytest.raises(ValueError, match="at least one id"):
        RecentIds(0)


# --- the venue ----------------------------------------------------------------------------------


def venue_with(memory: int = 100) -> SimulatedVenue:
    venue = SimulatedVenue(VENUE, [BTC], memory=memory)
    venue.on_market(BOOK)
    return venue


def test_a_cancelled_order_leaves_the_venue_and_its_redelivery_is_ignored():
    venue = venue_with(memory=1)
    order = new("s-1", "buy", "1", price="99.5")
    arrive(venue, order)
    assert list(venue._orders) == ["s-1"]
    arrive(venue, amend(order, "cancel", T + 2_000))
    assert (venue._orders, list(venue._finished)) == ({}, ["s-1"])
    assert list(venue._received) == [f"cancel {T + 2_000} s-1"]  # the new's is forgotten
    assert arrive(venue, order) == []
    assert venue._orders == {}
    # A late cancel is refused with the order's own status, and its reports count on.
    refusals = [arrive(venue, amend(order, "cancel", at))[0] for at in (T + 4_000, T + 6_000)]
    assert [(r.report_id, r.status.value, code(r)) for r in refusals] == [
        ("s-1:3", "cancelled", VenueReason.ORDER_DONE),
        ("s-1:4", "cancelled", VenueReason.ORDER_DONE),
    ]


def test_a_redelivered_new_of_a_live_order_is_ignored_once_its_identity_is_forgotten():
    venue = venue_with(memory=1)
    first = new("s-1", "buy", "1", price="99.5")
    arrive(venue, first)
    arrive(venue, new("s-2", "buy", "1", price="99"))
    assert "new s-1" not in venue._received
    assert arrive(venue, first) == []
    assert [order.slice_id for order in venue.open_orders()] == ["s-1", "s-2"]


def test_a_replace_of_a_filled_order_is_refused_with_its_own_totals():
    venue = venue_with()
    order = new("s-1", "buy", "1", order_type="market")
    arrive(venue, order)  # ack, then 1 @ 101
    assert venue._orders == {}
    (refused,) = arrive(venue, amend(order, "replace", T + 2_000, quantity="2"))
    assert (
        refused.report_id,
        refused.status.value,
        refused.quantity,
        refused.filled_quantity,
        refused.average_price,
        refused.commission,
        refused.venue_order_id,
        code(refused),
    ) == ("s-1:3", "filled", 1, 1, 101, D("0.101"), "sim-1", VenueReason.ORDER_DONE)


def test_the_expiry_of_an_order_that_finished_first_leaves_the_queue():
    venue = venue_with()
    first = new("s-1", "buy", "1", price="99.5", time_in_force="DAY")
    second = new("s-2", "buy", "1", price="99", time_in_force="DAY")
    arrive(venue, first)
    arrive(venue, second)
    assert len(venue._due) == 2
    arrive(venue, amend(first, "cancel", T + 2_000))
    assert len(venue._due) == 2  # one in two is stale: not worth a rebuild yet
    (expired,) = venue.advance(MIDNIGHT)
    assert (expired.slice_id, expired.status, venue._due, venue._orders) == (
        "s-2",
        OrderStatus.EXPIRED,
        [],
        {},
    )
    third = new("s-3", "buy", "1", price="99.5", time_in_force="DAY", created_at=MIDNIGHT)
    arrive(venue, third)
    arrive(venue, amend(third, "cancel", MIDNIGHT + 2_000))
    assert venue._due == []  # the only entry was stale


def test_the_venue_forgets_its_oldest_finished_orders():
    venue = venue_with(memory=2)
    orders = [new(f"s-{n}", "buy", "1", order_type="market") for n in (1, 2, 3)]
    for order in orders:
        arrive(venue, order)
    assert list(venue._finished) == ["s-2", "s-3"]
    assert list(venue._received) == ["new s-2", "new s-3"]
    (forgotten,) = arrive(venue, amend(orders[0], "cancel", T + 2_000))
    (remembered,) = arrive(venue, amend(orders[2], "cancel", T + 2_000))
    assert [(r.status.value, code(r)) for r in (forgotten, remembered)] == [
        ("rejected", VenueReason.UNKNOWN_ORDER),
        ("filled", VenueReason.ORDER_DONE),
    ]


# --- the executor -------------------------------------------------------------------------------

T0 = 1_723_161_300_000_000


def routed(signal_id: str = "sig-1") -> RoutedOrder:
    """0.3 to buy: 0.2 on binance (slice -1), 0.1 on kraken (slice -2)."""
    signal = Signal(
        signal_id=signal_id,
        strategy_id="st",
        account_id="a-1",
        symbol="BTC/USDT",
        side="buy",
        quantity=D("0.3"),
        order_type="limit",
        price=D("61000"),
        created_at=T0,
    )
    order = ParentOrder(order_id=order_id_for(signal_id), signal=signal, approved_at=T0)
    plan = [
        VenueAllocation(venue="binance", quantity=D("0.2")),
        VenueAllocation(venue="kraken", quantity=D("0.1"), priority=1),
    ]
    return RoutedOrder(order=order, venue_plan=plan, routed_at=T0)


def report(
    slice_id: str,
    exec_type: str,
    status: str,
    *,
    filled: str = "0",
    last: str = "0",
    quantity: str = "0.2",
    n: int = 2,
) -> ExecutionReport:
    """The `n`-th report of a slice of `o-sig-1` (or of the order its slice id names)."""
    return ExecutionReport(
        report_id=f"{slice_id}:{n}",
        order_id=slice_id.rpartition("-")[0],
        signal_id=slice_id.removeprefix("o-").rpartition("-")[0],
        slice_id=slice_id,
        account_id="a-1",
        symbol="BTC/USDT",
        venue="binance",
        side="buy",
        exec_type=exec_type,
        status=status,
        quantity=D(quantity),
        last_quantity=D(last),
        last_price=D("61000") if D(last) else None,
        filled_quantity=D(filled),
        leaves_quantity=D(0) if status in ("filled", "expired", "cancelled") else D(quantity),
        commission=D(0),
        timestamp=T0 + 10,
    )


def filled(slice_id: str, quantity: str) -> ExecutionReport:
    return report(slice_id, "fill", "filled", filled=quantity, last=quantity, quantity=quantity)


def cancel(order_id: str = "o-sig-1") -> Command:
    return Command(
        command_id=f"c-{order_id}",
        kind="cancel",
        order_id=order_id,
        symbol="BTC/USDT",
        created_at=T0 + 5,
    )


def test_a_filled_parent_leaves_the_executor_and_is_not_started_again():
    stage = ExecutorStage()
    assert len(stage.handle("orders.routed", routed(), T0)) == 2
    assert stage.handle("fills", filled("o-sig-1-1", "0.2"), T0 + 10) == []
    assert list(stage.state.parents) == ["o-sig-1"]
    assert stage.handle("fills", filled("o-sig-1-2", "0.1"), T0 + 10) == []
    assert (stage.state.parents, list(stage.state.finished)) == ({}, ["o-sig-1"])
    assert stage.handle("orders.routed", routed(), T0 + 20) == []
    assert stage.handle("commands", cancel(), T0 + 20) == []
    assert stage.state.parents == {}


def test_a_parent_whose_slices_end_unfilled_is_ended_once_and_leaves():
    stage = ExecutorStage()
    stage.handle("orders.routed", routed(), T0)
    stage.handle("fills", filled("o-sig-1-1", "0.2"), T0 + 10)
    last = report("o-sig-1-2", "expire", "expired", quantity="0.1")
    (ended,) = stage.handle("fills", last, T0 + 10)
    assert (ended.topic, ended.record.command_id) == ("commands", "o-sig-1:ended")
    assert ended.record.slices_sent == 2  # one slice at each of the plan's two venues
    assert stage.state.parents == {}
    assert stage.handle("fills", last, T0 + 11) == []  # re-delivered: no second command
    assert stage.handle("commands", ended.record, T0 + 11) == []
    assert stage.handle("orders.routed", routed(), T0 + 20) == []


def test_a_cancelled_parent_leaves_once_its_slices_have_ended():
    stage = ExecutorStage()
    stage.handle("orders.routed", routed(), T0)
    cancels = stage.handle("commands", cancel(), T0 + 5)
    assert [emit.record.action for emit in cancels] == [SliceAction.CANCEL, SliceAction.CANCEL]
    stage.handle("fills", report("o-sig-1-1", "cancel", "cancelled"), T0 + 10)
    assert list(stage.state.parents) == ["o-sig-1"]
    last = report("o-sig-1-2", "cancel", "cancelled", quantity="0.1")
    assert stage.handle("fills", last, T0 + 10) == []  # asked to cancel: no command of its own
    assert (stage.state.parents, list(stage.state.finished)) == ({}, ["o-sig-1"])


def test_the_executor_forgets_its_oldest_finished_parents():
    stage = ExecutorStage()
    stage.state = ExecutorState(finished=RecentIds(1))
    for signal_id in ("sig-1", "sig-2"):
        stage.handle("orders.routed", routed(signal_id), T0)
        order_id = order_id_for(signal_id)
        stage.handle("fills", filled(f"{order_id}-1", "0.2"), T0 + 10)
        stage.handle("fills", filled(f"{order_id}-2", "0.1"), T0 + 10)
    assert (stage.state.parents, list(stage.state.finished)) == ({}, ["o-sig-2"])


# --- the OMS ------------------------------------------------------------------------------------


def approved(signal_id: str = "sig-1") -> ParentOrder:
    return routed(signal_id).order


def rejection(signal_id: str = "sig-1", order_id: str | None = None) -> Rejection:
    """Risk's refusal of the signal, or the router's of its approved order (`order_id`)."""
    return Rejection(
        signal_id=signal_id,
        order_id=order_id,
        account_id="a-1",
        reason_code="NO_VENUE" if order_id else "DUPLICATE_SIGNAL",
        reason="refused",
        stage="router" if order_id else "risk",
        signal=approved(signal_id).signal,
        rejected_at=T0 + 1,
    )


def states(emits: list) -> list[tuple[str, str, int]]:
    """What went to `orders.state`. A final state with part unfilled also goes to
    `orders.ended` (risk counts that part as working until then), but for an order risk
    refused, which never was (no `order_id` on its rejection: see `rejection`)."""
    published = [e.record for e in emits if e.topic == "orders.state"]
    assert [e.record for e in emits if e.topic == "orders.ended"] == [
        record
        for record in published
        if record.status.value in FINAL
        and record.filled_quantity < record.quantity
        and not (record.reason or "").startswith(RISK_REFUSED)
    ]
    return [(record.order_id, record.status.value, record.version) for record in published]


RISK_REFUSED = "DUPLICATE_SIGNAL"  # the reason `rejection` gives an order risk refused


FINAL = {"filled", "cancelled", "rejected", "expired"}


def fill_order(stage: OmsStage, order_id: str = "o-sig-1") -> list:
    """Both slices of the order filled; what the last fill emitted."""
    stage.handle("fills", filled(f"{order_id}-1", "0.2"), T0 + 10)
    return stage.handle("fills", filled(f"{order_id}-2", "0.1"), T0 + 10)


def test_a_filled_order_leaves_the_oms_and_is_not_opened_again():
    stage = OmsStage()
    assert states(stage.handle("orders.approved", approved(), T0)) == [("o-sig-1", "new", 1)]
    assert list(stage.orders) == ["o-sig-1"]
    assert states(fill_order(stage)) == [("o-sig-1", "filled", 3)]
    assert (stage.orders, list(stage.finished)) == ({}, ["o-sig-1"])
    assert stage.handle("orders.approved", approved(), T0 + 20) == []
    assert stage.handle("fills", filled("o-sig-1-2", "0.1"), T0 + 20) == []
    assert stage.handle("commands", cancel(), T0 + 20) == []
    assert stage.orders == {}


def test_an_order_the_router_refused_ends_rejected_once():
    stage = OmsStage()
    stage.handle("orders.approved", approved(), T0)
    refused = rejection(order_id="o-sig-1")
    assert states(stage.handle("orders.rejected", refused, T0 + 1)) == [("o-sig-1", "rejected", 2)]
    assert (stage.orders, list(stage.finished)) == ({}, ["o-sig-1"])
    assert stage.handle("orders.rejected", refused, T0 + 2) == []
    assert stage.handle("orders.approved", approved(), T0 + 2) == []


def test_risk_refusing_a_resent_signal_leaves_the_original_order_working():
    stage = OmsStage()
    stage.handle("orders.approved", approved(), T0)
    assert stage.handle("orders.rejected", rejection(), T0 + 1) == []
    assert states(fill_order(stage)) == [("o-sig-1", "filled", 3)]


def test_the_executors_end_overtaking_the_reports_still_ends_the_order_as_they_say():
    # Both slices expire unfilled: the order ends expired, whichever the OMS reads first.
    reports = [report(f"o-sig-1-{n}", "expire", "expired", n=n) for n in (1, 2)]
    executor = ExecutorStage()
    executor.handle("orders.routed", routed(), T0)
    (ended,) = [emit.record for r in reports for emit in executor.handle("fills", r, T0 + 10)]
    for arrivals in ([*reports, ended], [ended, *reports], [reports[0], ended, reports[1]]):
        stage = OmsStage()
        stage.handle("orders.approved", approved(), T0)
        emitted = [
            emit
            for record in arrivals
            for emit in stage.handle("commands" if record is ended else "fills", record, T0 + 10)
        ]
        assert states(emitted)[-1][:2] == ("o-sig-1", "expired"), arrivals
        assert stage.orders == {}


def test_a_cancel_before_any_report_waits_for_the_slices_already_sent():
    # The executor sent both slices; a user's cancel reaches the OMS before any report. The
    # venue fills the first before the cancel reaches it: that fill must count.
    stage = OmsStage()
    stage.handle("orders.approved", approved(), T0)
    for child in ExecutorStage().handle("orders.routed", routed(), T0):
        assert stage.handle(child.topic, child.record, T0) == []  # no new version
    assert states(stage.handle("commands", cancel(), T0 + 5)) == [("o-sig-1", "cancel_pending", 2)]
    stage.handle("fills", filled("o-sig-1-1", "0.2"), T0 + 6)
    last, ended = stage.handle("fills", report("o-sig-1-2", "cancel", "cancelled"), T0 + 7)
    assert (last.record.status.value, last.record.filled_quantity) == ("cancelled", D("0.2"))
    assert (last.topic, ended.topic, ended.record) == ("orders.state", "orders.ended", last.record)


def test_the_oms_forgets_its_oldest_final_orders():
    stage = OmsStage(memory=1)
    for signal_id in ("sig-1", "sig-2"):
        stage.handle("orders.approved", approved(signal_id), T0)
        fill_order(stage, order_id_for(signal_id))
    assert (stage.orders, list(stage.finished)) == ({}, ["o-sig-2"])


def test_the_oms_restores_with_working_orders_and_carries_on_alike():
    stage = OmsStage()
    stage.handle("orders.approved", approved(), T0)
    stage.handle("fills", filled("o-sig-1-1", "0.2"), T0 + 10)
    copy = OmsStage()
    Memory(copy).restore(Memory(stage).changes()[0])
    assert copy.orders == stage.orders
    assert isinstance(copy.orders["o-sig-1"].slices, MappingProxyType)
    assert states(fill_order(copy)) == states(fill_order(stage)) == [("o-sig-1", "filled", 3)]

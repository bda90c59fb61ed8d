"""A parent order folded from its slices' execution reports: totals, status, refusals.

Vectors are worked by hand; the property test replays shuffled, re-delivered report streams.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.schemas import examples_dir, jsonl
from fillstream.schemas.models import (
    TERMINAL,
    ExecType,
    ExecutionReport,
    OrderState,
    OrderStatus,
    ParentOrder,
    Signal,
)
from fillstream.streams.orders import (
    TRANSITIONS,
    ParentOrderState,
    Problem,
    ProblemKind,
    apply_report,
    open_order,
    request_cancel,
    to_record,
)
from fillstream.streams.orders.parent import _evolve
from fillstream.streams.state_codec import decode_value, encode_value

T = 1_723_161_300_000_000
S, X = OrderStatus, ExecType


def parent(quantity: str = "10", order_id: str = "ord-1") -> ParentOrderState:
    signal = Signal(
        signal_id="sig-1",
        strategy_id="strat-1",
        account_id="acct-1",
        symbol="ABC/USD",
        side="buy",
        quantity=Decimal(quantity),
        order_type="market",
        created_at=T,
    )
    return open_order(ParentOrder(order_id=order_id, signal=signal, approved_at=T))


def report(
    report_id: str,
    exec_type: ExecType,
    status: OrderStatus,
    *,
    slice_id: str = "ord-1-1",
    quantity: str = "10",
    last: str = "0",
    price: str | None = None,
    filled: str = "0",
    commission: str = "0",
    at: int = T,
    reason: str | None = None,
) -> ExecutionReport:
    return ExecutionReport(
        report_id=report_id,
        order_id="ord-1",
        signal_id="sig-1",
        slice_id=slice_id,
        account_id="acct-1",
        symbol="ABC/USD",
        venue="alpha",
        side="buy",
        exec_type=exec_type,
        status=status,
        quantity=Decimal(quantity),
        last_quantity=Decimal(last),
        last_price=None if price is None else Decimal(price),
        filled_quantity=Decimal(filled),
        leaves_quantity=Decimal(quantity) - Decimal(filled),
        commission=Decimal(commission),
        reason=reason,
        timestamp=at,
    )


def ack(slice_id: str = "ord-1-1", quantity: str = "10") -> ExecutionReport:
    return report(f"{slice_id}:ack", X.ACK, S.ACCEPTED, slice_id=slice_id, quantity=quantity)


def fill(
    report_id: str,
    last: str,
    price: str,
    filled: str,
    *,
    slice_id: str = "ord-1-1",
    quantity: str = "10",
    commission: str = "0",
    at: int = T,
) -> ExecutionReport:
    """A fill of a slice: the complete one if it brings the slice to its quantity."""
    complete = Decimal(filled) == Decimal(quantity)
    return report(
        report_id,
        X.FILL if complete else X.PARTIAL_FILL,
        S.FILLED if complete else S.PARTIALLY_FILLED,
        slice_id=slice_id,
        quantity=quantity,
        last=last,
        price=price,
        filled=filled,
        commission=commission,
        at=at,
    )


def ended(
    exec_type: ExecType,
    status: OrderStatus,
    slice_id: str = "ord-1-1",
    quantity: str = "10",
    filled: str = "0",
) -> ExecutionReport:
    return report(
        f"{slice_id}:{exec_type.value}",
        exec_type,
        status,
        slice_id=slice_id,
        quantity=quantity,
        filled=filled,
    )


def fold(state: ParentOrderState, *reports: ExecutionReport) -> ParentOrderState:
    """Apply reports that must all be accepted."""
    for execution in reports:
        state, problems = apply_report(state, execution)
        assert problems == []
    return state


def refused(state: ParentOrderState, execution: ExecutionReport) -> Problem:
    after, problems = apply_report(state, execution)
    assert after is state
    assert len(problems) == 1
    return problems[0]


# -- totals --------------------------------------------------------------------------------------


def test_the_contract_example_reports_give_the_contract_example_state():
    first_signal = (examples_dir() / "signals.jsonl").read_text().splitlines()[0]
    signal = Signal.model_validate(jsonl.loads(first_signal))
    state = open_order(ParentOrder(order_id="ord-sig-0001", signal=signal, approved_at=T))
    for line in (examples_dir() / "fills.jsonl").read_text().splitlines():
        state = fold(state, ExecutionReport.model_validate(jsonl.loads(line)))
    expected = OrderState.model_validate(
        jsonl.loads((examples_dir() / "orders.state.jsonl").read_text())
    )
    assert to_record(state) == expected  # 0.15 @ 61251.01 + 0.10 @ 61251.50 -> 61251.206


def test_totals_over_two_slices():
    a, b = "ord-1-1", "ord-1-2"
    state = fold(
        parent(),
        ack(a, "6"),
        ack(b, "4"),
        fill("a1", "4", "100.00", "4", slice_id=a, quantity="6", commission="0.40"),
        fill("b1", "4", "99.25", "4", slice_id=b, quantity="4", commission="0.40"),
        fill("a2", "2", "100.50", "6", slice_id=a, quantity="6", commission="0.60"),
    )
    # 4 x 100.00 + 4 x 99.25 + 2 x 100.50 = 400 + 397 + 201 = 998 over 10
    record = to_record(state)
    assert (record.status, record.filled_quantity, record.leaves_quantity) == (
        S.FILLED,
        Decimal(10),
        Decimal(0),
    )
    assert record.average_price == Decimal("99.8")
    assert record.commission == Decimal("1.00")  # 0.60 + 0.40: the slices' latest cumulatives
    assert record.version == 6


def test_a_fill_before_the_acknowledgement_counts():
    state = fold(parent(), fill("f1", "3", "100", "3"))
    assert state.status is S.PARTIALLY_FILLED
    late_ack = fold(state, ack())
    assert (late_ack.status, late_ack.version) == (S.PARTIALLY_FILLED, 3)


# -- refusals ------------------------------------------------------------------------------------


def test_a_redelivered_report_is_not_counted_twice():
    first = fill("f1", "3", "100", "3")
    state = fold(parent(), first)
    assert refused(state, first).kind is ProblemKind.DUPLICATE_REPORT
    assert state.filled == Decimal(3)


def test_a_fill_beyond_the_order_quantity_is_refused():
    state = fold(parent("5"), fill("f1", "4", "100", "4"))
    assert refused(state, fill("f2", "2", "100", "6")) == Problem(
        ProblemKind.OVERFILL, "report f2 fills 2 on top of 4, beyond the order's 5"
    )


def test_reports_for_a_finished_order_are_refused():
    state = fold(parent("5"), fill("f1", "5", "100", "5", quantity="5"))
    late = fill("f2", "0.1", "100", "0.1", slice_id="ord-1-2")
    assert refused(state, late) == Problem(
        ProblemKind.ORDER_FINISHED, "order ord-1 is already filled"
    )


def test_a_report_of_another_order_or_an_unpriced_fill_is_refused():
    state = parent()
    other = ack().model_copy(update={"order_id": "ord-2"})
    assert refused(state, other).kind is ProblemKind.FOREIGN_REPORT
    unpriced = report("f", X.PARTIAL_FILL, S.PARTIALLY_FILLED, last="1", filled="1")
    assert refused(state, unpriced).kind is ProblemKind.UNPRICED_FILL


# -- ending --------------------------------------------------------------------------------------


def test_cancel_waits_for_working_slices_then_cancels():
    state = fold(parent(), ack())
    state, problems = request_cancel(state, T + 10, reason="strategy withdrew")
    assert (problems, state.status, state.version) == ([], S.CANCEL_PENDING, 3)
    again, problems = request_cancel(state, T + 11)
    assert again is state and problems[0].kind is ProblemKind.ILLEGAL_TRANSITION
    state = fold(state, fill("f1", "2", "100", "2"))
    assert state.status is S.CANCEL_PENDING
    state = fold(state, ended(X.CANCEL, S.CANCELLED, filled="2"))
    record = to_record(state)
    assert (record.status, record.filled_quantity, record.leaves_quantity) == (
        S.CANCELLED,
        Decimal(2),
        Decimal(0),
    )
    assert (record.reason, record.version) == ("strategy withdrew", 5)
    after, problems = request_cancel(state, T + 20)
    assert after is state and problems[0].kind is ProblemKind.ORDER_FINISHED


def test_cancel_with_nothing_working_ends_at_once():
    state, problems = request_cancel(parent(), T + 5)
    assert (problems, state.status, state.version, state.updated_at) == (
        [],
        S.CANCELLED,
        2,
        T + 5,
    )


def test_slices_ending_do_not_end_the_parent_without_a_request():
    state = fold(parent(), ack(), ended(X.EXPIRE, S.EXPIRED))  # e.g. one TWAP slice ran out
    assert state.status is S.ACCEPTED and not state.working
    state = fold(state, ack("ord-1-2"), fill("f", "10", "100", "10", slice_id="ord-1-2"))
    assert state.status is S.FILLED


def test_every_slice_rejected_before_any_fill_ends_rejected():
    state = fold(
        parent(),
        report("r1", X.REJECT, S.REJECTED, slice_id="a", reason="insufficient balance"),
        report("r2", X.REJECT, S.REJECTED, slice_id="b"),
    )
    assert state.status is S.NEW
    state, _ = request_cancel(state, T + 1)
    assert (state.status, state.reason) == (S.REJECTED, "insufficient balance")


def test_every_unfilled_slice_expired_ends_expired_even_after_fills():
    state = fold(
        parent(),
        ack("a", "5"),
        fill("f", "5", "100", "5", slice_id="a", quantity="5"),
        ack("b", "5"),
        ended(X.EXPIRE, S.EXPIRED, slice_id="b", quantity="5"),
    )
    state, _ = request_cancel(state, T + 1)
    assert state.status is S.EXPIRED


def test_mixed_endings_end_cancelled():
    state = fold(
        parent(),
        report("r", X.REJECT, S.REJECTED, slice_id="a"),
        ack("b"),
        ended(X.EXPIRE, S.EXPIRED, slice_id="b"),
    )
    state, _ = request_cancel(state, T + 1)
    assert state.status is S.CANCELLED


def test_a_slice_whose_announced_fills_have_not_all_arrived_is_still_working():
    # The slice's completing fill overtook its partial fill: the cancel must wait for it.
    state = fold(parent(), ack("ord-1-1", "3"))
    state, _ = request_cancel(state, T + 1)
    state = fold(state, fill("f2", "1", "101", "3", quantity="3"))
    assert state.status is S.CANCEL_PENDING and state.working
    state = fold(state, fill("f1", "2", "100", "2", quantity="3"))
    assert (state.status, state.filled) == (S.CANCELLED, Decimal(3))


def test_the_executors_end_waits_for_the_reports_of_every_slice_it_sent():
    # A FOK slice expired; the executor's end of the order overtook the venue's reports (it
    # travels on `commands`, they on `fills`). Ending now would say cancelled, not expired.
    state, _ = request_cancel(parent(), T + 1, "execution ended: last slice expired", 1)
    assert (state.status, state.working) == (S.CANCEL_PENDING, True)
    state = fold(state, ack())
    assert state.status is S.CANCEL_PENDING
    state = fold(state, ended(X.EXPIRE, S.EXPIRED))
    assert (state.status, state.reason) == (S.EXPIRED, "execution ended: last slice expired")


def test_the_executors_end_counts_slices_not_reports():
    # Two slices sent; the first's two reports do not stand for the second.
    state, _ = request_cancel(parent(), T + 1, slices_sent=2)
    state = fold(state, ack("a"), ended(X.EXPIRE, S.EXPIRED, slice_id="a"))
    assert state.status is S.CANCEL_PENDING
    state = fold(state, report("b:r", X.REJECT, S.REJECTED, slice_id="b"))
    assert state.status is S.CANCELLED  # one expired, one rejected


def test_a_state_saved_before_slices_sent_existed_restores_with_none_announced():
    state = fold(parent(), ack())
    fields = msgspec.msgpack.decode(encode_value(ParentOrderState, state))
    assert "slices_sent" not in fields  # at its default: left out, as a writer without it did
    restored = decode_value(ParentOrderState, msgspec.msgpack.encode(fields))
    assert restored == state and restored.slices_sent == 0


# -- property: any order of any reports, re-delivered or not -----------------------------------

UNIT = Decimal("0.5")


@st.composite
def report_streams(draw: st.DrawFn) -> tuple[int, list[ExecutionReport | str]]:
    """A parent's quantity in units, and a shuffled stream of its slices' reports, with
    re-deliveries and cancel requests ("cancel"). Slices may together overfill the parent."""
    reports: list[ExecutionReport] = []
    for number in range(draw(st.integers(1, 3))):
        slice_id = f"ord-1-{number}"
        fills = draw(st.lists(st.integers(1, 6), max_size=4))
        size = sum(fills) + draw(st.integers(0 if fills else 1, 3))
        quantity = str(size * UNIT)
        reports.append(ack(slice_id, quantity))
        done = 0
        for sequence, units in enumerate(fills):
            done += units
            price = draw(st.integers(9_900, 10_100)) / Decimal(100)
            reports.append(
                fill(
                    f"{slice_id}:f{sequence}",
                    str(units * UNIT),
                    str(price),
                    str(done * UNIT),
                    slice_id=slice_id,
                    quantity=quantity,
                    commission=str(done * Decimal("0.01")),
                    at=T + len(reports),
                )
            )
        if done < size:  # the venue ends the rest of the slice
            endings = [(X.CANCEL, S.CANCELLED), (X.EXPIRE, S.EXPIRED)]
            if done == 0:
                endings.append((X.REJECT, S.REJECTED))
            exec_type, status = draw(st.sampled_from(endings))
            reports.append(ended(exec_type, status, slice_id, quantity, str(done * UNIT)))
    redelivered = draw(st.lists(st.sampled_from(reports), max_size=5))
    cancels = ["cancel"] * draw(st.integers(0, 2))
    stream = draw(st.permutations([*reports, *redelivered, *cancels]))
    return draw(st.integers(1, 24)), stream


def _reachable(status: OrderStatus) -> set[OrderStatus]:
    """Statuses one event can lead to: a report may move the order twice (a fill, then the end
    a pending cancel was waiting for)."""
    one = {target for (source, _), target in TRANSITIONS.items() if source is status}
    two = {target for (source, _), target in TRANSITIONS.items() if source in one}
    return {status} | one | two


@given(report_streams())
def test_any_report_stream_keeps_the_invariants(scenario):
    units, stream = scenario
    state = parent(str(units * UNIT))
    applied: dict[str, ExecutionReport] = {}
    for step, event in enumerate(stream):
        before = state
        if isinstance(event, str):
            state, problems = request_cancel(state, T + 1_000 + step)
        else:
            state, problems = apply_report(state, event)
            if not problems:
                assert event.report_id not in applied
                applied[event.report_id] = event
        if problems:
            assert state is before
        else:
            assert state.version == before.version + 1
            assert state.status in _reachable(before.status)
        if before.status in TERMINAL:
            assert problems and state.status is before.status
        fills = [r for r in applied.values() if r.last_quantity > 0]
        assert state.filled <= state.quantity
        assert (state.status is S.FILLED) == (state.filled == state.quantity)
        if state.status in (S.PARTIALLY_FILLED, S.REJECTED):
            assert (state.filled > 0) == (state.status is S.PARTIALLY_FILLED)
        assert state.filled == sum((r.last_quantity for r in fills), Decimal(0))
        assert state.traded_value == sum(
            (r.last_quantity * r.last_price for r in fills), Decimal(0)
        )
        record = to_record(state)
        assert record.filled_quantity + record.leaves_quantity == (
            state.quantity if state.status not in TERMINAL else state.filled
        )


def test_a_state_evolves_as_dataclasses_replace_would_and_refuses_an_unknown_field():
    state = parent()
    changes = {"version": 7, "reason": "moved", "cancel_requested": True}
    assert _evolve(state, **changes) == dataclasses.replace(state, **changes)
    assert _evolve(state) == state and _evolve(state) is not state
    with pytest.raises(TypeError, match="colour"):
        _evolve(state, colour="blue")

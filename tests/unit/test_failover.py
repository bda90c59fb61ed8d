"""The failover core on hand-computed cases.

The allocation is test_allocation's three accounts: a weighs 20,000, b 30,000, c 50,000, so a
group signal of 1 in lots of 0.01 gives a 0.2, b 0.3, c 0.5, and the ranking for failover is
c, b, a (weight, highest first).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.schemas.models import OrderState
from fillstream.streams.allocation import Lot, allocate, child_signal_id
from fillstream.streams.failover import (
    Failovers,
    fail_over,
    failover_signal_id,
    parent_signal_id,
    parent_signal_ids,
)
from tests.unit.test_allocation import GROUP, STANDING, A, B, C, lines, signal, standing

D = Decimal
LOT = Lot(D("0.01"))
T1 = 1_723_161_301_000_000
ACCOUNTS = {account.id: account for account in (A, B, C)}


@pytest.fixture
def allocation():
    children, rationale = allocate(signal("1"), GROUP, [A, B, C], STANDING, {}, LOT)
    assert {child.signal_id: child.quantity for child in children} == {
        "grp-1:a": D("0.2"),
        "grp-1:b": D("0.3"),
        "grp-1:c": D("0.5"),
    }
    return rationale


def ended(child: str, account: str, quantity: str, status: str, filled: str = "0", **more):
    return OrderState.model_validate(
        {
            "order_id": f"ord-{child}",
            "signal_id": child,
            "strategy_id": "momentum",
            "account_id": account,
            "symbol": "BTC/USDT",
            "side": "buy",
            "order_type": "market",
            "quantity": quantity,
            "status": status,
            "filled_quantity": filled,
            "leaves_quantity": "0",
            "commission": "0",
            "version": 2,
            "created_at": T1 - 1,
            "updated_at": T1,
            "allocation_group": "funded",
        }
        | more
    )


def run(allocation, *failures, standing=STANDING, lot=LOT):
    """Each failure in turn through the core: the book, and each step's children and
    rationale."""
    book = Failovers(signal("1"))
    steps = []
    for failure in failures:
        book, children, rationale = fail_over(book, allocation, failure, standing, lot, ACCOUNTS)
        steps.append((children, rationale))
    return book, steps


REFUSED = ended("grp-1:a", "a", "0.2", "rejected", reason="MAX_ORDER_QUANTITY: above 0.1")


def test_a_child_refused_by_risk_moves_to_the_first_account_of_the_ranking(allocation):
    _, [(children, rationale)] = run(allocation, REFUSED)
    [child] = children
    assert (child.signal_id, child.account_id, child.quantity) == ("grp-1:c:f1", "c", D("0.2"))
    assert (child.allocation_group, child.created_at) == ("funded", T1)  # at the failure
    assert (rationale.failover_of, rationale.allocated, rationale.created_at) == (
        "grp-1:a",
        D("0.2"),
        T1,
    )
    assert rationale.notes == [
        "failover of grp-1:a: rejected (MAX_ORDER_QUANTITY: above 0.1)",
        "0.2 to c as grp-1:c:f1",
    ]
    by_account = lines(rationale)
    assert {a: (line.quantity, line.child_signal_id) for a, line in by_account.items()} == {
        "a": (D(0), None),
        "b": (D(0), None),
        "c": (D("0.2"), "grp-1:c:f1"),
    }
    assert by_account["a"].notes == [
        "failed: grp-1:a rejected (MAX_ORDER_QUANTITY: above 0.1), 0.2 of its 0.2 unfilled"
    ]
    assert by_account["b"].notes == ["eligible, ranked after the taker"]
    assert by_account["c"].notes == [
        "takes 0.2 from a: the first eligible account by the allocation's weight"
    ]


def test_a_second_failure_goes_to_the_third_account_and_a_third_finds_none(allocation):
    # a refused -> c:f1 (0.2); c:f1 refused -> b, the only one left (b:f1, 0.2); then b's
    # own child expires with 0.1 of its 0.3 filled: 0.2 unfilled, and a, c have failed
    book, [_, (second, why_second), (third, why_third)] = run(
        allocation,
        REFUSED,
        ended("grp-1:c:f1", "c", "0.2", "rejected", reason="ACCOUNT_PAUSED: paused"),
        ended("grp-1:b", "b", "0.3", "expired", filled="0.1"),
    )
    assert [(c.signal_id, c.quantity) for c in second] == [("grp-1:b:f1", D("0.2"))]
    assert lines(why_second)["a"].notes == ["skipped: its child failed before"]
    assert third == []
    assert (why_third.allocated, why_third.notes) == (
        D(0),
        ["failover of grp-1:b: expired", "unallocated 0.2: no eligible account left"],
    )
    assert lines(why_third)["b"].notes == ["failed: grp-1:b expired, 0.2 of its 0.3 unfilled"]
    assert [line.notes for a, line in lines(why_third).items() if a != "b"] == [
        ["skipped: its child failed before"]
    ] * 2
    assert [f.account_id for f in book.history] == ["a", "c", "b"]


def test_only_the_unfilled_part_of_a_partial_fill_moves(allocation):
    # c's 0.5 cancelled after 0.35 filled: 0.15 to b, the first by weight after c
    _, [(children, rationale)] = run(
        allocation, ended("grp-1:c", "c", "0.5", "cancelled", filled="0.35")
    )
    assert [(c.signal_id, c.account_id, c.quantity) for c in children] == [
        ("grp-1:b:f1", "b", D("0.15"))
    ]
    assert rationale.allocated == D("0.15")


def test_an_account_paused_now_is_passed_over(allocation):
    # c is paused by the time a fails: b takes a's 0.2
    now = {**STANDING, "c": standing("c", status="paused")}
    _, [(children, rationale)] = run(allocation, REFUSED, standing=now)
    assert [(c.signal_id, c.quantity) for c in children] == [("grp-1:b:f1", D("0.2"))]
    assert lines(rationale)["c"].notes == ["skipped: paused now"]


def test_what_is_below_a_lot_stays_unmoved(allocation):
    # lots of 0.1: of c's 0.15 unfilled, 0.1 moves to b and 0.05 stays
    _, [(children, rationale)] = run(
        allocation, ended("grp-1:c", "c", "0.5", "cancelled", filled="0.35"), lot=Lot(D("0.1"))
    )
    assert [c.quantity for c in children] == [D("0.1")]
    assert rationale.notes[1] == (
        "0.05 unfilled is below one lot of 0.1 or the minimum quantity 0: not moved"
    )


def test_a_repeated_failure_gives_identical_outputs_and_moves_nothing_more(allocation):
    book, [first, again] = run(allocation, REFUSED, REFUSED)
    assert first == again
    assert len(book.history) == 1


def test_a_child_that_left_nothing_unfilled_moves_nothing(allocation):
    book, [(children, rationale)] = run(allocation, ended("grp-1:a", "a", "0.2", "filled", "0.2"))
    assert (children, rationale, book.history) == ([], None, ())


@pytest.mark.parametrize(
    ("child", "account", "parent"),
    [
        ("grp-1:a", "a", "grp-1"),
        ("grp-1:a:f2", "a", "grp-1"),
        ("dca:7:a", "a", "dca:7"),  # a schedule's occurrence as the parent
        ("grp-1:a", "b", None),
        ("solo", "a", None),
        ("p:f1", "f1", "p"),  # an account id shaped like a failover's number
        ("p:f1:f2", "f1", "p"),
        ("p:a:f1", "f1", "p:a"),
        ("p:f1:f01", "f1", None),  # not a number failover_signal_id writes
    ],
)
def test_a_childs_id_names_its_parent(child, account, parent):
    assert parent_signal_id(child, account) == parent


def test_an_id_that_reads_both_ways_gives_both_parents_the_failover_first():
    # `p`'s first failover child to account f1, or the child of group signal `p:f1`
    assert parent_signal_ids("p:f1:f1", "f1") == ("p", "p:f1")
    assert failover_signal_id("p", "f1", 1) == child_signal_id("p:f1", "f1") == "p:f1:f1"

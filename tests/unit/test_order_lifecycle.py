"""The order state machine: exactly the legal moves, everything else refused."""

from __future__ import annotations

import itertools

import pytest

from fillstream.schemas.models import TERMINAL, OrderStatus
from fillstream.streams.orders import (
    TRANSITIONS,
    IllegalTransition,
    OrderEvent,
    transition,
)

# Written out by hand, one line per legal move: (from, event, to).
LEGAL = [
    ("new", "accepted", "accepted"),
    ("new", "partial_fill", "partially_filled"),
    ("new", "fill", "filled"),
    ("new", "cancel_requested", "cancel_pending"),
    ("new", "cancelled", "cancelled"),
    ("new", "rejected", "rejected"),
    ("new", "expired", "expired"),
    ("accepted", "partial_fill", "partially_filled"),
    ("accepted", "fill", "filled"),
    ("accepted", "cancel_requested", "cancel_pending"),
    ("accepted", "cancelled", "cancelled"),
    ("accepted", "rejected", "rejected"),
    ("accepted", "expired", "expired"),
    ("accepted", "replaced", "replaced"),
    ("partially_filled", "partial_fill", "partially_filled"),
    ("partially_filled", "fill", "filled"),
    ("partially_filled", "cancel_requested", "cancel_pending"),
    ("partially_filled", "cancelled", "cancelled"),
    ("partially_filled", "expired", "expired"),
    ("partially_filled", "replaced", "replaced"),
    ("cancel_pending", "accepted", "cancel_pending"),
    ("cancel_pending", "partial_fill", "cancel_pending"),
    ("cancel_pending", "fill", "filled"),
    ("cancel_pending", "cancelled", "cancelled"),
    ("cancel_pending", "rejected", "rejected"),
    ("cancel_pending", "expired", "expired"),
]
LEGAL_MOVES = {
    (OrderStatus(status), OrderEvent(event)): OrderStatus(target) for status, event, target in LEGAL
}


def test_the_table_is_exactly_the_legal_moves():
    assert dict(TRANSITIONS) == LEGAL_MOVES


def test_terminal_statuses():
    assert {status.value for status in TERMINAL} == {
        "filled",
        "cancelled",
        "rejected",
        "expired",
        "replaced",
    }


@pytest.mark.parametrize(
    ("status", "event"), list(itertools.product(OrderStatus, OrderEvent)), ids=str
)
def test_every_pair_moves_as_the_table_says_or_is_refused(status, event):
    outcome = transition(status, event)
    if (status, event) in LEGAL_MOVES:
        assert outcome is LEGAL_MOVES[status, event]
    else:
        assert outcome == IllegalTransition(status, event)
        assert outcome.status is status  # the order stays where it was


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_statuses_take_no_event(status):
    assert all(isinstance(transition(status, event), IllegalTransition) for event in OrderEvent)


def test_illegal_transition_says_why():
    refused = transition(OrderStatus.FILLED, OrderEvent.CANCEL_REQUESTED)
    assert refused.message == "an order that is filled cannot take the event cancel_requested"

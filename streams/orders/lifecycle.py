"""The order state machine: which event may move an order from which status, to which status.

One table holds every legal move; anything else is refused and leaves the order as it was.
Filled, cancelled, rejected, expired and replaced are terminal (`TERMINAL`, beside `OrderStatus`
in the contracts). Replaced is terminal because a
modification is a cancel-replace: the replacement carries on under an id of its own (as a venue
order does under a new client order id), while the replaced order ends.

A fill or the order's own rejection may still arrive after a cancel was requested, so
cancel_pending accepts them; a second cancel request while one is pending is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from fillstream.schemas.models import OrderStatus

__all__ = ["TRANSITIONS", "IllegalTransition", "OrderEvent", "transition"]


class OrderEvent(StrEnum):
    """What can happen to an order."""

    ACCEPTED = "accepted"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"  # a modification was accepted


_S, _E = OrderStatus, OrderEvent

# Events that end a working order, from any working status.
_ENDINGS = {_E.CANCELLED: _S.CANCELLED, _E.EXPIRED: _S.EXPIRED}

TRANSITIONS: Mapping[tuple[OrderStatus, OrderEvent], OrderStatus] = MappingProxyType(
    {
        (status, event): target
        for status, moves in {
            _S.NEW: {
                _E.ACCEPTED: _S.ACCEPTED,
                _E.PARTIAL_FILL: _S.PARTIALLY_FILLED,  # venues may fill before they acknowledge
                _E.FILL: _S.FILLED,
                _E.CANCEL_REQUESTED: _S.CANCEL_PENDING,
                _E.REJECTED: _S.REJECTED,
                **_ENDINGS,
            },
            _S.ACCEPTED: {
                _E.PARTIAL_FILL: _S.PARTIALLY_FILLED,
                _E.FILL: _S.FILLED,
                _E.CANCEL_REQUESTED: _S.CANCEL_PENDING,
                _E.REJECTED: _S.REJECTED,  # some venues acknowledge, then refuse (post-only)
                _E.REPLACED: _S.REPLACED,
                **_ENDINGS,
            },
            _S.PARTIALLY_FILLED: {
                _E.PARTIAL_FILL: _S.PARTIALLY_FILLED,
                _E.FILL: _S.FILLED,
                _E.CANCEL_REQUESTED: _S.CANCEL_PENDING,
                _E.REPLACED: _S.REPLACED,
                **_ENDINGS,
            },
            _S.CANCEL_PENDING: {
                _E.ACCEPTED: _S.CANCEL_PENDING,
                _E.PARTIAL_FILL: _S.CANCEL_PENDING,
                _E.FILL: _S.FILLED,
                _E.REJECTED: _S.REJECTED,
                **_ENDINGS,
            },
        }.items()
        for event, target in moves.items()
    }
)


@dataclass(frozen=True, slots=True)
class IllegalTransition:
    """A refused move: the order stays in `status`."""

    status: OrderStatus
    event: OrderEvent

    @property
    def message(self) -> str:
        return f"an order that is {self.status.value} cannot take the event {self.event.value}"


def transition(status: OrderStatus, event: OrderEvent) -> OrderStatus | IllegalTransition:
    """The status after `event`, or the refusal: a value, so a processor can report it and go on."""
    target = TRANSITIONS.get((status, event))
    return IllegalTransition(status, event) if target is None else target

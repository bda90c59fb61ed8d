"""Iceberg: rest `display_quantity` at the limit price, and show the next part when it fills.

The whole quantity is due at once, but no child may exceed the display quantity and only one
works at a time, so the book shows one part; when it fills, the next goes to the back of the
queue, as a venue's native iceberg refills. A last part too small to trade on its own is
folded into the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fillstream.streams.execution.algorithms.base import Market, ParentFacts, Venue

__all__ = ["IcebergPlan", "plan"]


@dataclass(frozen=True, slots=True)
class IcebergPlan:
    quantity: Decimal
    max_child: Decimal
    min_child: Decimal = Decimal(0)
    name: str = "iceberg"
    resting: bool = True

    def target(self, now_us: int, market: Market) -> Decimal:
        return self.quantity


def plan(parent: ParentFacts, market: Market, venue: Venue) -> IcebergPlan:
    if parent.display_quantity is None:
        raise ValueError("an iceberg needs a display_quantity")  # the catalog checks it first
    return IcebergPlan(parent.quantity, parent.display_quantity)

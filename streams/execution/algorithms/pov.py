"""POV (percentage of volume): trade a fixed share of the market's volume as it prints.

`Market.volume` counts other participants' trades only (our own prints are taken out of a tape
that shows them: base.py), so keeping our share of the total at a rate r means trading
r/(1 − r) of what they trade (TCA.md, "Schedules"). Children
go out as the target grows by at least `min_slice` (or the venue's minimum), at most
`max_slice` each.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fillstream.streams.execution.algorithms.base import Market, ParentFacts, Venue

__all__ = ["PovPlan", "plan"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PovPlan:
    quantity: Decimal
    rate: Decimal
    volume_at_start: Decimal
    min_child: Decimal = _ZERO
    max_child: Decimal | None = None
    name: str = "pov"
    resting: bool = False

    def target(self, now_us: int, market: Market) -> Decimal:
        others = market.volume - self.volume_at_start
        return min(self.quantity, others * self.rate / (1 - self.rate))


def plan(parent: ParentFacts, market: Market, venue: Venue) -> PovPlan:
    parameters = parent.parameters
    return PovPlan(
        parent.quantity,
        parameters["participation_rate"],
        market.volume,
        min_child=parameters.get("min_slice") or _ZERO,
        max_child=parameters.get("max_slice"),
    )

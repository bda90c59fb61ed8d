"""Execution algorithms: each a pure core that says how much of a parent should be working now.

`start` plans a parent with the algorithm its signal names (see `base` for the interface and
`catalog` for the names and parameters); the executor does the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from fillstream.streams.execution.algorithms import adaptive, iceberg, pov, shortfall, twap, vwap
from fillstream.streams.execution.algorithms.base import (
    Market,
    ParentFacts,
    Plan,
    ScheduledPlan,
    Venue,
)
from fillstream.streams.execution.algorithms.iceberg import IcebergPlan
from fillstream.streams.execution.algorithms.pov import PovPlan

__all__ = ["PLANNERS", "PLANS", "start"]

PLANNERS: dict[str, Callable[[ParentFacts, Market, Venue], Plan]] = {
    "twap": twap.plan,
    "vwap": vwap.plan,
    "pov": pov.plan,
    "iceberg": iceberg.plan,
    "implementation_shortfall": shortfall.plan,
    "adaptive": adaptive.plan,
}


# Every class of plan by the tag a saved plan carries (docs/CONTRACTS.md, "Processor state"),
# which is how a restore knows the class: a new class takes a new tag, a tag is never reused
# for another class, and renaming or moving a class keeps its tag.
PLANS: dict[str, type[Plan]] = {
    "scheduled": ScheduledPlan,
    "pov": PovPlan,
    "iceberg": IcebergPlan,
}


def start(algorithm: str, parent: ParentFacts, market: Market, venue: Venue) -> Plan:
    return PLANNERS[algorithm](parent, market, venue)

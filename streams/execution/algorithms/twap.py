"""TWAP: equal slices at equal intervals over the duration, optionally randomised.

Randomisation (`random_variation` v) makes the schedule harder to detect: each slice's size
is (1 + v·u) times the average (u uniform in [-1, 1], then renormalised to the whole
quantity) and its time moves by up to v/2 of an interval, so slices never swap places. The
draws are seeded by the order id: the same order gets the same schedule in replay, live, and
after a restart.
"""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal

from fillstream.streams.execution.algorithms.base import (
    SECOND_US,
    Market,
    ParentFacts,
    ScheduledPlan,
    Venue,
    schedule_of,
)

__all__ = ["plan", "points"]

DEFAULT_SLICES = 10


def points(
    duration_us: int, slices: int, variation: float = 0.0, seed: str = ""
) -> list[tuple[int, float]]:
    """(offset µs, weight) of each slice: slice k at k·interval, weight 1, before randomising."""
    interval = duration_us / slices
    draw = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    result = []
    for k in range(slices):
        size, shift = (
            (1.0, 0.0)
            if not variation
            else (
                1 + variation * draw.uniform(-1, 1),
                variation / 2 * draw.uniform(-1, 1),
            )
        )
        offset = max(0, round((k + shift) * interval)) if k else 0
        result.append((offset, size))
    return result


def slice_count(duration_us: int, parameters: dict) -> int:
    if parameters.get("slices") is not None:
        return int(parameters["slices"])
    interval = parameters.get("interval_seconds")
    if interval is not None:
        return max(1, int(Decimal(duration_us) / (interval * SECOND_US)))
    return DEFAULT_SLICES


def plan(parent: ParentFacts, market: Market, venue: Venue) -> ScheduledPlan:
    parameters = dict(parent.parameters)
    duration = int(parameters["duration_seconds"] * SECOND_US)
    variation = float(parameters.get("random_variation") or 0)
    slices = points(duration, slice_count(duration, parameters), variation, parent.order_id)
    return ScheduledPlan(
        "twap",
        parent.start_us,
        schedule_of(parent.quantity, slices, venue.lot),
        parent.side,
    )

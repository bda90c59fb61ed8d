"""VWAP: slices in proportion to the historical volume profile over the order's window.

The window is cut into intervals; each interval's slice is its share of the profile's volume
over the window (volume spread evenly within a profile bin), released at the interval's start.
Without a profile for the symbol the shares are equal (TWAP). A participation cap and a price
band (`max_deviation` off the market VWAP since the start) hold the schedule back: the first
so that we never exceed our share of the volume, the second so that we do not chase a price
that ran away.
"""

from __future__ import annotations

from fillstream.streams.execution.algorithms.base import (
    SECOND_US,
    Market,
    ParentFacts,
    ScheduledPlan,
    Venue,
    schedule_of,
)
from fillstream.streams.execution.volume_profile import VolumeProfile

__all__ = ["plan", "points"]


def points(
    profile: VolumeProfile | None, start_us: int, duration_us: int, interval_us: int
) -> list[tuple[int, float]]:
    """(offset µs, weight) of each interval's slice over the window."""
    starts = list(range(0, duration_us, interval_us))
    if profile is None:
        return [(offset, 1.0) for offset in starts]
    bins = profile.weights(start_us, start_us + duration_us)
    result = []
    for offset in starts:
        end = min(offset + interval_us, duration_us)
        weight = sum(
            share * (min(end, bin_end) - max(offset, bin_start)) / (bin_end - bin_start)
            for bin_start, bin_end, share in bins
            if bin_start < end and bin_end > offset
        )
        result.append((offset, weight))
    return result


def plan(parent: ParentFacts, market: Market, venue: Venue) -> ScheduledPlan:
    parameters = parent.parameters
    duration = int(parameters["duration_seconds"] * SECOND_US)
    interval = max(1, int(parameters["interval_seconds"] * SECOND_US))
    return ScheduledPlan(
        "vwap",
        parent.start_us,
        schedule_of(
            parent.quantity, points(venue.profile, parent.start_us, duration, interval), venue.lot
        ),
        parent.side,
        participation_cap=parameters.get("participation_rate"),
        volume_at_start=market.volume,
        max_deviation=parameters.get("max_deviation"),
        turnover_at_start=market.turnover,
    )

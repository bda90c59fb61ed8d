"""When DAY orders expire: at the venue's session close.

The close is a time of day in UTC, midnight by default: a DAY order on a 24/7 venue lives until
the end of the UTC day it arrived in. A DAY order expires at the first close strictly after its
arrival, so one arriving after today's close (or exactly at it) lives until tomorrow's. Time
zones, daylight saving and holidays are out of scope: an equity venue gives its close in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

__all__ = ["DAY_US", "SessionRule"]

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class SessionRule:
    close: time = time(0)  # UTC

    def __post_init__(self) -> None:
        if self.close.tzinfo is not None:
            raise ValueError("give the session close as a naive time of day in UTC")

    def day_end(self, arrival_us: int) -> int:
        """When a DAY order arriving at `arrival_us` expires (µs since the epoch, UTC)."""
        close = self.close
        offset = ((close.hour * 60 + close.minute) * 60 + close.second) * 1_000_000
        today = arrival_us - arrival_us % DAY_US + offset + close.microsecond
        return today if today > arrival_us else today + DAY_US

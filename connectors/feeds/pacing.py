"""Replay pacing: hand events over as fast as possible, or at (a multiple of) the pace they
happened.

Full speed suits research and benchmarks; paced replay suits demos and soak tests of the live
pipeline, where timers, rate limits and the clock topic must see time pass. The clock and the
sleep are passed in, so tests run instantly with fakes and the function holds no hidden time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

from fillstream.connectors.feeds.events import MarketEvent

__all__ = ["pace"]


def pace(
    events: Iterable[MarketEvent],
    speed: float | None,
    sleep: Callable[[float], None],
    now: Callable[[], float],
) -> Iterator[MarketEvent]:
    """Yield each event when it is due.

    `speed=None`: at once. Otherwise an event `d` seconds of data time after the first is due
    `d / speed` seconds of `now()` after the first was yielded (speed 2 = twice as fast as it
    happened). Due times are measured from the first event, not from the previous one, so a
    slow consumer catches up instead of drifting; `sleep` is only called for a positive wait.
    """
    if speed is None:
        yield from events
        return
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"speed must be a positive number or None, got {speed}")
    origin: tuple[int, float] | None = None
    for event in events:
        if origin is None:
            origin = (event.timestamp, now())
        data_start, wall_start = origin
        wait = wall_start + (event.timestamp - data_start) / 1_000_000 / speed - now()
        if wait > 0:
            sleep(wait)
        yield event

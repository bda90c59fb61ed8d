"""The benchmark's arithmetic: percentiles by nearest rank, rates over a span, keeping pace.

No Kafka and no pipeline here, so that the API's measures can share it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Percentiles", "kept_pace", "percentile", "rate_over"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q% of the values at or below it, so every
    figure is a latency that was observed (no interpolation between two of them)."""
    if not ordered:
        raise ValueError("no values")
    rank = math.ceil(Fraction(str(q)) * len(ordered) / 100)  # exact: 99.9% of 1,000 is 999
    return ordered[max(rank, 1) - 1]


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p99: float
    p99_9: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        ordered = sorted(values)
        return cls(
            percentile(ordered, 50), percentile(ordered, 99), percentile(ordered, 99.9), ordered[-1]
        )


def rate_over(times: Sequence[float]) -> float:
    """Events per second from the first event to the last: (n - 1) / span, so a fixed delay
    (the latency) does not count against the rate, only a spreading out does."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return math.inf if span <= 0 else (len(times) - 1) / span


def kept_pace(offered: float, ack_rate: float, without_ack: int, threshold: float) -> bool:
    """Acks kept pace: every signal acknowledged within the drain time, and acknowledged at no
    less than `threshold` of the offered rate."""
    return without_ack == 0 and ack_rate >= threshold * offered

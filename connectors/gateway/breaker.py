"""A circuit breaker per venue: stop calling a venue that keeps failing, probe it, resume.

Closed, it lets every call through and counts consecutive failures; at `failure_threshold` it
opens and refuses calls for `open_timeout_us`; then it lets one probe through (half-open). The
probe's success closes it, its failure opens it again for another timeout. A probe that never
reports (its caller died) is given up after one more timeout, and another probe goes.

Disabled (`enabled=False`, a venue's `circuit_breaker_enabled = false`), it still counts
failures for the metrics but never opens: every call goes, and only the retry policy bounds
them.

Only failures that speak of the venue's health count (`ErrorDecision.counts_against_venue`): a
rejected order is an answer from a working venue, and is a success here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(IntEnum):
    """The value is the metrics gauge: 0 closed, 1 half-open, 2 open."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    open_timeout_us: int = 30_000_000
    enabled: bool = True
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    times_opened: int = 0
    _since_us: int = field(default=0, init=False)  # when it opened, or when the probe went

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.open_timeout_us < 0:
            raise ValueError(
                "need failure_threshold >= 1 and open_timeout_us >= 0, not "
                f"{self.failure_threshold} and {self.open_timeout_us}"
            )

    def allow(self, now_us: int) -> bool:
        """May a call go to the venue now? A True in half-open makes that call the probe."""
        if self.state is BreakerState.CLOSED:
            return True
        if now_us - self._since_us < self.open_timeout_us:
            return False
        self.state = BreakerState.HALF_OPEN
        self._since_us = now_us
        return True

    def record_success(self) -> None:
        """Any answer from a working venue, even a late one while open, closes the breaker."""
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0

    def record_failure(self, now_us: int) -> None:
        """A failure while already open (a call that left before it opened) changes nothing."""
        self.consecutive_failures += 1
        if not self.enabled or self.state is BreakerState.OPEN:
            return
        if (
            self.state is BreakerState.HALF_OPEN
            or self.consecutive_failures >= self.failure_threshold
        ):
            self.times_opened += 1
            self.state = BreakerState.OPEN
            self._since_us = now_us

    def metrics(self) -> dict[str, int]:
        """Gauges and counters for the `metrics` topic, labelled by venue in the shell."""
        return {
            "breaker_state": int(self.state),
            "breaker_consecutive_failures": self.consecutive_failures,
            "breaker_opened_total": self.times_opened,
        }

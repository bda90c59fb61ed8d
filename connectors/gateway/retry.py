"""Exponential backoff with full jitter, bounded in attempts and in delay.

Full jitter (a uniform draw over the whole exponential window) spreads the retries of many
callers that failed together, so they do not return to a recovering venue in one wave. The
draw is passed in, so the same draws give the same delays in tests and in replay.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts every call, the first one included; delays are in µs."""

    base_us: int = 100_000
    max_delay_us: int = 5_000_000
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if self.base_us <= 0 or self.max_delay_us < self.base_us:
            raise ValueError(
                f"need 0 < base_us <= max_delay_us, not {self.base_us} and {self.max_delay_us}"
            )
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")

    def window_us(self, failures: int) -> int:
        """The upper bound of the delay after the `failures`-th failed call."""
        if failures < 1:
            raise ValueError(f"failures counts from 1, not {failures}")
        # Past the cap the exponent no longer matters; stopping it keeps the integer small.
        doublings = min(failures - 1, self.max_delay_us.bit_length())
        return min(self.max_delay_us, self.base_us << doublings)

    def delay_us(self, failures: int, draw: float) -> int | None:
        """µs to wait before the next call after `failures` failed ones, or None to give up.

        `draw` is uniform in [0, 1), from the shell's random source.
        """
        if not 0 <= draw < 1:
            raise ValueError(f"draw must be in [0, 1), not {draw}")
        if failures >= self.max_attempts:
            return None
        return int(draw * self.window_us(failures))

"""A token bucket per venue, so the gateway stays inside the venue's request budget.

ccxt states a venue's budget as `rateLimit`, milliseconds per unit of cost (Binance: 50 ms, so
20 units a second), and each endpoint's cost in units. The bucket refills at that pace, holds
at most `capacity` units (the burst it tolerates), and a call takes its cost. A call that
costs more than the bucket holds (Nobitex's wallet list: 30 units) waits for a full bucket and
leaves it in debt, which the next calls wait out: over time the calls still cost what they
should. Arithmetic is exact (fractions), so a wait is never a microsecond short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["TokenBucket"]

_US_PER_S = 1_000_000


@dataclass
class TokenBucket:
    """Starts full at `start_us`. Time is µs; a clock that steps back refills nothing."""

    capacity: Fraction
    refill_per_second: Fraction
    start_us: int
    _tokens: Fraction = field(init=False)
    _at_us: int = field(init=False)

    def __post_init__(self) -> None:
        self.capacity = Fraction(self.capacity)
        self.refill_per_second = Fraction(self.refill_per_second)
        if self.capacity <= 0 or self.refill_per_second <= 0:
            raise ValueError("a bucket needs a positive capacity and refill rate")
        self._tokens = self.capacity
        self._at_us = self.start_us

    @classmethod
    def for_rate_limit(
        cls, rate_limit_ms: float, *, capacity: float, start_us: int, share: float = 1
    ) -> TokenBucket:
        """From ccxt's `rateLimit`, keeping to `share` of the budget (leave room for others)."""
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        per_second = Fraction(1000) / Fraction(rate_limit_ms) * Fraction(share)
        return cls(Fraction(capacity), per_second, start_us)

    def tokens(self, now_us: int) -> Fraction:
        self._refill(now_us)
        return self._tokens

    def try_take(self, now_us: int, cost: Fraction | float = 1) -> int:
        """Take `cost` units and return 0, or take nothing and return the µs to wait first.
        A cost beyond the capacity is taken from a full bucket."""
        need = Fraction(cost)
        if need <= 0:
            raise ValueError(f"cost must be positive, not {cost}")
        self._refill(now_us)
        wanted = min(need, self.capacity)
        if self._tokens >= wanted:
            self._tokens -= need
            return 0
        return math.ceil((wanted - self._tokens) * _US_PER_S / self.refill_per_second)

    def _refill(self, now_us: int) -> None:
        if now_us <= self._at_us:
            return
        gained = self.refill_per_second * (now_us - self._at_us) / _US_PER_S
        self._tokens = min(self.capacity, self._tokens + gained)
        self._at_us = now_us

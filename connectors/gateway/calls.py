"""How every call to one venue goes: the breaker, the bucket, the failure's class, the backoff.

The breaker may refuse a call (`CIRCUIT_OPEN`), the bucket may make it wait (ccxt asks through
`throttle` before each request, with the endpoint's cost), and a failure is classified
(`errors.classify`), counted, logged with the credentials scrubbed, and raised as a
`VenueCallError` that says what to do: retry after a backoff, give up, or, for a create, look
the order up by its client order id. `retrying` does the first for queries and cancels; the
adapter handles creates itself, since a create's retry must be journaled first.

The venue's error policy (`VenuePolicy`) sets the retries and their delay and the breaker.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any, TypeVar

from fillstream.connectors.gateway.config import VenueEntry
from fillstream.connectors.gateway.errors import Disposition, Operation, classify
from fillstream.connectors.gateway.ratelimit import TokenBucket
from fillstream.connectors.gateway.reasons import GatewayReason
from fillstream.connectors.gateway.redact import Redactor

__all__ = ["Sleep", "VenueCallError", "VenueCalls"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class VenueCallError(Exception):
    """A venue call that failed, with the gateway's reason code and what to do about it."""

    def __init__(self, code: GatewayReason, reason: str, disposition: Disposition) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.disposition = disposition


class VenueCalls:
    """One venue's calls and their counts (see the module docstring)."""

    def __init__(
        self,
        venue: VenueEntry,
        redactor: Redactor,
        log: logging.Logger,
        *,
        bucket: TokenBucket,
        clock_us: Callable[[], int],
        sleep: Sleep,
        draw: Callable[[], float],
    ) -> None:
        self.venue = venue.name
        self.redactor = redactor
        self.log = log
        self._bucket = bucket
        self._retry = venue.policy.retry()
        self._breaker = venue.policy.breaker()
        self._clock = clock_us
        self._sleep = sleep
        self._draw = draw
        self._calls = 0
        self._retries = 0
        self._errors: Counter[str] = Counter()

    @property
    def max_attempts(self) -> int:
        """Every call the policy allows one request, the first included."""
        return self._retry.max_attempts

    def metrics(self) -> dict[str, Any]:
        """The breaker's gauges; calls, retries and errors by reason code."""
        return {
            **self._breaker.metrics(),
            "calls_total": self._calls,
            "retries_total": self._retries,
            "errors_total": dict(self._errors),
        }

    async def throttle(self, cost: float | None = None) -> None:
        """ccxt's hook before each request: the request's endpoint cost from the bucket."""
        units = Fraction(str(cost or 1))  # ccxt's float, as written: 0.2 is a fifth
        while (wait_us := self._bucket.try_take(self._clock(), units)) > 0:
            await self._sleep(wait_us / 1_000_000)

    async def retrying(self, operation: Operation, call: Callable[[], Awaitable[T]]) -> T:
        """A query or cancel: retried with backoff while the failure is transient."""
        failures = 0
        while True:
            try:
                return await self.once(operation, call)
            except VenueCallError as failed:
                if failed.disposition is not Disposition.RETRY:
                    raise
                failures += 1
                given_up = await self.back_off(failures, failed)
                if given_up is not None:
                    raise given_up from None

    async def back_off(self, failures: int, failed: VenueCallError) -> VenueCallError | None:
        """Wait out the policy's delay after the `failures`-th transient failure; None to try
        again, or, with no retry left, the error that says so."""
        delay = self._retry.delay_us(failures, self._draw())
        if delay is None:
            reason = GatewayReason.RETRIES_EXHAUSTED.text(attempts=failures, detail=failed.reason)
            return VenueCallError(GatewayReason.RETRIES_EXHAUSTED, reason, Disposition.GIVE_UP)
        self._retries += 1
        await self._sleep(delay / 1_000_000)
        return None

    async def once(
        self,
        operation: Operation,
        call: Callable[[], Awaitable[T]],
        *,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """One call: the breaker, `before` (a journal write), the call; the breaker and the
        counters learn how it went."""
        if not self._breaker.allow(self._clock()):
            reason = GatewayReason.CIRCUIT_OPEN.text(venue=self.venue)
            raise VenueCallError(GatewayReason.CIRCUIT_OPEN, reason, Disposition.GIVE_UP)
        if before is not None:
            await before()
        self._calls += 1
        try:
            result = await call()
        except Exception as error:
            decision = classify(error, operation)
            self._errors[decision.reason.value] += 1
            if decision.counts_against_venue:
                self._breaker.record_failure(self._clock())
            else:
                self._breaker.record_success()
            detail = self.redactor.scrub_error(error)
            level = logging.WARNING if decision.counts_against_venue else logging.INFO
            self.log.log(level, "%s call to %s failed: %s", operation, self.venue, detail)
            reason = decision.reason.text(detail=detail)
            raise VenueCallError(decision.reason, reason, decision.disposition) from None
        self._breaker.record_success()
        return result

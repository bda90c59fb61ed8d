"""Why the gateway refused, or the venue rejected, a slice: one code per cause, with its message.

Instrument rules (tick, lot, minimums) reuse the simulated venue's codes, so a reader matches
one code whichever venue refused; these are the causes only a real venue or the gateway has.
A report's `reason` is `"CODE: message"`.
"""

from __future__ import annotations

from fillstream.schemas.reasons import ReasonCode

__all__ = ["GatewayReason"]


class GatewayReason(ReasonCode):
    """A cause of refusal or rejection at the ccxt gateway; `template` is its message."""

    # Pre-commit: the gateway refuses before anything reaches the venue.
    NOT_A_NEW_ORDER = "NOT_A_NEW_ORDER", "pre-commit checks new orders only, not a {action}"
    NO_REFERENCE_PRICE = (
        "NO_REFERENCE_PRICE",
        "a {order_type} order needs a reference price to check its notional and balance",
    )
    INSUFFICIENT_BALANCE = (
        "INSUFFICIENT_BALANCE",
        "needs {needed} {asset}, {available} available ({free} free, {reserved} reserved)",
    )
    NOT_NATIVE = (
        "NOT_NATIVE",
        "the venue holds no {order_type} orders and the gateway cannot emulate them: {emulation}",
    )
    CIRCUIT_OPEN = "CIRCUIT_OPEN", "the circuit breaker of {venue} is open"
    RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED", "gave up after {attempts} attempts: {detail}"
    # The venue's own account of an order.
    VENUE_REJECTED = "VENUE_REJECTED", "the venue reports the order {status}"
    CLOSED_UNFILLED = (
        "CLOSED_UNFILLED",
        "the venue closed the order with {leaves} of {quantity} unfilled",
    )
    # The venue's answer, classified from the ccxt exception.
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS", "the venue reports insufficient funds: {detail}"
    INVALID_ORDER = "INVALID_ORDER", "the venue refused the order: {detail}"
    DUPLICATE_ORDER = "DUPLICATE_ORDER", "the venue already has this client order id: {detail}"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND", "the venue knows no such order: {detail}"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED", "the venue refused the credentials: {detail}"
    BAD_SYMBOL = "BAD_SYMBOL", "the venue does not list the symbol: {detail}"
    RATE_LIMITED = "RATE_LIMITED", "the venue throttled the request: {detail}"
    CLOCK_SKEW = "CLOCK_SKEW", "the venue refused the request's timestamp: {detail}"
    VENUE_UNAVAILABLE = "VENUE_UNAVAILABLE", "the venue is not answering: {detail}"
    TIMEOUT = "TIMEOUT", "no answer in time: {detail}"
    NETWORK_ERROR = "NETWORK_ERROR", "the request failed in transit: {detail}"
    BAD_RESPONSE = "BAD_RESPONSE", "the venue's answer could not be read: {detail}"
    EXCHANGE_ERROR = "EXCHANGE_ERROR", "the venue refused the request: {detail}"
    UNEXPECTED_ERROR = "UNEXPECTED_ERROR", "the call failed unexpectedly: {detail}"

    def text(self, **facts: object) -> str:
        """The report's `reason`: the code, then the message filled with `facts`."""
        return f"{self.value}: {self.message(**facts)}"

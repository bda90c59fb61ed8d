"""Which ccxt failures may be retried, which never, and which leave an order's fate unknown.

Only the NetworkError family is retried: the request never got a considered answer. Among
those, an explicit refusal (rate limit, DDoS protection, a stale timestamp) proves no order was
placed, but a timeout, an unavailable venue (Binance's 503 means "status unknown"), or a
non-ccxt failure in the middle of a create may have placed one: the gateway must look the order
up by its client order id before sending it again. An answer it could not read is the same
doubt. Everything else (invalid order, insufficient funds, credentials, unknown symbol) is
permanent and never retried.

`counts_against_venue` says whether the failure speaks of the venue's health, for the circuit
breaker: a refused order is the venue working, a timeout is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import ccxt

from fillstream.connectors.gateway.reasons import GatewayReason

__all__ = ["Disposition", "ErrorDecision", "Operation", "classify"]


class Operation(StrEnum):
    """What the failed call did: only a create can leave an order behind unseen."""

    CREATE = "create"
    CANCEL = "cancel"
    QUERY = "query"


class Disposition(StrEnum):
    RETRY = "retry"  # transient: back off and call again
    GIVE_UP = "give_up"  # permanent: never retry, report the reason
    LOOK_UP = "look_up"  # a create's fate is unknown: fetch by client order id first


@dataclass(frozen=True)
class ErrorDecision:
    disposition: Disposition
    reason: GatewayReason
    counts_against_venue: bool


# Explicit refusals of the NetworkError family: nothing was placed, so even a create retries.
_REFUSED: tuple[tuple[type[Exception], GatewayReason], ...] = (
    (ccxt.RateLimitExceeded, GatewayReason.RATE_LIMITED),
    (ccxt.DDoSProtection, GatewayReason.RATE_LIMITED),
    (ccxt.InvalidNonce, GatewayReason.CLOCK_SKEW),
)
# The rest of the family: a create may or may not have reached the book.
_IN_DOUBT: tuple[tuple[type[Exception], GatewayReason], ...] = (
    (ccxt.RequestTimeout, GatewayReason.TIMEOUT),
    (ccxt.ExchangeNotAvailable, GatewayReason.VENUE_UNAVAILABLE),
    (ccxt.NetworkError, GatewayReason.NETWORK_ERROR),
)
# Permanent; the order matters (OrderNotFound is an InvalidOrder, BadSymbol a BadRequest).
_PERMANENT: tuple[tuple[type[Exception], GatewayReason], ...] = (
    (ccxt.OrderNotFound, GatewayReason.ORDER_NOT_FOUND),
    (ccxt.DuplicateOrderId, GatewayReason.DUPLICATE_ORDER),
    (ccxt.InsufficientFunds, GatewayReason.INSUFFICIENT_FUNDS),
    (ccxt.InvalidOrder, GatewayReason.INVALID_ORDER),
    (ccxt.AuthenticationError, GatewayReason.AUTHENTICATION_FAILED),
    (ccxt.BadSymbol, GatewayReason.BAD_SYMBOL),
    (ccxt.BaseError, GatewayReason.EXCHANGE_ERROR),
)


def classify(error: BaseException, operation: Operation) -> ErrorDecision:
    """What to do after `error` ended a call of kind `operation`."""
    for kind, reason in _REFUSED:
        if isinstance(error, kind):
            return ErrorDecision(Disposition.RETRY, reason, counts_against_venue=True)
    for kind, reason in _IN_DOUBT:
        if isinstance(error, kind):
            return _in_doubt(reason, operation)
    if isinstance(error, TimeoutError):  # the shell's own deadline around the call
        return _in_doubt(GatewayReason.TIMEOUT, operation)
    if isinstance(error, ccxt.BadResponse):
        if operation is Operation.CREATE:
            return ErrorDecision(Disposition.LOOK_UP, GatewayReason.BAD_RESPONSE, True)
        return ErrorDecision(Disposition.GIVE_UP, GatewayReason.BAD_RESPONSE, True)
    if operation is Operation.CREATE and _is_duplicate(error):
        # Binance says "Duplicate order sent." as a plain InvalidOrder: the order exists.
        return ErrorDecision(Disposition.LOOK_UP, GatewayReason.DUPLICATE_ORDER, False)
    for kind, reason in _PERMANENT:
        if isinstance(error, kind):
            return ErrorDecision(Disposition.GIVE_UP, reason, counts_against_venue=False)
    if operation is Operation.CREATE:
        return ErrorDecision(Disposition.LOOK_UP, GatewayReason.UNEXPECTED_ERROR, True)
    return ErrorDecision(Disposition.GIVE_UP, GatewayReason.UNEXPECTED_ERROR, True)


def _in_doubt(reason: GatewayReason, operation: Operation) -> ErrorDecision:
    disposition = Disposition.LOOK_UP if operation is Operation.CREATE else Disposition.RETRY
    return ErrorDecision(disposition, reason, counts_against_venue=True)


def _is_duplicate(error: BaseException) -> bool:
    return isinstance(error, ccxt.DuplicateOrderId) or (
        isinstance(error, ccxt.InvalidOrder) and "duplicate order" in str(error).lower()
    )

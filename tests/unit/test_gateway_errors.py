"""The error policy: the real ccxt exceptions, sorted into retry, give up, and look up first."""

from __future__ import annotations

import ccxt
import pytest

from fillstream.connectors.gateway.errors import Disposition, Operation, classify
from fillstream.connectors.gateway.reasons import GatewayReason

RETRY, GIVE_UP, LOOK_UP = Disposition.RETRY, Disposition.GIVE_UP, Disposition.LOOK_UP
CREATE, CANCEL, QUERY = Operation.CREATE, Operation.CANCEL, Operation.QUERY


@pytest.mark.parametrize(
    ("error", "create", "other", "reason"),
    [
        # Explicit refusals of the NetworkError family: nothing placed, retry even a create.
        (ccxt.RateLimitExceeded("-1003"), RETRY, RETRY, GatewayReason.RATE_LIMITED),
        (ccxt.DDoSProtection("429"), RETRY, RETRY, GatewayReason.RATE_LIMITED),
        (ccxt.InvalidNonce("-1021"), RETRY, RETRY, GatewayReason.CLOCK_SKEW),
        # The rest of the family: a create's fate is unknown.
        (ccxt.RequestTimeout("504"), LOOK_UP, RETRY, GatewayReason.TIMEOUT),
        (ccxt.ExchangeNotAvailable("503"), LOOK_UP, RETRY, GatewayReason.VENUE_UNAVAILABLE),
        (ccxt.OnMaintenance("maint"), LOOK_UP, RETRY, GatewayReason.VENUE_UNAVAILABLE),
        (ccxt.NetworkError("reset"), LOOK_UP, RETRY, GatewayReason.NETWORK_ERROR),
        (TimeoutError(), LOOK_UP, RETRY, GatewayReason.TIMEOUT),
        # Permanent: never retried.
        (ccxt.InsufficientFunds("-2010"), GIVE_UP, GIVE_UP, GatewayReason.INSUFFICIENT_FUNDS),
        (ccxt.InvalidOrder("-1013"), GIVE_UP, GIVE_UP, GatewayReason.INVALID_ORDER),
        (ccxt.OrderNotFound("-2013"), GIVE_UP, GIVE_UP, GatewayReason.ORDER_NOT_FOUND),
        (ccxt.AuthenticationError("-2015"), GIVE_UP, GIVE_UP, GatewayReason.AUTHENTICATION_FAILED),
        (ccxt.PermissionDenied("-2015"), GIVE_UP, GIVE_UP, GatewayReason.AUTHENTICATION_FAILED),
        (ccxt.BadSymbol("-1121"), GIVE_UP, GIVE_UP, GatewayReason.BAD_SYMBOL),
        (ccxt.ExchangeError("?"), GIVE_UP, GIVE_UP, GatewayReason.EXCHANGE_ERROR),
        (ccxt.NotSupported("no"), GIVE_UP, GIVE_UP, GatewayReason.EXCHANGE_ERROR),
        # An answer that could not be read: a create may have gone through.
        (ccxt.BadResponse("html"), LOOK_UP, GIVE_UP, GatewayReason.BAD_RESPONSE),
        (ccxt.NullResponse("empty"), LOOK_UP, GIVE_UP, GatewayReason.BAD_RESPONSE),
        # Not from ccxt at all: a create is in doubt, anything else gives up.
        (RuntimeError("boom"), LOOK_UP, GIVE_UP, GatewayReason.UNEXPECTED_ERROR),
    ],
)
def test_policy(
    error: Exception, create: Disposition, other: Disposition, reason: GatewayReason
) -> None:
    assert classify(error, CREATE).disposition is create
    for operation in (CANCEL, QUERY):
        assert classify(error, operation).disposition is other
    assert classify(error, CREATE).reason is reason


def test_only_the_network_error_family_is_ever_retried() -> None:
    def every(kind: type[BaseException]) -> list[type[BaseException]]:
        return [kind, *(sub for child in kind.__subclasses__() for sub in every(child))]

    for kind in every(ccxt.BaseError):
        retried = any(
            classify(kind("x"), operation).disposition is RETRY for operation in Operation
        )
        assert retried == issubclass(kind, ccxt.NetworkError), kind


def test_a_duplicate_client_order_id_means_the_order_exists() -> None:
    duplicate = ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}')
    assert classify(duplicate, CREATE).disposition is LOOK_UP
    assert classify(duplicate, CREATE).reason is GatewayReason.DUPLICATE_ORDER
    assert classify(ccxt.DuplicateOrderId("dup"), CREATE).disposition is LOOK_UP
    assert classify(duplicate, CANCEL).disposition is GIVE_UP


def test_only_health_failures_count_against_the_venue() -> None:
    assert classify(ccxt.RequestTimeout("t"), CREATE).counts_against_venue
    assert classify(ccxt.DDoSProtection("t"), QUERY).counts_against_venue
    assert not classify(ccxt.InsufficientFunds("f"), CREATE).counts_against_venue
    assert not classify(ccxt.InvalidOrder("i"), CREATE).counts_against_venue


def test_a_rejection_reads_as_code_then_message() -> None:
    reason = classify(ccxt.InsufficientFunds("x"), CREATE).reason
    assert reason.text(detail="balance") == (
        "INSUFFICIENT_FUNDS: the venue reports insufficient funds: balance"
    )

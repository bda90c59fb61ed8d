"""The venue capability table and the ccxt arguments of each order type, written out by hand.

Slices are pre-commit's (a buy of 1 BTC/USDT at 100) and arrive on 2024-08-09 at 12:00:00
UTC (1_723_204_800 s), so a DAY order on a 24/7 venue ends at the next UTC midnight,
2024-08-10 00:00:00 (1_723_248_000 s).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.connectors.gateway.capabilities import (
    BASELINE,
    Capabilities,
    OrderArgs,
    cancel_at,
    capabilities_of,
    expiry_reason,
    order_args,
    refusal,
)
from fillstream.schemas.models import OrderType, TimeInForce
from tests.unit.test_gateway_precommit import slice_of

ARRIVAL = 1_723_204_800_000_000
MIDNIGHT = 1_723_248_000_000_000
BINANCE = capabilities_of("binance")


def test_binance_holds_stops_and_icebergs_and_expires_nothing_itself() -> None:
    expected = Capabilities(
        time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
        stops=True,
        iceberg=True,
    )
    assert expected == BINANCE
    assert [BINANCE.native(kind) for kind in OrderType] == [True] * 5


def test_a_venue_not_in_the_table_takes_market_and_limit_orders_only() -> None:
    assert capabilities_of("kraken") is BASELINE
    assert [BASELINE.native(kind) for kind in OrderType] == [True, True, False, False, False]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"order_type": "market", "price": None}, OrderArgs("market", None, {})),
        ({}, OrderArgs("limit", 100.0, {"timeInForce": "GTC"})),
        ({"time_in_force": "IOC"}, OrderArgs("limit", 100.0, {"timeInForce": "IOC"})),
        ({"time_in_force": "FOK"}, OrderArgs("limit", 100.0, {"timeInForce": "FOK"})),
        ({"post_only": True}, OrderArgs("limit", 100.0, {"postOnly": True})),
        # DAY and GTD go as GTC: the gateway cancels them at their expiry
        ({"time_in_force": "DAY"}, OrderArgs("limit", 100.0, {"timeInForce": "GTC"})),
        (
            {"time_in_force": "GTD", "expire_at": MIDNIGHT},
            OrderArgs("limit", 100.0, {"timeInForce": "GTC"}),
        ),
        (
            {"order_type": "stop", "price": None, "stop_price": D("62000")},
            OrderArgs("market", None, {"triggerPrice": 62000.0}),
        ),
        (
            {"order_type": "stop_limit", "stop_price": D("61750"), "time_in_force": "IOC"},
            OrderArgs("limit", 100.0, {"triggerPrice": 61750.0, "timeInForce": "IOC"}),
        ),
        (
            {"order_type": "iceberg", "display_quantity": D("0.1")},
            OrderArgs("limit", 100.0, {"icebergAmount": 0.1, "timeInForce": "GTC"}),
        ),
        (
            {"order_type": "iceberg", "display_quantity": D("0.1"), "post_only": True},
            OrderArgs("limit", 100.0, {"icebergAmount": 0.1, "postOnly": True}),
        ),
    ],
)
def test_each_order_type_goes_to_binance_with_ccxts_unified_params(changes, expected) -> None:
    slice_ = slice_of(**changes)
    assert refusal(slice_, BINANCE, ARRIVAL) is None
    params = {"clientOrderId": "o-sig-1-0"} | expected.params
    assert order_args(slice_, BINANCE) == expected._replace(params=params)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"order_type": "stop", "price": None, "stop_price": D("62000")}, "NOT_NATIVE"),
        ({"order_type": "stop_limit", "stop_price": D("62000")}, "NOT_NATIVE"),
        ({"order_type": "iceberg", "display_quantity": D("0.1")}, "NOT_NATIVE"),
    ],
)
def test_a_venue_without_stops_or_icebergs_refuses_them_naming_the_emulation(changes, code) -> None:
    reason = refusal(slice_of(**changes), BASELINE, ARRIVAL)
    assert reason is not None and reason.startswith(f"{code}: ")
    advice = "iceberg algorithm" if changes["order_type"] == "iceberg" else "held upstream"
    assert advice in reason


@pytest.mark.parametrize(
    ("changes", "now", "code"),
    [
        (
            {"order_type": "iceberg", "display_quantity": D("0.1"), "time_in_force": "IOC"},
            0,
            "INVALID_ORDER",
        ),
        ({"post_only": True, "time_in_force": "IOC"}, 0, "POST_ONLY_CANNOT_REST"),
        ({"post_only": True, "order_type": "market", "price": None}, 0, "POST_ONLY_CANNOT_REST"),
        ({"time_in_force": "GTD", "expire_at": ARRIVAL + 5}, ARRIVAL + 5, "ALREADY_EXPIRED"),
        ({"time_in_force": "DAY"}, MIDNIGHT, "ALREADY_EXPIRED"),
    ],
)
def test_what_binance_cannot_hold_is_refused(changes, now, code) -> None:
    reason = refusal(slice_of(**changes), BINANCE, now or ARRIVAL)
    assert reason is not None and reason.startswith(f"{code}: ")


def test_a_day_or_gtd_order_is_cancelled_by_the_gateway_at_its_expiry() -> None:
    assert cancel_at(slice_of(time_in_force="DAY"), BINANCE) == MIDNIGHT
    assert cancel_at(slice_of(time_in_force="GTD", expire_at=ARRIVAL + 90), BINANCE) == ARRIVAL + 90
    for time_in_force in ("GTC", "IOC", "FOK"):
        assert cancel_at(slice_of(time_in_force=time_in_force), BINANCE) is None
    venue_with_day = Capabilities(time_in_force=frozenset(TimeInForce))
    assert cancel_at(slice_of(time_in_force="DAY"), venue_with_day) is None
    assert order_args(slice_of(time_in_force="DAY"), venue_with_day).params["timeInForce"] == "DAY"
    assert expiry_reason(slice_of(time_in_force="DAY"), D(1)).startswith("SESSION_CLOSED: ")
    assert expiry_reason(slice_of(time_in_force="GTD"), D(1)).startswith("EXPIRE_AT_REACHED: ")


def test_nobitex_takes_an_ioc_as_gtc_cancelled_by_the_gateway_once_answered() -> None:
    """Nobitex orders are good till cancelled: an IOC (every marketable child the executor
    sends) goes as GTC and is due for cancelling at its creation; a FOK cannot be emulated."""
    nobitex = capabilities_of("nobitex")
    ioc = slice_of(time_in_force="IOC", created_at=ARRIVAL)
    assert refusal(ioc, nobitex, ARRIVAL + 1_000_000) is None  # never "already expired"
    assert order_args(ioc, nobitex).params["timeInForce"] == "GTC"
    assert cancel_at(ioc, nobitex) == ARRIVAL
    assert cancel_at(ioc, BINANCE) is None  # Binance ends it itself
    assert expiry_reason(ioc, D("0.4")) == (
        "IOC_REMAINDER: immediate-or-cancel: the remaining 0.4 could not fill on arrival"
    )
    fok = refusal(slice_of(time_in_force="FOK"), nobitex, ARRIVAL)
    assert fok is not None and fok.startswith("INVALID_ORDER: ")


def test_nobitex_emulates_ioc_for_limit_orders_only() -> None:
    """A stop cancelled as soon as it is placed would never trigger: refused; a market order
    ends by itself: nothing to cancel."""
    nobitex = capabilities_of("nobitex")
    stop = slice_of(order_type="stop_limit", stop_price=D("101"), time_in_force="IOC")
    refused = refusal(stop, nobitex, ARRIVAL)
    assert refused is not None and "the venue takes no IOC stop_limit orders" in refused
    market = slice_of(order_type="market", price=None, time_in_force="IOC", created_at=ARRIVAL)
    assert refusal(market, nobitex, ARRIVAL) is None
    assert cancel_at(market, nobitex) is None

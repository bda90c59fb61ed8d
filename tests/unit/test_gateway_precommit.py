"""Pre-commit checks, by hand: BTC/USDT with tick 0.5, lot 0.1, minimum 0.5 and 60 USDT."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from fillstream.connectors.gateway.precommit import (
    Reservation,
    assets_of,
    pre_commit,
    reserved,
)
from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import Side, Slice

BTC = Instrument("binance", "BTC/USDT", D("0.5"), D("0.1"), D("0.5"), D("60"))
FREE = {"USDT": D("1000"), "BTC": D("2")}


def slice_of(**changes: Any) -> Slice:
    fields: dict[str, Any] = {
        "slice_id": "o-sig-1-0",
        "order_id": "o-sig-1",
        "signal_id": "sig-1",
        "account_id": "acct",
        "symbol": "BTC/USDT",
        "venue": "binance",
        "action": "new",
        "sequence": 0,
        "side": "buy",
        "quantity": D("1"),
        "order_type": "limit",
        "price": D("100"),
        "created_at": 1_723_204_800_000_000,
    }
    return Slice(**(fields | changes))


def _reason(slice_: Slice, **kwargs: Any) -> str | None:
    return pre_commit(slice_, kwargs.pop("instrument", BTC), FREE, {}, **kwargs).reason


def test_a_slice_within_rules_and_balance_passes() -> None:
    decision = pre_commit(slice_of(), BTC, FREE, {})
    assert decision.accepted and decision.reason is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"price": D("100.3")},
            "PRICE_OFF_TICK: price 100.3 is not a multiple of the tick size 0.5",
        ),
        (
            {"quantity": D("1.05")},
            "QUANTITY_OFF_LOT: quantity 1.05 is not a multiple of the lot size 0.1",
        ),
        ({"quantity": D("0.4")}, "BELOW_MIN_QUANTITY: quantity 0.4 is below the minimum of 0.5"),
        (
            {"quantity": D("0.5"), "price": D("110")},
            "BELOW_MIN_NOTIONAL: notional 55.0 (at 110) is below the minimum of 60",
        ),
        (
            {"order_type": "stop_limit", "stop_price": D("99.2")},
            "PRICE_OFF_TICK: stop_price 99.2 is not a multiple of the tick size 0.5",
        ),
        (
            {"quantity": D("10.1")},
            "INSUFFICIENT_BALANCE: needs 1010.0 USDT, 1000 available (1000 free, 0 reserved)",
        ),
        (
            {"side": "sell", "quantity": D("2.1")},
            "INSUFFICIENT_BALANCE: needs 2.1 BTC, 2 available (2 free, 0 reserved)",
        ),
        ({"action": "cancel"}, "NOT_A_NEW_ORDER: pre-commit checks new orders only, not a cancel"),
    ],
)
def test_each_rule_refuses_with_its_reason(changes: dict[str, Any], reason: str) -> None:
    assert _reason(slice_of(**changes)) == reason


def test_an_unlisted_symbol_is_refused() -> None:
    assert _reason(slice_of(), instrument=None) == (
        "UNKNOWN_SYMBOL: BTC/USDT is not listed on binance"
    )


def test_a_market_order_is_priced_at_the_reference() -> None:
    market = slice_of(order_type="market", price=None, quantity=D("9"))
    assert _reason(market) == (
        "NO_REFERENCE_PRICE: a market order needs a reference price to check its notional"
        " and balance"
    )
    assert _reason(market, reference_price=D("111")) is None
    assert _reason(market, reference_price=D("112")) == (
        "INSUFFICIENT_BALANCE: needs 1008 USDT, 1000 available (1000 free, 0 reserved)"
    )


def test_reservations_of_unacknowledged_orders_reduce_what_is_available() -> None:
    held = reserved(
        [
            Reservation("BTC/USDT", Side.BUY, D("3"), D("100.5")),
            Reservation("ETH/USDT", Side.BUY, D("1"), D("50")),
            Reservation("BTC/USDT", Side.SELL, D("1.5"), D("101")),
        ]
    )
    assert held == {"USDT": D("351.5"), "BTC": D("1.5")}
    assert pre_commit(slice_of(quantity=D("6.4")), BTC, FREE, held).accepted
    assert pre_commit(slice_of(quantity=D("6.5")), BTC, FREE, held).reason == (
        "INSUFFICIENT_BALANCE: needs 650.0 USDT, 648.5 available (1000 free, 351.5 reserved)"
    )
    sell = slice_of(side="sell", quantity=D("0.6"))
    assert pre_commit(sell, BTC, FREE, held).reason == (
        "INSUFFICIENT_BALANCE: needs 0.6 BTC, 0.5 available (2 free, 1.5 reserved)"
    )


def test_assets_of_ccxt_symbols() -> None:
    assert assets_of("BTC/USDT") == ("BTC", "USDT")
    assert assets_of("BTC/USDT:USDT") == ("BTC", "USDT")
    with pytest.raises(ValueError):
        assets_of("IBM")

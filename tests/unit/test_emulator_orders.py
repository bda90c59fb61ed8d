"""Binance order parameters in, venue slices out: the translation, without any HTTP."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.connectors.emulator.errors import BinanceError
from fillstream.connectors.emulator.orders import parse_order_request, text, to_slice
from fillstream.schemas.models import OrderType, Side, TimeInForce

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "IOC",
    "quantity": "0.01000000",
    "price": "61000.10",
    "newClientOrderId": "o-sig-1-0",
}


def slice_of(params: dict[str, str]):
    request = parse_order_request(params)
    return to_slice(
        request,
        slice_id="7.1",
        order_id="7",
        account="acct-1",
        symbol="BTC/USDT",
        venue="binance",
        quantity=request.quantity,
        sequence=1,
        at=1_704_067_200_000_000,
    )


def test_a_limit_order_becomes_a_limit_slice_with_its_time_in_force():
    request = parse_order_request(LIMIT)
    assert (request.quantity, request.price, request.client_order_id) == (
        D("0.01"),
        D("61000.10"),
        "o-sig-1-0",
    )
    assert request.response_type == "FULL"
    assert not request.rests  # IOC
    slice_ = slice_of(LIMIT)
    assert (slice_.order_type, slice_.side, slice_.time_in_force) == (
        OrderType.LIMIT,
        Side.BUY,
        TimeInForce.IOC,
    )
    assert (slice_.price, slice_.post_only) == (D("61000.10"), False)


def test_limit_maker_is_a_post_only_gtc_limit_and_market_has_no_price():
    maker = slice_of({**LIMIT, "type": "LIMIT_MAKER", "timeInForce": ""})
    assert (maker.order_type, maker.time_in_force, maker.post_only) == (
        OrderType.LIMIT,
        TimeInForce.GTC,
        True,
    )
    assert parse_order_request({**LIMIT, "type": "LIMIT_MAKER"}).response_type == "ACK"
    market = slice_of({**LIMIT, "type": "MARKET", "side": "SELL"})
    assert (market.order_type, market.side, market.price) == (OrderType.MARKET, Side.SELL, None)
    assert parse_order_request({**LIMIT, "type": "MARKET"}).price is None


def test_stop_loss_orders_become_stops_that_wait_for_their_stop_price():
    stop = slice_of({**LIMIT, "type": "STOP_LOSS", "timeInForce": "", "stopPrice": "61500.5"})
    assert (stop.order_type, stop.price, stop.stop_price) == (OrderType.STOP, None, D("61500.5"))
    assert not parse_order_request({**LIMIT, "type": "STOP_LOSS", "stopPrice": "1"}).rests
    params = {**LIMIT, "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "stopPrice": "61500.5"}
    stop_limit = slice_of(params)
    assert (stop_limit.order_type, stop_limit.price, stop_limit.stop_price) == (
        OrderType.STOP_LIMIT,
        D("61000.10"),
        D("61500.5"),
    )
    assert parse_order_request(params).rests
    assert parse_order_request(params).response_type == "ACK"  # Binance's default for stops


def test_iceberg_qty_makes_a_gtc_limit_an_iceberg_showing_that_much():
    params = {**LIMIT, "timeInForce": "GTC", "icebergQty": "0.002"}
    iceberg = slice_of(params)
    assert (iceberg.order_type, iceberg.display_quantity, iceberg.quantity) == (
        OrderType.ICEBERG,
        D("0.002"),
        D("0.01"),
    )
    maker = slice_of({**params, "type": "LIMIT_MAKER"})
    assert (maker.order_type, maker.post_only) == (OrderType.ICEBERG, True)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"symbol": ""}, -1102),
        ({"side": "HOLD"}, -1117),
        ({"type": "TAKE_PROFIT"}, -1116),
        ({"type": "STOP_LOSS"}, -1102),  # no stopPrice
        ({"type": "STOP_LOSS_LIMIT", "stopPrice": "61000", "timeInForce": ""}, -1102),
        ({"icebergQty": "0.002"}, -1130),  # an iceberg must be GTC, this one is IOC
        ({"type": "MARKET", "icebergQty": "0.002"}, -1106),
        ({"timeInForce": "GTC", "icebergQty": "0"}, -1013),
        ({"timeInForce": "GTX"}, -1115),
        ({"timeInForce": ""}, -1102),
        ({"price": ""}, -1102),
        ({"quantity": "a lot"}, -1100),
        ({"quantity": "-1"}, -1013),
        ({"newClientOrderId": "x" * 37}, -1100),
        ({"newClientOrderId": "no spaces"}, -1100),
        ({"newOrderRespType": "ALL"}, -1100),
    ],
)
def test_a_malformed_order_is_refused_with_binances_code(change, code):
    with pytest.raises(BinanceError) as refused:
        parse_order_request({**LIMIT, **change})
    assert refused.value.code == code


def test_amounts_go_out_plain_and_without_trailing_zeros():
    assert [text(D(value)) for value in ("618.2800000000", "1E+2", "0.00000001", "0E-10")] == [
        "618.28",
        "100",
        "0.00000001",
        "0",
    ]

"""The emulated exchange in process, on the synthetic market: balances, refusals, order faults."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.connectors.emulator import Account, Exchange
from fillstream.connectors.emulator.errors import BinanceError
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.domain.instruments import Instrument
from fillstream.domain.venues import VenueConfig

BTC_USDT = Instrument("binance", "BTC/USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
VENUE = VenueConfig("binance", maker_fee=D("0.001"), taker_fee=D("0.002"))
PARAMS = SyntheticParams(instrument=BTC_USDT, duration_us=10_000_000)
SECOND = 1_000_000
KEY = "key-1"


def exchange() -> Exchange:
    account = Account("acct-1", KEY, "secret", {"USDT": D(10_000), "BTC": D(1)})
    return Exchange(VENUE, [BTC_USDT], synthetic_events(PARAMS), [account], start=PARAMS.start)


def order(**fields: str) -> dict[str, str]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"} | fields


def limit(price: str, **fields: str) -> dict[str, str]:
    return order(**({"type": "LIMIT", "timeInForce": "GTC", "price": price} | fields))


def balances(ex: Exchange) -> dict[str, tuple[D, D]]:
    rows = ex.account(KEY)["balances"]
    return {row["asset"]: (D(row["free"]), D(row["locked"])) for row in rows}


def touch(ex: Exchange) -> tuple[D, D]:
    depth = ex.depth({"symbol": "BTCUSDT", "limit": "1"})
    return D(depth["bids"][0][0]), D(depth["asks"][0][0])


def refusal(call, *args) -> tuple[int, str]:
    with pytest.raises(BinanceError) as refused:
        call(*args)
    return refused.value.code, refused.value.msg


def test_exchange_info_carries_the_instrument_rules():
    (symbol,) = exchange().exchange_info()["symbols"]
    filters = {entry["filterType"]: entry for entry in symbol["filters"]}
    assert (symbol["symbol"], symbol["baseAsset"], symbol["quoteAsset"]) == (
        "BTCUSDT",
        "BTC",
        "USDT",
    )
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01"
    assert (filters["LOT_SIZE"]["stepSize"], filters["LOT_SIZE"]["minQty"]) == ("0.00001",) * 2
    assert filters["NOTIONAL"]["minNotional"] == "5"


def test_a_market_buy_pays_quote_and_receives_base_less_commission():
    ex = exchange()
    placed = ex.create_order(KEY, order())
    assert placed["status"] == "FILLED"
    cost = D(placed["cummulativeQuoteQty"])
    commission = sum(D(fill["commission"]) for fill in placed["fills"])
    assert commission == D("0.01") * D("0.002")  # taker, in BTC
    assert {fill["commissionAsset"] for fill in placed["fills"]} == {"BTC"}
    assert balances(ex) == {
        "BTC": (1 + D("0.01") - commission, 0),
        "USDT": (10_000 - cost, 0),
    }


def test_a_resting_order_locks_what_it_may_spend_until_it_ends():
    ex = exchange()
    bid, _ = touch(ex)
    price = bid - 100
    ex.create_order(KEY, limit(str(price), newClientOrderId="rest"))
    assert balances(ex)["USDT"] == (10_000 - D("0.01") * price, D("0.01") * price)
    cancelled = ex.cancel_order(KEY, {"symbol": "BTCUSDT", "origClientOrderId": "rest"})
    assert (cancelled["status"], cancelled["origClientOrderId"]) == ("CANCELED", "rest")
    assert balances(ex)["USDT"] == (10_000, 0)
    assert refusal(ex.cancel_order, KEY, {"symbol": "BTCUSDT", "origClientOrderId": "rest"}) == (
        -2011,
        "Unknown order sent.",
    )


def test_refusals_speak_binances_codes():
    ex = exchange()
    bid, ask = touch(ex)
    assert refusal(ex.create_order, KEY, limit("9000", quantity="2")) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    assert refusal(ex.create_order, KEY, order(side="SELL", quantity="2"))[0] == -2010
    ex.create_order(KEY, limit(str(bid - 100), newClientOrderId="twice"))
    assert refusal(ex.create_order, KEY, limit(str(bid - 100), newClientOrderId="twice")) == (
        -2010,
        "Duplicate order sent.",
    )
    assert refusal(ex.create_order, KEY, limit(str(bid - D("0.001")))) == (
        -1013,
        "Filter failure: PRICE_FILTER",
    )
    assert refusal(ex.create_order, KEY, limit(str(bid), quantity="0.000015"))[1].endswith(
        "LOT_SIZE"
    )
    assert refusal(ex.create_order, KEY, limit(str(bid), quantity="0.00001"))[1].endswith(
        "NOTIONAL"
    )
    assert refusal(ex.create_order, KEY, limit(str(ask), type="LIMIT_MAKER")) == (
        -2010,
        "Order would immediately match and take.",
    )
    assert refusal(ex.create_order, KEY, order(symbol="ETHUSDT"))[0] == -1121
    assert refusal(ex.create_order, "no such key", order())[0] == -2015
    assert refusal(ex.get_order, KEY, {"symbol": "BTCUSDT", "orderId": "999"})[0] == -2013
    assert len(ex.open_orders(KEY, {})) == 1


def test_a_capped_resting_order_sends_its_rest_when_the_market_moves():
    ex = exchange()
    _, ask = touch(ex)
    ex.cap_fills(D("0.004"))
    placed = ex.create_order(KEY, limit(str(ask + 50), newClientOrderId="capped"))
    assert (placed["status"], placed["executedQty"]) == ("PARTIALLY_FILLED", "0.004")
    ex.advance_to(ex.now)  # the same instant: the rest still waits
    lookup = {"symbol": "BTCUSDT", "origClientOrderId": "capped"}
    assert ex.get_order(KEY, lookup)["executedQty"] == "0.004"
    ex.advance_to(ex.now + SECOND)
    assert ex.get_order(KEY, lookup)["status"] == "FILLED"
    trades = ex.my_trades(KEY, {"symbol": "BTCUSDT"})
    assert sum(D(trade["qty"]) for trade in trades) == D("0.01")
    assert len({trade["id"] for trade in trades}) == len(trades)
    assert balances(ex)["USDT"][1] == 0  # the lock at the limit price came back


def test_a_capped_ioc_or_fok_order_expires_with_its_rest():
    ex = exchange()
    _, ask = touch(ex)
    ex.cap_fills(D("0.004"), orders=2)
    ioc = ex.create_order(KEY, limit(str(ask + 50), timeInForce="IOC"))
    assert (ioc["status"], ioc["executedQty"]) == ("EXPIRED", "0.004")
    fok = ex.create_order(KEY, limit(str(ask + 50), timeInForce="FOK"))
    assert (fok["status"], fok["executedQty"]) == ("EXPIRED", "0")
    assert balances(ex)["USDT"][1] == 0


def test_a_lost_order_is_forgotten_and_its_lock_released():
    ex = exchange()
    bid, _ = touch(ex)
    placed = ex.create_order(KEY, limit(str(bid - 100), newClientOrderId="gone"))
    ex.lose_order("gone")
    by_id = {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}
    assert refusal(ex.get_order, KEY, by_id)[0] == -2013
    assert refusal(ex.cancel_order, KEY, by_id)[0] == -2011
    assert ex.open_orders(KEY, {"symbol": "BTCUSDT"}) == []
    assert balances(ex)["USDT"] == (10_000, 0)


def test_the_ack_response_type_answers_ids_only():
    placed = exchange().create_order(KEY, order(newOrderRespType="ACK"))
    assert set(placed) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}

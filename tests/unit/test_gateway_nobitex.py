"""The Nobitex exchange's pure parts: markets, orders, trades, balances and errors parsed from
answers shaped as Nobitex's documentation shows them, and the order requests it builds."""

from __future__ import annotations

from decimal import Decimal as D

import ccxt
import pytest

from fillstream.connectors.gateway.config import parse_venues
from fillstream.connectors.gateway.errors import Disposition, Operation, classify
from fillstream.connectors.gateway.markets import instrument_from_market
from fillstream.connectors.gateway.nobitex import Nobitex, error_for
from fillstream.connectors.gateway.reasons import GatewayReason

# `v2/options`, cut to what the markets come from.
OPTIONS = {
    "status": "ok",
    "nobitex": {
        "minOrders": {"rls": "3000000", "usdt": "11", "2": "3000000", "13": "11"},
        "amountPrecisions": {"BTCIRT": "0.000001", "BTCUSDT": "0.000001", "ETHIRT": "0.00001"},
        "pricePrecisions": {"BTCIRT": "10", "BTCUSDT": "0.01", "ETHIRT": "10"},
    },
}


@pytest.fixture
def nobitex() -> Nobitex:
    client = Nobitex({"apiKey": "tok-3b1f9c"})
    client.set_markets(client.parse_markets_from_options(OPTIONS))
    return client


def test_markets_come_from_the_options_with_irt_in_tomans(nobitex):
    assert sorted(nobitex.markets) == ["BTC/IRT", "BTC/USDT", "ETH/IRT"]
    irt = nobitex.markets["BTC/IRT"]
    assert (irt["id"], irt["baseId"], irt["quoteId"]) == ("BTCIRT", "btc", "rls")
    rule = instrument_from_market("nobitex", irt, nobitex.precisionMode)
    # 10 rials a tick, 3,000,000 rials at least: 1 and 300,000 tomans.
    assert (rule.tick_size, rule.lot_size, rule.min_notional) == (D(1), D("0.000001"), D(300_000))
    usdt = instrument_from_market("nobitex", nobitex.markets["BTC/USDT"], nobitex.precisionMode)
    assert (usdt.tick_size, usdt.min_notional) == (D("0.01"), D(11))
    assert nobitex.markets["BTC/USDT"]["quoteId"] == "usdt"


def test_an_order_answer_becomes_a_unified_order(nobitex):
    # The stop-loss example of `market/orders/add`, on BTC-RLS.
    answer = {
        "id": 26,
        "type": "sell",
        "execution": "StopMarket",
        "market": "BTC-RLS",
        "srcCurrency": "Bitcoin",
        "dstCurrency": "\ufdfc",
        "price": "market",
        "amount": "0.064",
        "param1": "47500",
        "totalPrice": "0",
        "totalOrderPrice": "3008000",
        "matchedAmount": "0",
        "unmatchedAmount": "0.064",
        "status": "Inactive",
        "partial": False,
        "fee": 0,
        "created_at": "2022-01-17T12:14:18.005896+00:00",
        "averagePrice": "0",
        "clientOrderId": "order1",
    }
    order = nobitex.parse_order(answer)
    assert order["symbol"] == "BTC/IRT"
    assert (order["id"], order["clientOrderId"], order["status"]) == ("26", "order1", "open")
    assert (order["type"], order["side"], order["price"]) == ("market", "sell", None)
    assert order["triggerPrice"] == 4750  # 47,500 rials
    assert (order["amount"], order["filled"], order["remaining"]) == (0.064, 0, 0.064)
    assert order["timestamp"] == 1642421658005
    assert order["average"] is None


def test_a_partly_filled_order_of_the_status_answer(nobitex):
    # `market/orders/status` names no market: the caller's symbol gives it.
    answer = {
        "unmatchedAmount": "0.0100000000",
        "fee": "0.0000300000",
        "matchedAmount": "0.0200000000",
        "partial": True,
        "price": "6183000000.0000000000",
        "created_at": "2018-11-28T12:25:22.696029+00:00",
        "id": 5684,
        "srcCurrency": "Bitcoin",
        "totalPrice": "123660000.00000000000000000000",
        "type": "buy",
        "execution": "Limit",
        "dstCurrency": "\ufdfc",
        "status": "Active",
        "amount": "0.0300000000",
        "averagePrice": "6183000000",
        "clientOrderId": "o-s1-0",
    }
    order = nobitex.parse_order(answer, nobitex.market("BTC/IRT"))
    assert (order["status"], order["type"], order["timeInForce"]) == ("open", "limit", "GTC")
    assert (order["price"], order["average"]) == (618_300_000, 618_300_000)
    assert (order["filled"], order["remaining"]) == (0.02, 0.01)
    assert order["fee"] == {"cost": 0.00003, "currency": "BTC"}  # a buy pays in what it gets
    assert nobitex.parse_order({**answer, "status": "Done"}, nobitex.market("BTC/IRT"))[
        "status"
    ] == ("closed")
    assert nobitex.parse_order({**answer, "status": "Canceled"})["status"] == "canceled"


def test_the_accounts_trades_and_the_public_tape(nobitex):
    mine = {
        "id": 123412,
        "orderId": 1231222,
        "srcCurrency": "Bitcoin",
        "dstCurrency": "\ufdfc",
        "market": "BTC-RLS",
        "timestamp": "2022-07-05T09:57:38.560820+00:00",
        "type": "sell",
        "price": "6183000000",
        "amount": "0.01",
        "total": "61830000",
        "fee": "92745",
    }
    trade = nobitex.parse_trade(mine)
    assert (trade["id"], trade["order"], trade["symbol"]) == ("123412", "1231222", "BTC/IRT")
    assert (trade["price"], trade["amount"], trade["cost"]) == (618_300_000, 0.01, 6_183_000)
    assert trade["fee"] == {"cost": 9274.5, "currency": "IRT"}  # a sell pays in the quote
    assert trade["timestamp"] == 1657015058560

    public = {"time": 1588689360464, "price": "61830.5", "volume": "0.002", "type": "buy"}
    printed = nobitex.parse_trade(public, nobitex.market("BTC/USDT"))
    assert (printed["price"], printed["amount"], printed["side"]) == (61830.5, 0.002, "buy")
    assert (printed["id"], printed["timestamp"]) == (None, 1588689360464)


def test_the_book_the_ticker_and_the_wallets_in_unified_units(nobitex):
    book = nobitex.parse_nobitex_order_book(
        {
            "status": "ok",
            "lastUpdate": 1644991756704,
            "lastTradePrice": "35650565900",
            "asks": [["1476091000", "1.016"], ["1479700000", "0.2561"]],
            "bids": [["1470001120", "0.126571"], ["1470000000", "0.818994"]],
        },
        nobitex.market("BTC/IRT"),
        limit=1,
    )
    assert (book["asks"], book["bids"]) == ([[147609100, 1.016]], [[147000112, 0.126571]])
    assert book["timestamp"] == 1644991756704

    stats = {
        "isClosed": False,
        "bestSell": "749976360",
        "bestBuy": "733059600",
        "volumeSrc": "0.2929480000",
        "volumeDst": "212724856.0678640000",
        "latest": "750350000",
        "dayLow": "686021860",
        "dayHigh": "750350000",
        "dayOpen": "686021860",
        "dayClose": "750350000",
        "dayChange": "9.38",
    }
    ticker = nobitex.parse_ticker(stats, nobitex.market("BTC/IRT"))
    assert (ticker["bid"], ticker["ask"], ticker["last"]) == (73305960, 74997636, 75035000)

    balance = nobitex.parse_nobitex_balance(
        {
            "status": "ok",
            "wallets": [
                {"currency": "rls", "balance": "746212980", "blockedBalance": "6212980",
                 "activeBalance": "740000000"},
                {"currency": "btc", "balance": "0.5", "blockedBalance": "0",
                 "activeBalance": "0.5"},
            ],
        }
    )  # fmt: skip
    assert balance["IRT"] == {"free": 74_000_000, "used": 621_298, "total": 74_621_298}
    assert balance["free"]["BTC"] == 0.5


def test_order_requests_in_nobitexs_units(nobitex):
    irt = nobitex.market("BTC/IRT")
    limit = nobitex.order_request(
        irt, "limit", "buy", 0.0123456789, 618_300_000.4, {"clientOrderId": "o-s1-0"}
    )
    assert limit == {
        "type": "buy",
        "execution": "limit",
        "srcCurrency": "btc",
        "dstCurrency": "rls",
        "amount": "0.012345",  # truncated to the lot
        "price": "6183000000",  # rounded to the toman, then in rials
        "clientOrderId": "o-s1-0",
        "pro": "yes",
    }
    market = nobitex.order_request(nobitex.market("BTC/USDT"), "market", "sell", 0.5, None, {})
    assert market == {
        "type": "sell",
        "execution": "market",
        "srcCurrency": "btc",
        "dstCurrency": "usdt",
        "amount": "0.5",
    }
    stop = nobitex.order_request(irt, "limit", "sell", 0.01, 600_000_000, {"triggerPrice": 6e8})
    assert (stop["execution"], stop["price"], stop["stopPrice"]) == (
        "stop_limit",
        "6000000000",
        "6000000000",
    )
    stop_market = nobitex.order_request(irt, "market", "sell", 0.01, None, {"stopPrice": 6e8})
    assert stop_market["execution"] == "stop_market"


@pytest.mark.parametrize(
    "params", [{"timeInForce": "IOC"}, {"timeInForce": "FOK"}, {"postOnly": True}]
)
def test_what_nobitex_cannot_express_is_refused_before_sending(nobitex, params):
    with pytest.raises(ccxt.InvalidOrder):
        nobitex.order_request(nobitex.market("BTC/USDT"), "limit", "buy", 0.01, 60_000, params)
    # Good-till-cancelled, the gateway's plain limit, is Nobitex's only kind.
    request = nobitex.order_request(
        nobitex.market("BTC/USDT"), "limit", "buy", 0.01, 60_000, {"timeInForce": "GTC"}
    )
    assert "timeInForce" not in request


@pytest.mark.parametrize(
    ("status", "answer", "error", "create", "reason"),
    [
        (200, {"status": "failed", "code": "OverValueOrder", "message": "..."},
         ccxt.InsufficientFunds, Disposition.GIVE_UP, GatewayReason.INSUFFICIENT_FUNDS),
        (200, {"status": "failed", "code": "SmallOrder", "message": "..."},
         ccxt.InvalidOrder, Disposition.GIVE_UP, GatewayReason.INVALID_ORDER),
        (200, {"status": "failed", "code": "DuplicateClientOrderId", "message": "..."},
         ccxt.DuplicateOrderId, Disposition.LOOK_UP, GatewayReason.DUPLICATE_ORDER),
        (200, {"status": "failed", "code": "InvalidMarketPair", "message": "..."},
         ccxt.BadSymbol, Disposition.GIVE_UP, GatewayReason.BAD_SYMBOL),
        (200, {"status": "failed", "code": "TradingUnavailable", "message": "..."},
         ccxt.PermissionDenied, Disposition.GIVE_UP, GatewayReason.AUTHENTICATION_FAILED),
        (404, {"status": "failed", "code": "NotFound", "message": "..."},
         ccxt.OrderNotFound, Disposition.GIVE_UP, GatewayReason.ORDER_NOT_FOUND),
        (429, {"status": "failed", "code": "TooManyRequests", "backOff": 12, "limit": 60},
         ccxt.RateLimitExceeded, Disposition.RETRY, GatewayReason.RATE_LIMITED),
        (401, {"detail": "Invalid token."},
         ccxt.AuthenticationError, Disposition.GIVE_UP, GatewayReason.AUTHENTICATION_FAILED),
        (200, {"status": "failed", "code": "SomethingNew", "message": "..."},
         ccxt.ExchangeError, Disposition.GIVE_UP, GatewayReason.EXCHANGE_ERROR),
    ],
)  # fmt: skip
def test_nobitexs_refusals_meet_the_gateways_error_policy(status, answer, error, create, reason):
    raised = error_for(status, answer)
    assert raised is error
    decision = classify(raised("nobitex"), Operation.CREATE)
    assert (decision.disposition, decision.reason) == (create, reason)


@pytest.mark.parametrize(
    ("status", "answer"), [(200, {"status": "ok", "order": {}}), (503, "<html>"), (502, None)]
)
def test_what_is_no_nobitex_refusal_is_left_to_the_http_status(status, answer):
    assert error_for(status, answer) is None


def test_a_venue_table_may_name_nobitex():
    table = {
        "venues": {
            "nobitex": {
                "exchange": "nobitex",
                "symbols": ["BTC/IRT"],
                "api_key_env": "NOBITEX_TOKEN",
                "secret_env": "NOBITEX_SECRET",
            }
        }
    }
    assert parse_venues(table)["nobitex"].exchange == "nobitex"
    table["venues"]["nobitex"]["exchange"] = "nobitexx"
    with pytest.raises(ValueError, match="not a ccxt exchange id"):
        parse_venues(table)

"""The Nobitex ccxt client over real HTTP against the emulator's Nobitex dialect.

The emulator replays the recorded BTCUSDT capture from a second after its book snapshot (BTC
near 61,830 USDT) and also lists BTC/IRT, a market without recorded data, to show the rial
wire and the toman client meet. No Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal as D

import aiohttp
import ccxt
import pytest

from fillstream.config import load_config
from fillstream.connectors.emulator import Account, Exchange, RunningEmulator, ccxt_settings, serve
from fillstream.connectors.gateway.nobitex import Nobitex
from fillstream.domain.instruments import Instrument
from tests.integration.test_gateway_adapter import T0, capture

TOKEN = "nbx-token-5e0a7d21c4"
IRT = Instrument("binance", "BTC/IRT", D(1), D("0.000001"), D("0.000001"), D(300_000))

Scenario = Callable[[RunningEmulator, Nobitex], Awaitable[None]]


def nobitex_exchange() -> Exchange:
    """The emulated exchange of these tests: BTC/USDT on the capture, BTC/IRT without data."""
    config = load_config()
    return Exchange(
        config.venues["binance"],
        [*config.instruments.instruments.values(), IRT],
        capture(),
        [Account("acct-1", TOKEN, "", {"USDT": D(100_000), "BTC": D(1), "IRT": D(900_000_000)})],
        start=T0,
    )


def run(scenario: Scenario, token: str = TOKEN) -> None:
    async def main() -> None:
        async with serve(nobitex_exchange(), dialect="nobitex") as running:
            client = Nobitex(ccxt_settings(running.url, token, "", "nobitex"))
            try:
                await scenario(running, client)
            finally:
                await client.close()

    asyncio.run(main())


def test_markets_balance_book_and_ticker():
    async def scenario(running, client):
        markets = await client.load_markets()
        assert {"BTC/USDT", "BTC/IRT"} <= set(markets)
        assert markets["BTC/IRT"]["precision"]["price"] == 1  # 10 rials on the wire
        assert markets["BTC/IRT"]["limits"]["cost"]["min"] == 300_000
        balance = await client.fetch_balance()
        assert (balance["free"]["USDT"], balance["free"]["BTC"]) == (100_000, 1)
        assert balance["free"]["IRT"] == 900_000_000  # the wire said 9,000,000,000 rials
        book = await client.fetch_order_book("BTC/USDT", limit=5)
        assert 0 < book["bids"][0][0] < book["asks"][0][0]
        ticker = await client.fetch_ticker("BTC/USDT")
        assert (ticker["bid"], ticker["ask"]) == (book["bids"][0][0], book["asks"][0][0])
        trades = await client.fetch_trades("BTC/USDT")
        assert trades and all(trade["side"] in ("buy", "sell") for trade in trades)

    run(scenario)


def test_a_limit_order_placed_looked_up_and_cancelled_in_tomans():
    async def scenario(running, client):
        await client.load_markets()
        placed = await client.create_order(
            "BTC/IRT", "limit", "buy", 0.5, 600_000_000, {"clientOrderId": "s-irt-1"}
        )
        assert (placed["status"], placed["price"], placed["clientOrderId"]) == (
            "open",
            600_000_000,
            "s-irt-1",
        )
        wallets = running.exchange.account(TOKEN)["balances"]
        locked = {row["asset"]: row["locked"] for row in wallets}
        assert locked["IRT"] == "300000000"  # 0.5 × 600,000,000 tomans, in the core's units
        found = await client.fetch_order(None, "BTC/IRT", {"clientOrderId": "s-irt-1"})
        assert (found["id"], found["status"]) == (placed["id"], "open")
        (listed,) = await client.fetch_open_orders("BTC/IRT")
        assert listed["id"] == placed["id"]

        cancelled = await client.cancel_order(None, "BTC/IRT", {"clientOrderId": "s-irt-1"})
        assert (cancelled["id"], cancelled["status"]) == (placed["id"], "canceled")
        assert await client.fetch_open_orders("BTC/IRT") == []
        # No longer open: `orders/status` forgets the client id, the orders list still has it.
        again = await client.fetch_order(None, "BTC/IRT", {"clientOrderId": "s-irt-1"})
        assert (again["id"], again["status"]) == (placed["id"], "canceled")
        with pytest.raises(ccxt.OrderNotFound):
            await client.cancel_order(placed["id"], "BTC/IRT")
        with pytest.raises(ccxt.OrderNotFound):
            await client.fetch_order(None, "BTC/IRT", {"clientOrderId": "never-sent"})

    run(scenario)


def test_a_market_order_fills_and_its_trades_carry_the_fee():
    async def scenario(running, client):
        await client.load_markets()
        order = await client.create_order(
            "BTC/USDT", "market", "buy", 0.01, None, {"clientOrderId": "s-mkt-1"}
        )
        assert (order["status"], order["filled"]) == ("closed", 0.01)
        trades = await client.fetch_my_trades("BTC/USDT", params={"orderId": order["id"]})
        assert sum(D(str(trade["amount"])) for trade in trades) == D("0.01")
        assert {trade["fee"]["currency"] for trade in trades} == {"BTC"}
        balance = await client.fetch_balance()
        assert balance["total"]["BTC"] == pytest.approx(1 + 0.01 * 0.999)

    run(scenario)


def test_refusals_arrive_as_ccxts_exceptions():
    async def scenario(running, client):
        await client.load_markets()
        with pytest.raises(ccxt.InsufficientFunds):
            await client.create_order("BTC/USDT", "limit", "buy", 5, 60_000)
        with pytest.raises(ccxt.InvalidOrder):
            await client.create_order("BTC/USDT", "limit", "buy", 0.00001, 60_000)  # SmallOrder
        await client.create_order("BTC/USDT", "limit", "buy", 0.01, 50_000, {"clientOrderId": "d"})
        with pytest.raises(ccxt.DuplicateOrderId):
            await client.create_order(
                "BTC/USDT", "limit", "buy", 0.01, 50_000, {"clientOrderId": "d"}
            )
        with pytest.raises(ccxt.NotSupported):  # the emulator has no stop orders
            await client.create_order("BTC/USDT", "market", "sell", 0.01, None, {"stopPrice": 1})

    run(scenario)


def test_a_wrong_token_is_an_authentication_error_and_429_a_rate_limit():
    async def wrong(running, client):
        with pytest.raises(ccxt.AuthenticationError):
            await client.fetch_balance()

    run(wrong, token="nbx-wrong-token")

    async def limited(running, client):
        running.faults.fail_next("429", path="/users/wallets/list")
        with pytest.raises(ccxt.RateLimitExceeded):
            await client.fetch_balance()
        async with aiohttp.ClientSession() as session:
            url = f"{running.url}/users/wallets/list"
            async with session.get(url, headers={"Authorization": f"Token {TOKEN}"}) as answer:
                assert (answer.status, (await answer.json())["status"]) == (200, "ok")
        running.faults.fail_next("insufficient_balance", path="/users/wallets/list")
        with pytest.raises(ccxt.InsufficientFunds):
            await client.fetch_balance()

    run(limited)

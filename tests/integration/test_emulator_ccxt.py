"""The real ccxt Binance client over HTTP against the exchange emulator on 127.0.0.1.

Orders match against the recorded BTCUSDT capture (2024-08-08 23:54–23:59 UTC); each test
serves a fresh emulator from a second after the capture's book snapshot, when BTC trades
near 61,830 USDT. No Kafka is involved.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Awaitable, Callable
from decimal import Decimal as D

import aiohttp
import ccxt
import ccxt.async_support
import pytest

from fillstream.config import load_config
from fillstream.connectors.emulator import Account, Exchange, RunningEmulator, ccxt_settings, serve
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.feeds.samples import sample_file

T0 = 1723161256_000000  # 23:54:16 UTC
SECOND = 1_000_000
KEY, SECRET = "test-key", "test-secret"
SYMBOL = "BTC/USDT"

Scenario = Callable[[RunningEmulator, ccxt.async_support.binance], Awaitable[None]]


@functools.cache
def capture() -> tuple[MarketEvent, ...]:
    """The capture's first seconds from T0: read once, replayed by every test's emulator."""
    path = sample_file("btcusdt_20240808.gz")
    if path is None:
        pytest.skip("the shared sample data (btcusdt_20240808.gz) is not present")
    return tuple(itertools.takewhile(lambda event: event.timestamp < T0 + 10 * SECOND, load(path)))


def run(scenario: Scenario, *, secret: str = SECRET, **client_settings: object) -> None:
    """Serve a fresh emulator on the capture and run `scenario` with a ccxt client for it."""
    config = load_config()
    exchange = Exchange(
        config.venues["binance"],
        config.instruments.instruments.values(),
        capture(),
        [Account("acct-1", KEY, SECRET, {"USDT": D(100_000), "BTC": D(1)})],
        start=T0,
    )

    async def main() -> None:
        async with serve(exchange) as running:
            settings = ccxt_settings(running.url, KEY, secret) | client_settings
            client = ccxt.async_support.binance(settings)
            try:
                await scenario(running, client)
            finally:
                await client.close()

    asyncio.run(main())


async def control(running: RunningEmulator, path: str, body: dict) -> dict:
    url = f"{running.url}/_emulator/{path}"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def test_load_markets_gives_the_instrument_rules():
    async def scenario(running, client):
        market = (await client.load_markets())[SYMBOL]
        assert market["id"] == "BTCUSDT"
        assert market["spot"] and market["active"]
        assert (market["precision"]["amount"], market["precision"]["price"]) == (0.00001, 0.01)
        assert market["limits"]["amount"]["min"] == 0.00001
        assert market["limits"]["cost"]["min"] == 5
        assert await client.fetch_time() > 1_700_000_000_000

    run(scenario)


def test_public_market_data_is_the_capture_at_market_time():
    async def scenario(running, client):
        book = await client.fetch_order_book(SYMBOL, 5)
        (bid, _), (ask, _) = book["bids"][0], book["asks"][0]
        assert 61_000 < bid < ask < 62_000
        ticker = await client.fetch_ticker(SYMBOL)
        assert (ticker["bid"], ticker["ask"]) == (bid, ask)
        trades = await client.fetch_trades(SYMBOL, limit=10)
        assert len(trades) == 10
        assert all(trade["timestamp"] <= T0 // 1_000 for trade in trades)

    run(scenario)


def test_market_limit_and_ioc_orders_fill_against_the_capture():
    async def scenario(running, client):
        await client.load_markets()
        ask = (await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]
        market = await client.create_order(SYMBOL, "market", "buy", 0.01)
        assert (market["status"], market["filled"]) == ("closed", 0.01)
        assert market["average"] >= ask
        assert sum(fill["amount"] for fill in market["trades"]) == 0.01

        limit = await client.create_order(SYMBOL, "limit", "buy", 0.02, ask + 50)
        assert (limit["status"], limit["filled"]) == ("closed", 0.02)

        far = await client.create_order(SYMBOL, "limit", "sell", 0.01, 70_000)
        assert far["status"] == "open"
        assert [order["id"] for order in await client.fetch_open_orders(SYMBOL)] == [far["id"]]
        cancelled = await client.cancel_order(far["id"], SYMBOL)
        assert cancelled["status"] == "canceled"

        ioc = await client.create_order(
            SYMBOL, "limit", "sell", 0.01, 61_000, {"timeInForce": "IOC"}
        )
        assert (ioc["status"], ioc["filled"]) == ("closed", 0.01)
        unfilled = await client.create_order(
            SYMBOL, "limit", "buy", 0.01, 50_000, {"timeInForce": "IOC"}
        )
        assert (unfilled["status"], unfilled["filled"]) == ("expired", 0)

        balance = await client.fetch_balance()
        bought = 0.01 + 0.02 - 0.01
        fees = (0.01 + 0.02) * 0.001  # buys pay commission in BTC
        assert balance["BTC"]["total"] == pytest.approx(1 + bought - fees)
        assert balance["USDT"]["used"] == 0
        assert balance["BTC"]["used"] == 0

    run(scenario)


def test_a_partial_fill_then_the_full_fill_are_each_visible_once():
    async def scenario(running, client):
        await client.load_markets()
        ask = (await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]
        await control(running, "faults", {"cap_fills": {"quantity": "0.001", "orders": 1}})
        placed = await client.create_order(
            SYMBOL, "limit", "buy", 0.003, ask + 50, {"clientOrderId": "slice-partial"}
        )
        assert (placed["status"], placed["filled"], placed["remaining"]) == ("open", 0.001, 0.002)
        first = await client.fetch_my_trades(SYMBOL)
        assert [trade["amount"] for trade in first] == [0.001]

        moved = await control(running, "advance", {"by_us": SECOND})
        assert moved["now_us"] >= T0 + SECOND
        order = await client.fetch_order(placed["id"], SYMBOL)
        assert (order["status"], order["filled"]) == ("closed", 0.003)
        trades = await client.fetch_my_trades(SYMBOL)
        assert len({trade["id"] for trade in trades}) == len(trades) == 2
        assert trades[0]["id"] == first[0]["id"]
        assert sum(D(str(trade["amount"])) for trade in trades) == D("0.003")
        assert {trade["order"] for trade in trades} == {placed["id"]}

    run(scenario)


def test_a_bad_signature_or_key_raises_authentication_error():
    async def scenario(running, client):
        with pytest.raises(ccxt.AuthenticationError):
            await client.fetch_balance()

    run(scenario, secret="not-the-secret")
    run(scenario, apiKey="not-a-key")


def test_a_stale_timestamp_raises_invalid_nonce():
    async def scenario(running, client):
        client.options["timeDifference"] = 120_000  # the client's clock two minutes behind
        with pytest.raises(ccxt.InvalidNonce):
            await client.fetch_balance()

    run(scenario)


def test_insufficient_funds_and_duplicate_client_ids_are_refused():
    async def scenario(running, client):
        await client.load_markets()
        with pytest.raises(ccxt.InsufficientFunds):
            await client.create_order(SYMBOL, "limit", "buy", 5, 60_000)
        await client.create_order(SYMBOL, "limit", "buy", 0.01, 60_000, {"clientOrderId": "dup"})
        with pytest.raises(ccxt.InvalidOrder) as refused:
            await client.create_order(
                SYMBOL, "limit", "buy", 0.01, 60_000, {"clientOrderId": "dup"}
            )
        assert not isinstance(refused.value, ccxt.InsufficientFunds)
        assert len(await client.fetch_open_orders(SYMBOL)) == 1
        balance = await client.fetch_balance()
        assert balance["USDT"]["used"] == 600

    run(scenario)


def test_venue_refusals_raise_what_binance_refusals_raise():
    async def scenario(running, client):
        await client.load_markets()
        ask = (await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await client.create_order(SYMBOL, "limit", "buy", 0.01, ask, {"postOnly": True})
        with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
            await client.create_order(SYMBOL, "limit", "buy", 0.00001, 60_000)
        assert await client.fetch_open_orders(SYMBOL) == []

    run(scenario)


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        ("429", ccxt.DDoSProtection),
        ("418", ccxt.DDoSProtection),
        ("503", ccxt.ExchangeNotAvailable),
        ("502", ccxt.ExchangeNotAvailable),
        ("504", ccxt.RequestTimeout),
        ("timeout", ccxt.RequestTimeout),
        ("insufficient_balance", ccxt.InsufficientFunds),
    ],
)
def test_each_injected_fault_raises_its_ccxt_exception(failure, raised):
    async def scenario(running, client):
        plan = {"failure": failure, "path": "/api/v3/account", "hold_s": 5}
        await control(running, "faults", {"fail": [plan]})
        with pytest.raises(raised):
            await client.fetch_balance()
        assert (await client.fetch_balance())["BTC"]["total"] == 1  # only the next one failed

    run(scenario, timeout=300)


def test_added_latency_delays_every_answer():
    async def scenario(running, client):
        await control(running, "faults", {"latency_ms": 400})
        with pytest.raises(ccxt.RequestTimeout):
            await client.fetch_time()
        await control(running, "faults", {"clear": True})
        assert await client.fetch_time() > 0

    run(scenario, timeout=300)


def test_with_a_speed_market_time_follows_the_wall_clock():
    async def main() -> None:
        exchange = Exchange(load_config().venues["binance"], [], capture(), [], start=T0)
        async with serve(exchange, speed=1_000, tick_s=0.01):
            await asyncio.sleep(0.1)
        assert exchange.now >= T0 + 50 * SECOND  # 0.1 s at 1,000 times the recorded pace

    asyncio.run(main())


def test_a_lost_order_is_not_found_by_fetch_or_cancel():
    async def scenario(running, client):
        await client.load_markets()
        placed = await client.create_order(
            SYMBOL, "limit", "buy", 0.01, 60_000, {"clientOrderId": "slice-lost"}
        )
        await control(running, "faults", {"lose_orders": ["slice-lost"]})
        with pytest.raises(ccxt.OrderNotFound):
            await client.fetch_order(placed["id"], SYMBOL)
        with pytest.raises(ccxt.OrderNotFound):
            await client.cancel_order(placed["id"], SYMBOL)
        assert await client.fetch_open_orders(SYMBOL) == []
        assert (await client.fetch_balance())["USDT"]["used"] == 0

    run(scenario)


def test_an_order_accepted_before_the_client_timed_out_is_found_by_its_client_id():
    async def scenario(running, client):
        await client.load_markets()
        running.faults.fail_next("timeout_after", method="POST", path="/api/v3/order", hold_s=5)
        with pytest.raises(ccxt.RequestTimeout):
            await client.create_order(
                SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "slice-timeout"}
            )
        found = await client.fetch_order(None, SYMBOL, {"clientOrderId": "slice-timeout"})
        assert (found["clientOrderId"], found["status"], found["filled"]) == (
            "slice-timeout",
            "closed",
            0.01,
        )
        with pytest.raises(ccxt.InvalidOrder):  # re-sending it cannot place it twice
            await client.create_order(
                SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "slice-timeout"}
            )
        trades = await client.fetch_my_trades(SYMBOL)
        assert {trade["order"] for trade in trades} == {found["id"]}
        assert sum(D(str(trade["amount"])) for trade in trades) == D("0.01")

    run(scenario, timeout=300)


def test_an_unknown_path_answers_404_json():
    async def scenario(running, client):
        url = f"{running.url}/api/v3/nothing"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 404
            assert (await response.json())["code"] == -1

    run(scenario)

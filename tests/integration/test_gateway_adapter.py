"""The gateway's venue adapter with the real ccxt client over HTTP against the exchange emulator.

Each test serves a fresh emulator on 127.0.0.1 replaying the recorded BTCUSDT capture from a
second after its book snapshot (BTC near 61,830 USDT). No Kafka: the journal is a list.
Backoff delays are a few milliseconds, so every test takes about a second at most. The tests
that hold for any venue run twice, once per dialect the emulator speaks: Binance's, with
ccxt's Binance client, and Nobitex's, with the gateway's Nobitex client.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal as D
from fractions import Fraction
from typing import Any

import aiohttp
import pytest

from fillstream.config import load_config
from fillstream.connectors.emulator import Account, Exchange, RunningEmulator, ccxt_settings, serve
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.feeds.samples import sample_file
from fillstream.connectors.gateway.adapter import GatewayStartError, Outcome, VenueAdapter
from fillstream.connectors.gateway.config import (
    Credentials,
    Secret,
    VenueEntry,
    VenuePolicy,
    parse_venues,
)
from fillstream.connectors.gateway.exchanges import async_exchange
from fillstream.connectors.gateway.journal import JournalEntry, Step
from fillstream.connectors.gateway.ratelimit import TokenBucket
from fillstream.connectors.gateway.reconcile import EngineOrder
from fillstream.connectors.gateway.tracking import trade_id_of
from fillstream.connectors.gateway.watchdog import SwitchAction
from fillstream.schemas.models import ExecType, OrderStatus, OrderType, Side, Slice, TimeInForce

T0 = 1723161256_000000  # 23:54:16 UTC, a second after the capture's book snapshot
SECOND = 1_000_000
KEY, SECRET = "fs-key-7f3a9c5e21", "fs-secret-b81d42e0aa"
SYMBOL, MARKET_ID = "BTC/USDT", "BTCUSDT"
EXPIRE_AT_REACHED = "EXPIRE_AT_REACHED: a GTD order expires at its expire_at"

Scenario = Callable[[RunningEmulator, VenueAdapter], Awaitable[None]]


@dataclass(frozen=True)
class Dialect:
    """A venue the emulator speaks as: its ccxt exchange id and where its calls go."""

    name: str  # the emulator's dialect, the ccxt exchange id and the venue's name
    order_path: str  # a new order
    balance_path: str  # the balance, asked first by every submit


BINANCE = Dialect("binance", "/api/v3/order", "/api/v3/account")
NOBITEX = Dialect("nobitex", "/market/orders/add", "/users/wallets/list")


@pytest.fixture(params=[BINANCE, NOBITEX], ids=lambda dialect: dialect.name)
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return request.param


@functools.cache
def capture() -> tuple[MarketEvent, ...]:
    path = sample_file("btcusdt_20240808.gz")
    if path is None:
        pytest.skip("the shared sample data (btcusdt_20240808.gz) is not present")
    return tuple(itertools.takewhile(lambda event: event.timestamp < T0 + 10 * SECOND, load(path)))


def exchange() -> Exchange:
    config = load_config()
    return Exchange(
        config.venues["binance"],
        config.instruments.instruments.values(),
        capture(),
        [Account("acct-1", KEY, SECRET, {"USDT": D(100_000), "BTC": D(1)})],
        start=T0,
    )


def fast(**settings: Any) -> VenuePolicy:
    """Backoff in milliseconds, and `poll` follows the orders whenever a test calls it."""
    return VenuePolicy(
        **{"max_retries": 3, "retry_delay": 0.001, "order_update_interval": 0.001} | settings
    )


def adapter_for(
    running: RunningEmulator,
    dialect: Dialect = BINANCE,
    key: str = KEY,
    secret: str = SECRET,
    policy: VenuePolicy | None = None,
    **options: Any,
) -> VenueAdapter:
    venue = VenueEntry(
        dialect.name,
        dialect.name,
        (SYMBOL,),
        "KEY",
        "SECRET",
        api_url=running.url,
        policy=policy or fast(),
    )
    # a budget no test meets, unless it brings its own bucket
    unlimited = TokenBucket.for_rate_limit(0.001, capacity=1000, start_us=0)
    settings: dict[str, Any] = {"draw": lambda: 0.5, "bucket": unlimited} | options
    return VenueAdapter(venue, Credentials(Secret(key), Secret(secret)), **settings)


def run(scenario: Scenario, dialect: Dialect = BINANCE, **options: Any) -> None:
    """Serve a fresh emulator in `dialect` and run `scenario` with a started adapter for it."""

    async def main() -> None:
        async with (
            serve(exchange(), dialect=dialect.name) as running,
            adapter_for(running, dialect, **options) as adapter,
        ):
            await adapter.start()
            await scenario(running, adapter)

    asyncio.run(main())


def new_slice(
    slice_id: str,
    side: Side,
    quantity: str,
    order_type: OrderType = OrderType.LIMIT,
    price: str | None = None,
    **fields: Any,
) -> Slice:
    return Slice(
        slice_id=slice_id,
        order_id=f"order-{slice_id}",
        signal_id="signal-1",
        account_id="acct-1",
        symbol=SYMBOL,
        venue="binance",
        action="new",
        sequence=0,
        side=side,
        quantity=D(quantity),
        order_type=order_type,
        price=D(price) if price is not None else None,
        created_at=time.time_ns() // 1_000,
        **fields,
    )


async def control(running: RunningEmulator, path: str, body: dict) -> dict:
    url = f"{running.url}/_emulator/{path}"
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def best_ask(running: RunningEmulator) -> D:
    return D(running.exchange.depth({"symbol": MARKET_ID, "limit": "1"})["asks"][0][0])


async def rests(running: RunningEmulator, adapter: VenueAdapter, slice_: Slice) -> dict:
    """Submit a slice that rests at the venue; the venue's own order object of it."""
    placed = await adapter.submit(slice_)
    assert steps(placed) == [Step.VALIDATED, Step.SENDING, Step.ACKNOWLEDGED]
    assert [r.exec_type for r in placed.reports] == [ExecType.ACK]
    orders = running.exchange.open_orders(KEY, {"symbol": MARKET_ID})
    return next(order for order in orders if order["clientOrderId"] == slice_.slice_id)


def steps(outcome: Outcome) -> list[Step]:
    return [entry.step for entry in outcome.journal]


def filled(reports: list) -> D:
    return sum((r.last_quantity for r in reports if trade_id_of(r.report_id)), D(0))


def assert_once(reports: list) -> None:
    ids = [report.report_id for report in reports]
    assert len(ids) == len(set(ids)), ids


def test_market_limit_ioc_and_post_only_slices():
    async def scenario(running, adapter):
        ask = await best_ask(running)
        market = await adapter.submit(
            new_slice("s-market", Side.BUY, "0.01", OrderType.MARKET), reference_price=ask
        )
        assert steps(market) == [Step.VALIDATED, Step.SENDING, Step.ACKNOWLEDGED, Step.DONE]
        assert market.reports[0].exec_type is ExecType.ACK
        assert market.reports[-1].status is OrderStatus.FILLED
        assert filled(market.reports) == D("0.01")
        assert market.reports[-1].venue_order_id is not None

        limit = await adapter.submit(new_slice("s-limit", Side.BUY, "0.02", price=str(ask + 50)))
        assert steps(limit)[-1] is Step.DONE
        assert (limit.reports[-1].status, limit.reports[-1].filled_quantity) == (
            OrderStatus.FILLED,
            D("0.02"),
        )

        ioc = new_slice("s-ioc", Side.SELL, "0.01", price="61000", time_in_force=TimeInForce.IOC)
        assert (await adapter.submit(ioc)).reports[-1].status is OrderStatus.FILLED
        missed = new_slice("s-miss", Side.BUY, "0.01", price="50000", time_in_force="IOC")
        assert [r.exec_type for r in (await adapter.submit(missed)).reports] == [
            ExecType.ACK,
            ExecType.EXPIRE,
        ]

        maker = new_slice("s-maker", Side.SELL, "0.01", price="70000", post_only=True)
        rests = await adapter.submit(maker)
        assert steps(rests)[-1] is Step.ACKNOWLEDGED
        assert [r.exec_type for r in rests.reports] == [ExecType.ACK]
        (order,) = await adapter.client.fetch_open_orders(SYMBOL)
        assert (order["clientOrderId"], order["info"]["type"]) == ("s-maker", "LIMIT_MAKER")
        cancelled = await adapter.cancel(maker)
        assert [r.exec_type for r in cancelled.reports] == [ExecType.CANCEL]
        assert steps(cancelled) == [Step.DONE]
        assert (await adapter.cancel(maker)).reports == []  # already final: no error

        refused = await adapter.submit(new_slice("s-big", Side.BUY, "5", price=str(ask)))
        assert steps(refused) == [Step.REFUSED]
        assert refused.reports[0].reason.startswith("INSUFFICIENT_BALANCE")
        assert adapter.metrics()["tracked_orders"] == 0

    run(scenario)


def test_a_cancel_the_venue_did_not_take_is_tried_again_at_the_next_poll():
    async def scenario(running, adapter):
        resting = new_slice("s-rest", Side.BUY, "0.01", price="60000")
        await rests(running, adapter, resting)
        # 4 calls: the first and the policy's 3 retries
        running.faults.fail_next("503", 4, method="DELETE", path=BINANCE.order_path)
        kept = await adapter.cancel(resting)
        assert (steps(kept), kept.reports) == ([Step.CANCELLING], [])  # journaled, kept
        assert running.exchange.open_orders(KEY, {"symbol": MARKET_ID})  # still resting
        cancelled = await adapter.poll()
        assert [r.exec_type for r in cancelled.reports] == [ExecType.CANCEL]
        assert steps(cancelled) == [Step.DONE]
        assert (await adapter.poll()) == Outcome([], [])  # tried once more only

    run(scenario)


def test_a_kept_cancel_survives_a_restart_through_the_journal():
    async def main() -> None:
        journal: list[JournalEntry] = []

        async def write_ahead(entry: JournalEntry) -> None:
            journal.append(entry)

        async with serve(exchange()) as running:
            resting = new_slice("s-kept", Side.BUY, "0.01", price="60000")
            async with adapter_for(running, write_ahead=write_ahead) as first:
                await first.start()
                await rests(running, first, resting)
                running.faults.fail_next("503", 4, method="DELETE", path=BINANCE.order_path)
                await first.cancel(resting)  # then the gateway dies: the cancel was only kept
            assert journal[-1].step is Step.CANCELLING

            async with adapter_for(running, write_ahead=write_ahead) as second:
                await second.start()
                recovered = await second.recover(list(journal))
                # the ack again, under its same id: this test gives it no `fills` to read
                assert [r.exec_type for r in recovered.reports] == [ExecType.ACK]
                assert running.exchange.open_orders(KEY, {"symbol": MARKET_ID})
                cancelled = await second.poll()
                assert [r.exec_type for r in cancelled.reports] == [ExecType.CANCEL]
                assert steps(cancelled) == [Step.DONE]
                assert running.exchange.open_orders(KEY, {"symbol": MARKET_ID}) == []

    asyncio.run(main())


def test_nobitex_market_and_limit_slices_and_what_it_cannot_express():
    async def scenario(running, adapter):
        ask = await best_ask(running)
        market = await adapter.submit(
            new_slice("s-market", Side.BUY, "0.01", OrderType.MARKET), reference_price=ask
        )
        assert steps(market) == [Step.VALIDATED, Step.SENDING, Step.ACKNOWLEDGED, Step.DONE]
        assert (market.reports[-1].status, filled(market.reports)) == (
            OrderStatus.FILLED,
            D("0.01"),
        )

        resting = new_slice("s-rest", Side.BUY, "0.01", price="60000")
        assert steps(await adapter.submit(resting))[-1] is Step.ACKNOWLEDGED
        (order,) = await adapter.client.fetch_open_orders(SYMBOL)
        assert (order["clientOrderId"], order["info"]["execution"]) == ("s-rest", "Limit")
        cancelled = await adapter.cancel(resting)
        assert [r.exec_type for r in cancelled.reports] == [ExecType.CANCEL]
        assert steps(cancelled) == [Step.DONE]
        assert (await adapter.cancel(resting)).reports == []  # already final: no error

        # Nobitex has good-till-cancelled orders only: an IOC goes as GTC and the gateway
        # cancels what is left of it once the venue has answered; its capability row refuses
        # a FOK at pre-commit, and its client a post-only before any request.
        ioc = new_slice("s-ioc", Side.SELL, "0.01", price="61000", time_in_force=TimeInForce.IOC)
        assert (await adapter.submit(ioc)).reports[-1].status is OrderStatus.FILLED
        missed = new_slice("s-miss", Side.BUY, "0.01", price="50000", time_in_force="IOC")
        ended = (await adapter.submit(missed)).reports
        assert [r.exec_type for r in ended] == [ExecType.ACK, ExecType.EXPIRE]
        assert ended[-1].reason.startswith("IOC_REMAINDER: ")
        fok = new_slice("s-fok", Side.SELL, "0.01", price="61000", time_in_force=TimeInForce.FOK)
        maker = new_slice("s-maker", Side.SELL, "0.01", price="70000", post_only=True)
        for refused, journaled in (
            (fok, [Step.REFUSED]),
            (maker, [Step.VALIDATED, Step.SENDING, Step.REJECTED]),
        ):
            outcome = await adapter.submit(refused)
            assert steps(outcome) == journaled
            assert outcome.reports[0].reason.startswith("INVALID_ORDER")
        assert await adapter.client.fetch_open_orders(SYMBOL) == []
        assert adapter.metrics()["tracked_orders"] == 0

    run(scenario, NOBITEX)


def test_a_partial_fill_then_the_rest_are_reported_once_by_poll(dialect):
    async def scenario(running, adapter):
        ask = await best_ask(running)
        await control(running, "faults", {"cap_fills": {"quantity": "0.001", "orders": 1}})
        slice_ = new_slice("s-part", Side.BUY, "0.003", price=str(ask + 50))
        placed = await adapter.submit(slice_)
        assert [r.exec_type for r in placed.reports] == [ExecType.ACK, ExecType.PARTIAL_FILL]
        assert await adapter.submit(slice_) == Outcome([], [])  # a re-delivery
        assert (await adapter.poll()).reports == []

        await control(running, "advance", {"by_us": SECOND})
        rest = await adapter.poll()
        assert [r.exec_type for r in rest.reports] == [ExecType.FILL]
        assert steps(rest) == [Step.DONE]
        assert (await adapter.poll()) == Outcome([], [])
        reports = placed.reports + rest.reports
        assert_once(reports)
        assert filled(reports) == D("0.003")

    run(scenario, dialect)


def test_a_timeout_after_the_venue_accepted_is_looked_up_not_resent(dialect):
    async def scenario(running, adapter):
        running.faults.fail_next("timeout_after", method="POST", path=dialect.order_path, hold_s=3)
        ask = await best_ask(running)
        outcome = await adapter.submit(
            new_slice("s-timeout", Side.BUY, "0.01", OrderType.MARKET), reference_price=ask
        )
        assert steps(outcome) == [
            Step.VALIDATED,
            Step.SENDING,
            Step.UNKNOWN,
            Step.ACKNOWLEDGED,
            Step.DONE,
        ]
        assert outcome.journal[2].reason.startswith("TIMEOUT")
        assert filled(outcome.reports) == D("0.01")
        assert_once(outcome.reports)
        trades = await adapter.client.fetch_my_trades(SYMBOL)
        assert {trade["order"] for trade in trades} == {outcome.journal[-1].venue_order_id}
        assert adapter.metrics()["errors_total"] == {"TIMEOUT": 1}

    run(scenario, dialect, policy=fast(timeout=0.4))


def test_a_lost_request_is_sent_again_only_once_it_can_no_longer_arrive(dialect):
    async def scenario(running, adapter):
        running.faults.fail_next("timeout", method="POST", path=dialect.order_path, hold_s=1)
        ask = await best_ask(running)
        slice_ = new_slice("s-lost", Side.BUY, "0.01", OrderType.MARKET)
        sent = await adapter.submit(slice_, reference_price=ask)
        assert steps(sent) == [Step.VALIDATED, Step.SENDING, Step.UNKNOWN]
        assert sent.reports == []
        assert (await adapter.poll()) == Outcome([], [])  # not found, but it could still arrive

        await asyncio.sleep(0.35)  # past the receive window: the request can no longer arrive
        resent = await adapter.poll()
        assert steps(resent) == [Step.SENDING, Step.ACKNOWLEDGED, Step.DONE]
        assert resent.journal[0].attempt == 2
        assert filled(resent.reports) == D("0.01")
        assert len({t["order"] for t in await adapter.client.fetch_my_trades(SYMBOL)}) == 1

    run(scenario, dialect, policy=fast(timeout=0.4), recv_window_us=300_000)


def test_the_breaker_opens_on_consecutive_5xx_and_closes_after_a_probe(dialect):
    async def scenario(running, adapter):
        running.faults.fail_next("503", 3, path=dialect.balance_path)
        first = await adapter.submit(new_slice("s-1", Side.BUY, "0.01", price="60000"))
        assert steps(first) == [Step.REFUSED]
        assert first.reports[0].reason.startswith("CIRCUIT_OPEN")
        assert adapter.metrics()["breaker_state"] == 2
        second = await adapter.submit(new_slice("s-2", Side.BUY, "0.01", price="60000"))
        assert second.reports[0].reason.startswith("CIRCUIT_OPEN")

        await asyncio.sleep(0.3)  # the open timeout: the next call is the half-open probe
        third = await adapter.submit(new_slice("s-3", Side.BUY, "0.01", price="60000"))
        assert steps(third)[-1] is Step.ACKNOWLEDGED
        metrics = adapter.metrics()
        assert (metrics["breaker_state"], metrics["breaker_opened_total"]) == (0, 1)
        assert metrics["errors_total"] == {"VENUE_UNAVAILABLE": 3}
        assert metrics["retries_total"] == 3  # the third backoff met the open breaker

    run(scenario, dialect, policy=fast(failure_threshold=3, circuit_open_timeout=0.25))


def test_a_new_adapter_recovers_a_sent_order_from_the_journal_of_a_crashed_one(dialect):
    async def main() -> None:
        journal: list[JournalEntry] = []

        async def write_ahead(entry: JournalEntry) -> None:
            journal.append(entry)

        async with serve(exchange(), dialect=dialect.name) as running:
            ask = await best_ask(running)
            await control(running, "faults", {"cap_fills": {"quantity": "0.001", "orders": 1}})
            running.faults.fail_next(
                "timeout_after", method="POST", path=dialect.order_path, hold_s=5
            )
            slice_ = new_slice("s-crash", Side.BUY, "0.003", price=str(ask + 50))
            async with adapter_for(running, dialect, write_ahead=write_ahead) as first:
                await first.start()
                sending = asyncio.create_task(first.submit(slice_))
                while not running.exchange.open_orders(KEY, {"symbol": MARKET_ID}):
                    await asyncio.sleep(0.01)
                sending.cancel()  # the crash: the answer never arrives
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
            assert [entry.step for entry in journal] == [Step.VALIDATED, Step.SENDING]

            async with adapter_for(running, dialect, write_ahead=write_ahead) as second:
                await second.start()
                recovered = await second.recover(list(journal))
                assert steps(recovered) == [Step.ACKNOWLEDGED]
                assert [r.exec_type for r in recovered.reports] == [
                    ExecType.ACK,
                    ExecType.PARTIAL_FILL,
                ]
                await control(running, "advance", {"by_us": SECOND})
                rest = await second.poll()
                assert (await second.poll()).reports == []
                trades = await second.client.fetch_my_trades(SYMBOL)
            assert {trade["order"] for trade in trades} == {journal[-1].venue_order_id}
            reports = recovered.reports + rest.reports
            assert_once(reports)
            assert filled(reports) == D("0.003")
            assert journal[-1].step is Step.DONE

    asyncio.run(main())


def test_reconcile_lists_an_outside_order_and_a_missed_fill(dialect):
    async def scenario(running, adapter):
        settings = ccxt_settings(running.url, KEY, SECRET, dialect.name)
        outsider = async_exchange(dialect.name)(settings)
        try:
            await outsider.load_markets()
            await outsider.create_order(
                SYMBOL, "limit", "buy", 0.01, 60_000, {"clientOrderId": "outsider"}
            )
        finally:
            await outsider.close()
        ask = await best_ask(running)
        await control(running, "faults", {"cap_fills": {"quantity": "0.001", "orders": 1}})
        placed = await adapter.submit(new_slice("s-rec", Side.BUY, "0.003", price=str(ask + 50)))
        (published,) = [trade_id_of(r.report_id) for r in placed.reports if r.last_quantity]
        await control(running, "advance", {"by_us": SECOND})  # the rest fills, unpublished

        engine = [EngineOrder("s-rec", SYMBOL, placed.journal[-1].venue_order_id, open=True)]
        found = await adapter.reconcile(engine, {("s-rec", published)})
        assert [order["clientOrderId"] for order in found.unknown_orders] == ["outsider"]
        assert found.missing_orders == ("s-rec",)  # filled at the venue since
        assert [fill.slice_id for fill in found.missed_fills] == ["s-rec"]
        assert found.missed_fills[0].trade["id"] != published
        assert found.unattributed_trades == ()

    run(scenario, dialect)


def test_the_watchdog_cancels_open_orders_once_the_heartbeat_is_stale(dialect):
    async def scenario(running, adapter):
        resting = new_slice("s-rest", Side.BUY, "0.01", price="60000")
        await adapter.submit(resting)
        now = time.time_ns() // 1_000
        fresh = await adapter.watchdog(now - SECOND, now)
        assert (fresh.action, fresh.stale) == (SwitchAction.NOTHING, False)
        assert len(await adapter.client.fetch_open_orders(SYMBOL)) == 1

        stale = await adapter.watchdog(now - 3 * SECOND, now)
        assert (stale.action, stale.stale) == (SwitchAction.CANCEL_ALL_NOW, True)
        assert await adapter.client.fetch_open_orders(SYMBOL) == []
        ended = await adapter.poll()
        assert [r.exec_type for r in ended.reports] == [ExecType.CANCEL]
        assert steps(ended) == [Step.DONE]
        again = await adapter.watchdog(now - 3 * SECOND, now + SECOND)
        assert again.action is SwitchAction.NOTHING  # once per outage

    run(scenario, dialect, heartbeat_timeout_us=2 * SECOND)


def test_no_log_line_shows_the_api_key_or_secret(caplog, dialect):
    caplog.set_level(logging.DEBUG)
    wrong = "fs-wrong-secret-5d0c"
    # Binance refuses a wrong signature; Nobitex signs nothing and refuses a wrong token.
    credential = {"secret": wrong} if dialect is BINANCE else {"key": wrong}

    async def scenario(running, adapter):
        running.faults.fail_next("503", path=dialect.balance_path)
        await adapter.submit(new_slice("s-log", Side.BUY, "0.01", price="60000"))
        async with adapter_for(running, dialect, **credential) as refused:
            with pytest.raises(GatewayStartError, match="AUTHENTICATION_FAILED") as error:
                await refused.start()
        assert wrong not in str(error.value)

    run(scenario, dialect)
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert dialect.order_path in logged  # ccxt's request lines are among them
    assert "VENUE_UNAVAILABLE" in logged or "ExchangeNotAvailable" in logged
    for secret in (KEY, SECRET, wrong):
        assert secret not in logged


# -- the venue's error policy, as its configuration table states it ----------------------


def policy_from_table(settings: str) -> VenuePolicy:
    """The policy of a `[gateway.venues.binance]` table holding `settings`."""
    table = (
        f'[venues.binance]\nexchange = "binance"\nsymbols = ["{SYMBOL}"]\n'
        f'api_key_env = "K"\nsecret_env = "S"\n{settings}\n'
    )
    return parse_venues(tomllib.loads(table), "gateway.venues")["binance"].policy


@pytest.mark.parametrize(
    ("settings", "ending", "retries", "failures"),
    [
        ("", Step.ACKNOWLEDGED, 3, 3),  # the default, 4 retries: the fourth call gets through
        ("max_retries = 1", Step.REFUSED, 1, 2),
    ],
)
def test_max_retries_sets_how_often_a_5xx_is_tried_again(
    settings, ending, retries, failures, dialect
):
    async def scenario(running, adapter):
        running.faults.fail_next("503", 3, path=dialect.balance_path)
        outcome = await adapter.submit(new_slice("s-5xx", Side.BUY, "0.01", price="60000"))
        assert steps(outcome)[-1] is ending
        metrics = adapter.metrics()
        assert metrics["retries_total"] == retries
        assert metrics["errors_total"] == {"VENUE_UNAVAILABLE": failures}
        if ending is Step.REFUSED:
            reason = outcome.reports[0].reason
            assert reason.startswith("RETRIES_EXHAUSTED: gave up after 2 attempts")

    run(scenario, dialect, policy=policy_from_table(settings))


@pytest.mark.parametrize(
    ("enabled", "ending", "opened", "failures"),
    [("true", Step.REFUSED, 1, 2), ("false", Step.ACKNOWLEDGED, 0, 4)],
)
def test_a_disabled_breaker_lets_every_retry_go(enabled, ending, opened, failures, dialect):
    settings = (
        "max_retries = 4\nretry_delay = 0.001\nfailure_threshold = 2\n"
        f"circuit_breaker_enabled = {enabled}"
    )

    async def scenario(running, adapter):
        running.faults.fail_next("503", 4, path=dialect.balance_path)
        outcome = await adapter.submit(new_slice("s-on-off", Side.BUY, "0.01", price="60000"))
        assert steps(outcome)[-1] is ending
        metrics = adapter.metrics()
        assert metrics["breaker_opened_total"] == opened
        assert metrics["errors_total"] == {"VENUE_UNAVAILABLE": failures}

    run(scenario, dialect, policy=policy_from_table(settings))


def test_each_request_takes_its_endpoints_cost_and_orders_do_not_ask_the_balance(dialect):
    # ccxt's costs: Binance's balance 4, an order 0.2; the Nobitex class's 30 and 10
    cost = {BINANCE: Fraction("4.4"), NOBITEX: Fraction(50)}[dialect]
    bucket = TokenBucket.for_rate_limit(1_000_000, capacity=100, start_us=0)

    async def scenario(running, adapter):
        full = bucket.tokens(T0)
        await adapter.submit(new_slice("s-1", Side.BUY, "0.01", price="60000"))
        await adapter.submit(new_slice("s-2", Side.BUY, "0.01", price="60000"))
        assert full - bucket.tokens(T0) == cost  # the balance once, then two orders
        assert len(running.exchange.open_orders(KEY, {"symbol": MARKET_ID})) == 2

    run(scenario, dialect, bucket=bucket, clock_us=lambda: T0)


def test_an_order_sent_since_the_balance_was_fetched_stays_reserved_until_one_counts_it():
    # 100,000 USDT free at the first fetch; a resting buy of 1 at 60,000 holds 60,000 of it
    now = [T0]

    async def scenario(running, adapter):
        first = await adapter.submit(new_slice("s-1", Side.BUY, "1", price="60000"))
        assert steps(first)[-1] is Step.ACKNOWLEDGED
        # the balance in hand is older than the order: 100,000 - 60,000 left for this one
        second = await adapter.submit(new_slice("s-2", Side.BUY, "1", price="60000"))
        assert second.reports[0].reason.startswith("INSUFFICIENT_BALANCE")
        now[0] += 30 * SECOND  # the balance is due again: the venue's 40,000 free counts s-1
        third = await adapter.submit(new_slice("s-3", Side.BUY, "0.5", price="60000"))
        assert steps(third)[-1] is Step.ACKNOWLEDGED

    run(scenario, clock_us=lambda: now[0])


def test_poll_follows_the_orders_once_per_order_update_interval(dialect):
    async def scenario(running, adapter):
        await adapter.submit(new_slice("s-rest", Side.BUY, "0.01", price="60000"))
        before = adapter.metrics()["calls_total"]
        await adapter.poll()
        followed = adapter.metrics()["calls_total"]
        assert followed == before + 2  # fetch_order and fetch_my_trades
        await adapter.poll()  # sooner than the interval: the venue is not asked
        assert adapter.metrics()["calls_total"] == followed
        await asyncio.sleep(0.3)
        await adapter.poll()
        assert adapter.metrics()["calls_total"] == followed + 2

    run(scenario, dialect, policy=policy_from_table("order_update_interval = 0.25"))


def test_a_stop_limit_buy_rests_at_the_venue_until_the_market_trades_at_its_trigger():
    async def scenario(running, adapter):
        # The capture trades at 61,824 to 61,828.01 for three seconds, then at 61,829.77.
        stop = new_slice(
            "s-stop", Side.BUY, "0.01", OrderType.STOP_LIMIT, "61840", stop_price=D("61829")
        )
        expected = {"type": "STOP_LOSS_LIMIT", "stopPrice": "61829", "price": "61840"}
        order = await rests(running, adapter, stop)
        assert order | expected == order
        await control(running, "advance", {"to_us": T0 + 2 * SECOND})
        assert (await adapter.poll()).reports == []  # 61,824.01 at most: not triggered

        await control(running, "advance", {"to_us": T0 + 4 * SECOND})
        triggered = await adapter.poll()
        # The first print at or above 61,829 is a buy at 61,829.77 at T0 + 3.327 s, when the
        # ask is 61,829.77 for 0.32328: the triggered limit at 61,840 takes 0.01 there.
        assert [(r.exec_type, r.last_quantity, r.last_price) for r in triggered.reports] == [
            (ExecType.FILL, D("0.01"), D("61829.77"))
        ]
        assert steps(triggered) == [Step.DONE]

    run(scenario)


def test_an_iceberg_goes_to_the_venue_with_its_displayed_quantity():
    async def scenario(running, adapter):
        iceberg = new_slice(
            "s-berg", Side.SELL, "0.05", OrderType.ICEBERG, "70000", display_quantity=D("0.01")
        )
        expected = {"type": "LIMIT", "timeInForce": "GTC", "origQty": "0.05", "icebergQty": "0.01"}
        order = await rests(running, adapter, iceberg)
        assert order | expected == order
        assert [r.exec_type for r in (await adapter.cancel(iceberg)).reports] == [ExecType.CANCEL]

    run(scenario)


def test_a_gtd_slice_is_cancelled_by_the_gateway_at_its_expiry_even_after_a_restart():
    """Binance spot has no GTD: the order rests as GTC and the gateway cancels it once its
    expire_at has passed, reporting it expired; a gateway restarted from the journal too."""
    ahead = [0]  # µs the gateway's clock runs ahead of the wall clock: its expiry comes sooner

    def clock_us() -> int:
        return time.time_ns() // 1_000 + ahead[0]

    def gtd(slice_id: str) -> Slice:
        expire_at = clock_us() + 60 * SECOND
        return new_slice(
            slice_id, Side.BUY, "0.01", price="50000", time_in_force="GTD", expire_at=expire_at
        )

    async def main() -> None:
        journal: list[JournalEntry] = []

        async def write_ahead(entry: JournalEntry) -> None:
            journal.append(entry)

        options: dict[str, Any] = {"write_ahead": write_ahead, "clock_us": clock_us}
        async with serve(exchange()) as running:
            async with adapter_for(running, **options) as first:
                await first.start()
                assert (await rests(running, first, gtd("s-gtd")))["timeInForce"] == "GTC"
                assert (await first.poll()).reports == []  # a minute early

                ahead[0] += 61 * SECOND
                expired = await first.poll()
                assert [(r.exec_type, r.status, r.reason) for r in expired.reports] == [
                    (ExecType.EXPIRE, OrderStatus.EXPIRED, EXPIRE_AT_REACHED)
                ]
                assert steps(expired) == [Step.DONE]
                venue = await first.client.fetch_order(None, SYMBOL, {"clientOrderId": "s-gtd"})
                assert venue["status"] == "canceled"

                crashed = await first.submit(gtd("s-gtd-2"))  # then the gateway dies
            assert steps(crashed)[-1] is Step.ACKNOWLEDGED

            ahead[0] += 61 * SECOND
            async with adapter_for(running, **options) as second:
                await second.start()
                recovered = await second.recover(list(journal), crashed.reports)
            assert [(r.slice_id, r.exec_type, r.reason) for r in recovered.reports] == [
                ("s-gtd-2", ExecType.EXPIRE, EXPIRE_AT_REACHED)
            ]
            assert steps(recovered) == [Step.DONE]
            assert running.exchange.open_orders(KEY, {"symbol": MARKET_ID}) == []

    asyncio.run(main())

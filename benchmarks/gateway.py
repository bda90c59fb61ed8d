"""Orders per second through the ccxt gateway, and its latency over bare ccxt calls.

Run: `python benchmarks/gateway.py [--orders N] [--repeats R]`. The exchange emulator serves
the BTCUSDT capture (the synthetic market without ../shared/data) on 127.0.0.1; N market
orders of 0.001 BTC go first through bare `ccxt.async_support.binance.create_order`, then
through the gateway's `VenueAdapter.submit` (pre-commit with its balance and ticker calls,
the journal written ahead, the order, the post-commit): one at a time, each waiting for its
answer, as a venue adapter sends a slice. The gateway runs twice: within Binance's budget as
ccxt states it (one call per 50 ms: three calls an order, so the budget sets the pace), and
with its rate limit opened up, which leaves its own cost. Per order: median, p99 and orders/s;
the gateway's overhead is the difference of the medians. All run in one process with the
emulator, on the same loop, so its time counts in each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import ccxt.async_support

from fillstream.bench.machine import cpu_model
from fillstream.bench.stats import percentile
from fillstream.config import load_config
from fillstream.connectors.emulator import Account, Exchange, ccxt_settings, serve
from fillstream.connectors.feeds import load
from fillstream.connectors.feeds.samples import sample_file
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.connectors.gateway.adapter import VenueAdapter
from fillstream.connectors.gateway.config import Credentials, Secret, VenueEntry
from fillstream.connectors.gateway.journal import JournalEntry
from fillstream.connectors.gateway.ratelimit import TokenBucket
from fillstream.schemas.models import Slice

KEY, SECRET = "bench-key", "bench-secret"
SYMBOL = "BTC/USDT"


def _exchange() -> Exchange:
    config = load_config()
    capture = sample_file("btcusdt_20240808.gz")
    events = load(capture) if capture else synthetic_events(SyntheticParams())
    market = list(itertools.islice(events, 2_000))
    return Exchange(
        config.venues["binance"],
        config.instruments.instruments.values(),
        market,
        [Account("bench", KEY, SECRET, {"USDT": Decimal(100_000_000), "BTC": Decimal(1_000)})],
        start=market[-1].timestamp,
    )


def _slice(number: int) -> Slice:
    return Slice(
        slice_id=f"o-bench-{number}-1",
        order_id=f"o-bench-{number}",
        signal_id=f"bench-{number}",
        account_id="bench",
        symbol=SYMBOL,
        venue="binance",
        action="new",
        sequence=1,
        side="buy" if number % 2 else "sell",
        quantity=Decimal("0.001"),
        order_type="market",
        created_at=1,
    )


async def _timed(calls: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    latencies = []
    for number in range(calls):
        began = time.perf_counter()
        await call(number)
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


async def measure(orders: int) -> tuple[list[float], list[float], list[float]]:
    async with serve(_exchange()) as running:
        client = ccxt.async_support.binance(ccxt_settings(running.url, KEY, SECRET))
        try:
            await client.load_markets()

            async def bare(number: int) -> None:
                side = "buy" if number % 2 else "sell"
                await client.create_order(SYMBOL, "market", side, 0.001)

            direct = await _timed(orders, bare)
        finally:
            await client.close()
        journal: list[JournalEntry] = []

        async def write_ahead(entry: JournalEntry) -> None:
            journal.append(entry)

        venue = VenueEntry("binance", "binance", (SYMBOL,), "KEY", "SECRET", api_url=running.url)
        credentials = Credentials(Secret(KEY), Secret(SECRET))
        runs = []
        for bucket in (None, TokenBucket(10**9, 10**9, time.time_ns() // 1000)):
            adapter = VenueAdapter(venue, credentials, write_ahead=write_ahead, bucket=bucket)
            async with adapter:
                await adapter.start()

                async def through_gateway(number: int, adapter: VenueAdapter = adapter) -> None:
                    outcome = await adapter.submit(_slice(len(journal) + number))
                    if not any(report.last_quantity > 0 for report in outcome.reports):
                        raise RuntimeError(f"order {number} did not fill: {outcome.reports}")

                runs.append(await _timed(orders, through_gateway))
        return direct, *runs


def _row(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    median = statistics.median(ordered)
    rate = len(latencies) / (sum(latencies) / 1000)
    return f"| {name} | {median:.2f} | {percentile(ordered, 99):.2f} | {rate:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{cpu_model()}, python {platform.python_version()}, ccxt {ccxt.__version__}")
    print(f"{args.orders} market orders per run, {args.repeats} runs, one at a time")
    print("| run | path | ms per order (median) | p99 ms | orders/s |")
    print("|---|---|---|---|---|")
    overheads = []
    for run in range(1, args.repeats + 1):
        direct, budgeted, opened = asyncio.run(measure(args.orders))
        print(_row(f"{run} | bare ccxt", direct), flush=True)
        print(_row(f"{run} | gateway, Binance's budget", budgeted), flush=True)
        print(_row(f"{run} | gateway, no rate limit", opened), flush=True)
        overheads.append(statistics.median(opened) - statistics.median(direct))
    print(
        "gateway overhead per order without the rate limit (median of runs): "
        f"{statistics.median(overheads):.2f} ms (runs: {', '.join(f'{o:.2f}' for o in overheads)})"
    )


if __name__ == "__main__":
    main()

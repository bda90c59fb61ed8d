"""TCA aggregation over synthetic fills: per-order costs from fills, then every breakdown.

Run: `python benchmarks/tca_aggregate.py [--fills N] [--orders M] [--repeats R] [--seed S]`.
Generates N fills of M orders (seeded, untimed): 10 strategies, 5 algorithms (one of them
direct), 6 venues, both sides, 30 days; each fill goes to one of the venues at random, prices
lean against the order around its arrival price, and the rows come in time order, orders
interleaved, as a topic holds them. One repeat times `order_costs` (implementation
shortfall, arrival slippage, fill ratio per order) and `summarise` by day, venue, algorithm and
strategy. Target: ≤ 5 s a repeat for 10 million fills. Reports the median and the minimum of
the repeats, and each repeat, never only the best, with the CPU time beside the wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np
import polars as pl

from fillstream.analytics.aggregate import DIMENSIONS, order_costs, summarise
from fillstream.bench.machine import cpu_model

_DAY_US = 86_400_000_000
_START_US = 1_722_470_400_000_000  # 2024-08-01 00:00 UTC


def synthetic_fills(fills: int, orders: int, seed: int) -> pl.DataFrame:
    """`fills` rows, one per fill, each carrying its order's attributes (see the docstring)."""
    rng = np.random.default_rng(seed)
    order = np.sort(rng.integers(0, orders, fills))
    sell = rng.integers(0, 2, orders)
    sign = 1.0 - 2.0 * sell
    decision = np.round(rng.lognormal(np.log(100.0), 1.0, orders), 2)
    arrival = np.round(decision * (1 + rng.normal(0, 5e-4, orders)), 2)
    end = np.round(decision * (1 + rng.normal(0, 2e-3, orders)), 2)
    last_quantity = np.round(rng.uniform(0.01, 1.0, fills), 4)
    filled = np.bincount(order, weights=last_quantity, minlength=orders)
    quantity = np.round(filled / rng.uniform(0.8, 1.0, orders), 4)  # fill ratio 80 to 100%
    impact = sign[order] * np.abs(rng.normal(0, 8e-4, fills))
    last_price = np.round(arrival[order] * (1 + impact + rng.normal(0, 3e-4, fills)), 2)
    start = (
        _START_US + rng.integers(0, 30, orders) * _DAY_US + rng.integers(0, _DAY_US // 2, orders)
    )
    numbers = pl.DataFrame(
        {
            "order": order,
            "venue": rng.integers(0, 6, fills),
            "sell": sell[order],
            "quantity": quantity[order],
            "decision_price": decision[order],
            "arrival_price": arrival[order],
            "end_price": end[order],
            "last_quantity": last_quantity,
            "last_price": last_price,
            "commission": np.round(last_quantity * last_price * 1e-4, 6),
            "timestamp": start[order] + rng.integers(0, 3_600_000_000, fills),
        }
    )
    algorithms = {0: "twap", 1: "vwap", 2: "pov", 3: "is", 4: None}  # None: direct
    return numbers.select(
        pl.format("o-{}", "order").alias("order_id"),
        pl.format("strategy-{}", pl.col("order") % 10).alias("strategy_id"),
        (pl.col("order") % 5).replace_strict(algorithms, return_dtype=pl.String).alias("algorithm"),
        pl.format("venue-{}", "venue").alias("venue"),
        pl.when(pl.col("sell") == 1).then(pl.lit("sell")).otherwise(pl.lit("buy")).alias("side"),
        pl.exclude("order", "venue", "sell"),
    ).sort("timestamp")  # as a topic holds them: orders interleaved


def aggregate(fills: pl.DataFrame) -> tuple[float, float, float]:
    """Seconds for the per-order costs, then for the four breakdowns (wall clock); and the
    process's CPU seconds for both (every thread): steadier than wall time on a busy box."""
    cpu = time.process_time()
    started = time.perf_counter()
    orders = order_costs(fills)
    costed = time.perf_counter()
    for dimension in DIMENSIONS:
        summarise(orders, dimension)
    return costed - started, time.perf_counter() - costed, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240808)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"python {platform.python_version()}, polars {pl.__version__}")
    print(f"command: {shlex.join(['python', *sys.argv])}")
    started = time.perf_counter()
    fills = synthetic_fills(args.fills, args.orders, args.seed)
    print(
        f"generated {fills.height:,} fills of {fills['order_id'].n_unique():,} orders"
        f" in {time.perf_counter() - started:.1f} s (untimed)"
    )
    totals, cpus = [], []
    print("| repeat | per-order costs, s | 4 breakdowns, s | total, s | CPU, s |")
    print("|---|---|---|---|---|")
    for repeat in range(1, args.repeats + 1):
        costs, breakdowns, cpu = aggregate(fills)
        totals.append(costs + breakdowns)
        cpus.append(cpu)
        print(
            f"| {repeat} | {costs:.2f} | {breakdowns:.2f} | {totals[-1]:.2f} | {cpu:.2f} |",
            flush=True,
        )
    print(
        f"total per repeat: median {statistics.median(totals):.2f} s,"
        f" min {min(totals):.2f} s over {len(totals)} repeats (target ≤ 5 s);"
        f" CPU median {statistics.median(cpus):.2f} s"
    )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Cost per market event of each execution algorithm, in the executor's core.

Run: `python benchmarks/algorithms.py [--repeats R] [--parents N]`. The executor stage gets the
first 20,000 quotes and trades of the BTCUSDT capture (the synthetic market without
../shared/data) with N parents of one algorithm working, each large enough never to finish;
every child that takes liquidity is answered at once with a fill at the touch, and a resting
child (iceberg) with a fill when a trade prints through its price, so the cost includes sending
children and following their reports, as live (the time spent building those reports is the
venue's, measured apart and taken out). A row is the median (and range) over R repeats of the
time per market event; the `none` row is the executor's own bookkeeping without any
parent, so a row minus it is the algorithms' share.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from decimal import Decimal
from typing import Any

from fillstream.bench.cores import book_events
from fillstream.bench.machine import cpu_model
from fillstream.config import load_config
from fillstream.schemas.models import (
    ExecType,
    ExecutionReport,
    OrderStatus,
    ParentOrder,
    Quote,
    RoutedOrder,
    Signal,
    Slice,
    TimeInForce,
    Trade,
    VenueAllocation,
)
from fillstream.streams.execution.parents import Rules
from fillstream.streams.stages import Emit
from fillstream.streams.stages.executor import ExecutorStage

PARAMETERS = {
    "twap": {"duration_seconds": "3600", "interval_seconds": "10"},
    "vwap": {"duration_seconds": "3600", "participation_rate": "0.1", "max_deviation": "0.01"},
    "pov": {"participation_rate": "0.1"},
    "iceberg": {},
    "implementation_shortfall": {"duration_seconds": "3600", "periods": "60"},
    "adaptive": {"duration_seconds": "3600"},
}


def _routed(algorithm: str, number: int, start_us: int) -> RoutedOrder:
    signal = Signal(
        signal_id=f"bench-{algorithm}-{number}",
        strategy_id="bench",
        account_id="acct-1",
        symbol="BTC/USDT",
        side="buy",
        quantity=Decimal("10000"),
        order_type="limit" if algorithm == "iceberg" else "market",
        price=Decimal("61700") if algorithm == "iceberg" else None,
        display_quantity=Decimal("0.5") if algorithm == "iceberg" else None,
        algorithm=algorithm,
        algorithm_parameters=PARAMETERS[algorithm],
        created_at=start_us,
    )
    order = ParentOrder(order_id=f"o-{signal.signal_id}", signal=signal, approved_at=start_us)
    plan = [VenueAllocation(venue="binance", quantity=signal.quantity)]
    return RoutedOrder(order=order, venue_plan=plan, routed_at=start_us)


def _fill(child: Slice, price: Decimal, at: int) -> ExecutionReport:
    # Built without validation: the venue's cost, not the executor's, is not measured here.
    return ExecutionReport.model_construct(
        report_id=f"{child.slice_id}:fill",
        order_id=child.order_id,
        signal_id=child.signal_id,
        slice_id=child.slice_id,
        account_id=child.account_id,
        symbol=child.symbol,
        venue=child.venue,
        side=child.side,
        exec_type=ExecType.FILL,
        status=OrderStatus.FILLED,
        quantity=child.quantity,
        last_quantity=child.quantity,
        last_price=price,
        filled_quantity=child.quantity,
        leaves_quantity=Decimal(0),
        average_price=price,
        commission=Decimal(0),
        timestamp=at,
    )


def cost_per_event(algorithm: str | None, parents: int, repeats: int) -> list[float]:
    config = load_config()
    events = [e for e in book_events() if isinstance(e, Quote | Trade)]
    start = events[0].timestamp

    def run() -> float:
        """The seconds spent on the executor, without building the venue's reports."""
        stage = ExecutorStage(Rules(config.instruments, dict(config.volume_profiles)))
        for event in events[:200]:  # a market to plan from
            stage.handle(f"market.{'quotes' if isinstance(event, Quote) else 'trades'}", event, 0)
        venue = 0.0
        resting: list[Slice] = []

        def fill(child: Slice, event: Quote | Trade) -> list[Any]:
            """The child filled in full; what the executor does next."""
            nonlocal venue
            building = time.perf_counter()
            report = _fill(child, child.price or event_price(event), event.timestamp)
            venue += time.perf_counter() - building
            return [e.record for e in stage.handle("fills", report, report.timestamp)]

        def answer(emits: list[Emit], event: Quote | Trade) -> None:
            """Children take at once; resting ones fill when a trade prints through them."""
            pending = [e.record for e in emits]
            if isinstance(event, Trade):
                crossed = [child for child in resting if event.price <= child.price]
                resting[:] = [child for child in resting if child not in crossed]
                for child in crossed:
                    pending += fill(child, event)
            while pending:
                child = pending.pop()
                if not isinstance(child, Slice) or child.action.value != "new":
                    continue
                if child.time_in_force is TimeInForce.GTC and child.price is not None:
                    resting.append(child)
                else:
                    pending += fill(child, event)

        began = time.perf_counter()
        for number in range(parents if algorithm else 0):
            answer(
                stage.handle("orders.routed", _routed(algorithm, number, start), start), events[0]
            )
        for event in events:
            topic = "market.quotes" if isinstance(event, Quote) else "market.trades"
            answer(stage.handle(topic, event, event.timestamp), event)
        return time.perf_counter() - began - venue

    return [run() / len(events) * 1e6 for _ in range(repeats)]


def event_price(event: Quote | Trade) -> Decimal:
    if isinstance(event, Trade):
        return event.price
    return event.ask_price or event.bid_price or Decimal(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parents", type=int, default=1, help="active parents per run")
    args = parser.parse_args()
    print(f"{cpu_model()}, python {platform.python_version()}, {platform.machine()}")
    print(f"repeats {args.repeats}, {args.parents} active parent(s) of the algorithm")
    print("| algorithm | µs per market event (median) | range of repeats |")
    print("|---|---|---|")
    for algorithm in (None, *PARAMETERS):
        timings = cost_per_event(algorithm, args.parents, args.repeats)
        print(
            f"| {algorithm or 'none'} | {statistics.median(timings):.2f} | "
            f"{min(timings):.2f} to {max(timings):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

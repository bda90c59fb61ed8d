"""Execution figures over a time frame, from the view's orders and executions (pure).

Latencies are measured in the pipeline's event time, the clock every stage reads: from an
order's `created_at` (its signal's time; the API stamps the moment of submission when the
producer gives none) to the `timestamp` of its first acknowledgement and of its first fill.
Against a real venue those are the venue's own times; on the simulated venue they are its
modelled latency in market time. Percentiles are nearest-rank, so each is an observed value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fillstream.bench.stats import percentile
from fillstream.schemas.models import TERMINAL, ExecType, ExecutionReport, OrderState, OrderStatus

__all__ = ["execution_metrics", "latency_summary"]

_US_PER_MS = 1000.0


def latency_summary(values_ms: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(values_ms)
    if not ordered:
        return {"count": 0, "p50": None, "p90": None, "p99": None}
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
    }


def _first(reports: Iterable[ExecutionReport], wanted: Any) -> int | None:
    times = [r.timestamp for r in reports if wanted(r)]
    return min(times) if times else None


def execution_metrics(
    orders: Iterable[OrderState],
    executions: Mapping[str, Mapping[str, ExecutionReport]],
    now_us: int,
    window_us: int,
) -> dict[str, Any]:
    """Orders created in `[now - window, now]`: their count and rate, latencies, and the
    share of finished ones that filled, were rejected, cancelled or expired."""
    start = now_us - window_us
    chosen = [o for o in orders if start <= o.created_at <= now_us]
    to_ack: list[float] = []
    to_fill: list[float] = []
    fills = 0
    for order in chosen:
        reports = list(executions.get(order.order_id, {}).values())
        acked = _first(reports, lambda r: r.exec_type is ExecType.ACK)
        filled = _first(reports, lambda r: r.last_quantity > 0)
        if acked is not None:
            to_ack.append((acked - order.created_at) / _US_PER_MS)
        if filled is not None:
            to_fill.append((filled - order.created_at) / _US_PER_MS)
        fills += sum(1 for r in reports if r.last_quantity > 0)
    statuses = Counter(order.status.value for order in chosen)
    finished = sum(1 for order in chosen if order.status in TERMINAL)
    seconds = window_us / 1_000_000

    def share(status: OrderStatus) -> float | None:
        return statuses[status.value] / finished if finished else None

    return {
        "window_seconds": seconds,
        "from_us": start,
        "to_us": now_us,
        "orders": len(chosen),
        "orders_per_second": len(chosen) / seconds,
        "fills": fills,
        "fills_per_second": fills / seconds,
        "latency_ms": {
            "signal_to_ack": latency_summary(to_ack),
            "signal_to_first_fill": latency_summary(to_fill),
        },
        "statuses": dict(sorted(statuses.items())),
        "finished_orders": finished,
        "rates": {
            "fill": share(OrderStatus.FILLED),
            "reject": share(OrderStatus.REJECTED),
            "cancel": share(OrderStatus.CANCELLED),
            "expire": share(OrderStatus.EXPIRED),
        },
    }

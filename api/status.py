"""The engine's health and its venues' state, from the metrics series and the config (pure).

A processor is healthy while its newest `heartbeat` (wall-clock seconds, any of its workers)
is less than `HEARTBEAT_TIMEOUT` old. A ccxt venue's breaker state is the gateway's latest
`gateway_breaker_state{venue}` gauge (connectors/gateway/breaker.py: 0 closed, 1 half-open,
2 open).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from fillstream.api.cluster import GroupLag
from fillstream.api.view import SeriesKey
from fillstream.config import EngineConfig
from fillstream.connectors.gateway.breaker import BreakerState
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import Metric

__all__ = ["HEARTBEAT_TIMEOUT", "adapters", "health"]

HEARTBEAT_TIMEOUT = 5.0  # seconds
_GATEWAY_FIGURES = (
    "breaker_state",
    "breaker_consecutive_failures",
    "breaker_opened_total",
    "calls_total",
    "retries_total",
    "tracked_orders",
    "unsettled_orders",
)


def _heartbeats(series: Mapping[SeriesKey, Metric]) -> dict[str, dict[str, float]]:
    """Each processor's workers and their latest heartbeat (epoch seconds)."""
    beats: dict[str, dict[str, float]] = {}
    for (processor, name, labels), metric in series.items():
        if name == "heartbeat":
            worker = dict(labels).get("worker", "")
            beats.setdefault(processor, {})[worker] = metric.value
    return beats


def health(
    now_s: float,
    broker_reachable: bool,
    processors: Iterable[str],
    series: Mapping[SeriesKey, Metric],
    lags: Mapping[str, GroupLag | str],
) -> dict[str, Any]:
    """Broker, each processor's heartbeat age and its consumer group's lag (or why unknown),
    and `healthy`: the broker answers and every processor beats."""
    beats = _heartbeats(series)
    report: dict[str, Any] = {}
    for processor in processors:
        workers = beats.get(processor, {})
        age = now_s - max(workers.values()) if workers else None
        group_lag = lags.get(processor)
        report[processor] = {
            "healthy": age is not None and age < HEARTBEAT_TIMEOUT,
            "heartbeat_age_seconds": age,
            "workers": sorted(workers),
            "consumer_lag": asdict(group_lag) if isinstance(group_lag, GroupLag) else None,
            "consumer_lag_error": group_lag if isinstance(group_lag, str) else None,
        }
    return {
        "healthy": broker_reachable and all(p["healthy"] for p in report.values()),
        "broker": {"reachable": broker_reachable},
        "processors": report,
    }


def _gateway_figures(series: Mapping[SeriesKey, Metric], venue: str) -> dict[str, Any]:
    """The latest of each gateway figure for `venue`, and errors by reason."""
    latest: dict[str, Metric] = {}
    errors: dict[str, float] = {}
    for (processor, name, labels), metric in series.items():
        tags = dict(labels)
        if processor != "gateway" or tags.get("venue") != venue:
            continue
        figure = name.removeprefix("gateway_")
        if figure == "errors_total":
            reason = tags.get("reason", "")
            errors[reason] = errors.get(reason, 0) + metric.value
        elif figure in _GATEWAY_FIGURES:
            known = latest.get(figure)
            if known is None or known.timestamp <= metric.timestamp:
                latest[figure] = metric
    figures: dict[str, Any] = {figure: m.value for figure, m in sorted(latest.items())}
    figures["errors_total"] = dict(sorted(errors.items()))
    figures["updated_at"] = max((m.timestamp for m in latest.values()), default=None)
    return figures


def adapters(engine: EngineConfig, series: Mapping[SeriesKey, Metric]) -> list[dict[str, Any]]:
    """Every configured venue: simulated, or reached over ccxt with its breaker's state."""
    answer = []
    for name, venue in engine.venues.items():
        entry: dict[str, Any] = {
            "venue": name,
            "maker_fee": format_decimal(venue.maker_fee),
            "taker_fee": format_decimal(venue.taker_fee),
            "dark": venue.dark,
            "priority": venue.priority,
            "symbols": sorted(s for v, s in engine.instruments.instruments if v == name),
        }
        gateway = engine.gateway.get(name)
        if gateway is None:
            entry |= {"adapter": "simulated", "status": "up", "breaker": None}
        else:
            figures = _gateway_figures(series, name)
            state = figures.get("breaker_state")
            breaker = None if state is None else BreakerState(int(state)).name.lower()
            status = {None: "unknown", "closed": "up", "half_open": "probing", "open": "down"}
            entry |= {
                "adapter": "ccxt",
                "exchange": gateway.exchange,
                "status": status[breaker],
                "breaker": breaker,
                "figures": figures,
            }
        answer.append(entry)
    return answer

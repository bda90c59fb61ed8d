"""Adaptive: choose the algorithm and its urgency from the signal and the market at arrival.

The choice, in order (first match wins):

- urgency high, or confidence ≥ 0.8: implementation shortfall, λ = 1e-4, over the time the
  market takes to trade Q / 25%;
- the book is thin (Q > 10 × the displayed size) or wide (spread > 10 bps): POV at 10%;
- urgency low, or confidence < 0.5: VWAP capped at 5%, over the time to trade Q / 5%;
- otherwise: implementation shortfall, λ = 1e-6, over the time to trade Q / 10%.

A strong, urgent signal decays fast, so it pays impact to trade early; a thin or wide market
punishes a schedule that ignores liquidity, so it follows volume; a weak or patient signal
trades passively with the market's own rhythm. Durations come from the volume traded per
second, bounded to [30 s, `duration_seconds` or an hour]; without volume, five minutes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fillstream.schemas.models import Urgency
from fillstream.streams.execution.algorithms import pov, shortfall, vwap
from fillstream.streams.execution.algorithms.base import Market, ParentFacts, Plan, Venue
from fillstream.streams.execution.algorithms.catalog import CATALOG, parse

__all__ = ["choose", "plan"]

_SHORTEST_S, _LONGEST_S, _UNKNOWN_S = 30, 3600, 300


def choose(parent: ParentFacts, market: Market) -> tuple[str, dict[str, str]]:
    """The algorithm to run and its parameters (as a signal would carry them)."""
    urgency, confidence = parent.urgency, parent.confidence
    longest = parent.parameters.get("duration_seconds") or _LONGEST_S
    if urgency is Urgency.HIGH or (confidence is not None and confidence >= 0.8):
        return "implementation_shortfall", {
            "risk_aversion": "1e-4",
            "duration_seconds": _duration(parent, market, Decimal("0.25"), longest),
        }
    depth, mid, spread = market.touch_size(parent.side), market.mid, market.spread()
    thin = depth is not None and parent.quantity > 10 * depth
    wide = mid is not None and spread is not None and spread / mid > Decimal("0.001")
    if thin or wide:
        return "pov", {"participation_rate": "0.1"}
    if urgency is Urgency.LOW or (confidence is not None and confidence < 0.5):
        return "vwap", {
            "participation_rate": "0.05",
            "duration_seconds": _duration(parent, market, Decimal("0.05"), longest),
        }
    return "implementation_shortfall", {
        "risk_aversion": "1e-6",
        "duration_seconds": _duration(parent, market, Decimal("0.1"), longest),
    }


def plan(parent: ParentFacts, market: Market, venue: Venue) -> Plan:
    name, raw = choose(parent, market)
    parameters: dict[str, Any] = parse(CATALOG[name], raw)
    chosen = ParentFacts(**{**_fields(parent), "parameters": parameters})
    planner = {"implementation_shortfall": shortfall.plan, "pov": pov.plan, "vwap": vwap.plan}
    return planner[name](chosen, market, venue)


def _duration(parent: ParentFacts, market: Market, share: Decimal, longest: Any) -> str:
    rate = market.volume_rate()
    seconds = parent.quantity / (share * Decimal(str(rate))) if rate else Decimal(_UNKNOWN_S)
    return str(max(Decimal(_SHORTEST_S), min(Decimal(longest), seconds.quantize(Decimal(1)))))


def _fields(parent: ParentFacts) -> dict[str, Any]:
    return {name: getattr(parent, name) for name in ParentFacts.__slots__}

"""Ad-hoc TCA of one order described in JSON: what `fillstream tca analyze FILE` reads and writes.

The input names the order, its fills and, optionally, the market around it (docs/TCA.md has
the format); it is validated whole before anything is computed, and every problem is reported
with its field and what to do about it. The output is `streams.tca.Analysis` as JSON:
currency amounts and prices as exact decimal strings (as on the wire), bps and ratios as
numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fillstream.schemas import jsonl
from fillstream.schemas.models import Amount, EventTime, Positive, Side
from fillstream.streams.tca import (
    Analysis,
    Execution,
    Fill,
    FillQuality,
    Horizons,
    Market,
    Print,
    TcaConfig,
    analyze,
)

__all__ = ["InvalidOrder", "OrderToAnalyze", "analyze_text"]


class InvalidOrder(ValueError):
    """The input cannot be analysed; one line per problem, each naming its field."""


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Fill(_Input):
    quantity: Positive
    price: Positive
    timestamp: EventTime


class _Quote(_Input):
    timestamp: EventTime
    bid: Positive
    ask: Positive


class _Trade(_Input):
    timestamp: EventTime
    price: Positive
    quantity: Positive


Seconds = Annotated[float, Field(gt=0)]


class OrderToAnalyze(_Input):
    """One order: intended quantity, reference prices, fills, and optional market data."""

    side: Side
    quantity: Positive
    decision_price: Positive | None = None
    arrival_price: Positive | None = None
    end_price: Positive | None = None
    fees: Amount = Decimal(0)
    fills: list[_Fill] = Field(default_factory=list)
    arrival_time: EventTime | None = None
    end_time: EventTime | None = None
    quotes: list[_Quote] = Field(default_factory=list)
    trades: list[_Trade] = Field(default_factory=list)
    trades_include_fills: bool = False
    markout_seconds: list[Seconds] | None = None
    spread_horizon_seconds: Seconds | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        filled = sum(fill.quantity for fill in self.fills)
        if filled > self.quantity:
            raise ValueError(
                f"the fills add up to {filled}, more than the order's quantity {self.quantity}"
            )
        times = [fill.timestamp for fill in self.fills]
        if times and self.arrival_time is not None and self.arrival_time > min(times):
            raise ValueError("arrival_time is after the first fill: the order arrives first")
        if times and self.end_time is not None and self.end_time < max(times):
            raise ValueError("end_time is before the last fill: the order ends after its fills")
        self.horizons()  # refuses a horizon listed twice
        return self

    def execution(self) -> Execution:
        return Execution(
            side=self.side,
            quantity=self.quantity,
            fills=tuple(
                Fill(f.quantity, f.price, f.timestamp)
                for f in sorted(self.fills, key=lambda f: f.timestamp)
            ),
            fees=self.fees,
            decision_price=self.decision_price,
            arrival_price=self.arrival_price,
            end_price=self.end_price,
            arrival_time=self.arrival_time,
            end_time=self.end_time,
        )

    def market(self) -> Market | None:
        """The market data given, known up to its last record (a later mid is not guessed)."""
        if not self.quotes and not self.trades:
            return None
        quotes = sorted(self.quotes, key=lambda q: q.timestamp)
        trades = sorted(self.trades, key=lambda t: t.timestamp)
        return Market(
            mids=tuple((q.timestamp, (q.bid + q.ask) / 2) for q in quotes),
            trades=tuple(Print(t.timestamp, t.price, t.quantity) for t in trades),
            known_until=max(r.timestamp for r in (*quotes, *trades)),
            trades_include_fills=self.trades_include_fills,
        )

    def horizons(self) -> Horizons:
        """The horizons asked for, else the engine's defaults (as `[tca]` reads them)."""
        table = {
            "markout_seconds": self.markout_seconds,
            "spread_horizon_seconds": self.spread_horizon_seconds,
        }
        given = {name: value for name, value in table.items() if value is not None}
        return TcaConfig.from_dict(given, where="").horizons


# What to do about each kind of problem pydantic reports.
_ADVICE = {
    "missing": "add it",
    "extra_forbidden": "remove it, or check its spelling against docs/TCA.md",
    "decimal_parsing": 'write a number, e.g. "40.05"',
    "decimal_type": 'write a number, e.g. "40.05"',
    "greater_than": "use a positive number",
    "enum": "use one of the values named",
    "int_parsing": "write whole microseconds since the Unix epoch (UTC)",
    "int_type": "write whole microseconds since the Unix epoch (UTC)",
    "list_type": "write a JSON list",
    "model_type": "write a JSON object",
}


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(map(str, item["loc"])) or "order"
        message = item["msg"].removeprefix("Value error, ")
        advice = _ADVICE.get(item["type"])
        lines.append(f"{where}: {message}" + (f" ({advice})" if advice else ""))
    return lines


def analyze_text(text: str) -> str:
    """The analysis of the order in `text` (JSON), as indented JSON; raises InvalidOrder."""
    try:
        raw = jsonl.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidOrder(
            f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    try:
        order = OrderToAnalyze.model_validate(raw)
    except ValidationError as error:
        raise InvalidOrder("\n".join(_problems(error))) from None
    return _to_json(analyze(order.execution(), order.market(), order.horizons()), order)


def _to_json(analysis: Analysis, order: OrderToAnalyze) -> str:
    reported: dict[str, Any] = {
        "side": order.side,
        "quantity": order.quantity,
        "decision_price": order.decision_price,
        "arrival_price": order.arrival_price,
        "end_price": order.end_price,
    }
    reported |= asdict(analysis)
    reported["fills"] = [_fill_json(quality) for quality in analysis.fills]
    return jsonl.dumps(reported, indent=2)


def _fill_json(quality: FillQuality) -> dict[str, Any]:
    spreads = quality.spreads
    return {
        **asdict(quality.fill),
        "mid": quality.mid,
        "effective_spread_bps": spreads.effective_bps if spreads else None,
        "realized_spread_bps": spreads.realized_bps if spreads else None,
        "price_impact_bps": spreads.impact_bps if spreads else None,
        "markouts_bps": dict(quality.markouts_bps),
    }

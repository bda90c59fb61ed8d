"""Instrument rules (tick, lot, minimums) per venue and symbol: the one place they are kept.

Risk checks orders against them, the router and the executor round to them, and venues
enforce them; the ccxt gateway will load them from each venue's markets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

__all__ = ["Instrument", "InstrumentBook"]


@dataclass(frozen=True)
class Instrument:
    """What a venue accepts for one symbol."""

    venue: str
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)

    def is_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_whole_lots(self, quantity: Decimal) -> bool:
        return quantity % self.lot_size == 0

    def round_quantity_down(self, quantity: Decimal) -> Decimal:
        """The largest whole number of lots not above `quantity`."""
        return (quantity / self.lot_size).to_integral_value(rounding=ROUND_DOWN) * self.lot_size

    def round_price(self, price: Decimal, *, up: bool) -> Decimal:
        """Onto the tick grid: up or down (a buy limit rounds down, a sell limit up, to be safe)."""
        rounding = ROUND_UP if up else ROUND_DOWN
        return (price / self.tick_size).to_integral_value(rounding=rounding) * self.tick_size

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> Instrument:
        return cls(
            venue=str(entry["venue"]),
            symbol=str(entry["symbol"]),
            tick_size=Decimal(str(entry["tick_size"])),
            lot_size=Decimal(str(entry["lot_size"])),
            min_quantity=Decimal(str(entry.get("min_quantity", 0))),
            min_notional=Decimal(str(entry.get("min_notional", 0))),
        )


@dataclass(frozen=True)
class InstrumentBook:
    """Every known instrument, by (venue, symbol)."""

    instruments: Mapping[tuple[str, str], Instrument]

    def get(self, venue: str, symbol: str) -> Instrument | None:
        return self.instruments.get((venue, symbol))

    def venues_for(self, symbol: str) -> list[str]:
        return sorted(venue for venue, listed in self.instruments if listed == symbol)

    @classmethod
    def of(cls, instruments: list[Instrument]) -> InstrumentBook:
        return cls({(i.venue, i.symbol): i for i in instruments})

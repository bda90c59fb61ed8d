"""Instrument rules (tick, lot, minimums) per venue and symbol: the one place they are kept.

Risk checks orders against them, the router and the executor round to them, and venues
enforce them. They come from the engine configuration, and from the venues themselves: the ccxt
gateway reads each venue's markets at start and publishes their rules on `venue.instruments`,
which override the configured ones for that venue and symbol (`PublishedRules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from fillstream.schemas.models import InstrumentRules
from fillstream.settings.tables import refuse_unknown

__all__ = ["Instrument", "InstrumentBook", "PublishedRules"]


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

    def to_rules(self, source: str, now_us: int) -> InstrumentRules:
        """As a record of `venue.instruments`; `source` says where they were read."""
        return InstrumentRules(
            instrument_id=f"{self.venue}:{self.symbol}",
            venue=self.venue,
            symbol=self.symbol,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            min_quantity=self.min_quantity,
            min_notional=self.min_notional,
            source=source,
            published_at=now_us,
        )

    @classmethod
    def from_rules(cls, record: InstrumentRules) -> Instrument:
        """From a record of `venue.instruments`."""
        return cls(
            venue=record.venue,
            symbol=record.symbol,
            tick_size=record.tick_size,
            lot_size=record.lot_size,
            min_quantity=record.min_quantity,
            min_notional=record.min_notional,
        )

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any], *, where: str = "instruments") -> Instrument:
        """One `[[instruments]]` entry; a key that is not a field is refused (`where` names it)."""
        refuse_unknown(entry, _FIELDS, where)
        return cls(
            venue=str(entry["venue"]),
            symbol=str(entry["symbol"]),
            tick_size=Decimal(str(entry["tick_size"])),
            lot_size=Decimal(str(entry["lot_size"])),
            min_quantity=Decimal(str(entry.get("min_quantity", 0))),
            min_notional=Decimal(str(entry.get("min_notional", 0))),
        )


_FIELDS = ("venue", "symbol", "tick_size", "lot_size", "min_quantity", "min_notional")


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


class PublishedRules:
    """The rules venues published, laid over a configured book: what a stage should use.

    A stage keeps `rules` in its durable memory. `over(base)` is asked on every order, so the
    merged book is made once per change and kept; with nothing published it is `base`.
    """

    rules: dict[tuple[str, str], Instrument]  # by (venue, symbol)

    def __init__(self) -> None:
        self.rules = {}
        self._merged: tuple[InstrumentBook, InstrumentBook] | None = None  # (base, merged)

    def learn(self, instrument: Instrument) -> None:
        key = (instrument.venue, instrument.symbol)
        if self.rules.get(key) != instrument:
            self.rules[key] = instrument
            self._merged = None

    def over(self, base: InstrumentBook) -> InstrumentBook:
        if not self.rules:
            return base
        if self._merged is None or self._merged[0] is not base:
            self._merged = (base, InstrumentBook({**base.instruments, **self.rules}))
        return self._merged[1]

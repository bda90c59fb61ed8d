"""How fillstream sees each venue: fees, latency, lit or dark, and routing priority."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from fillstream.settings.tables import refuse_unknown

__all__ = ["VenueConfig"]


@dataclass(frozen=True)
class VenueConfig:
    """One venue. Fees are fractions of notional (0.001 = 10 bps); a negative fee is a rebate."""

    name: str
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    latency_us: int = 0
    dark: bool = False
    min_size: Decimal = Decimal(0)
    priority: int = 0

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any], *, where: str = "venues") -> VenueConfig:
        """One `[[venues]]` entry; a key that is not a field is refused (`where` names it)."""
        refuse_unknown(entry, (field.name for field in fields(cls)), where)
        return cls(
            name=str(entry["name"]),
            maker_fee=Decimal(str(entry.get("maker_fee", 0))),
            taker_fee=Decimal(str(entry.get("taker_fee", 0))),
            latency_us=int(entry.get("latency_us", 0)),
            dark=bool(entry.get("dark", False)),
            min_size=Decimal(str(entry.get("min_size", 0))),
            priority=int(entry.get("priority", 0)),
        )

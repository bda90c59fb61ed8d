"""The simulated venue gateway's core: slices in, execution reports out, market data matched.

Every configured venue is simulated, each matching against its own market data (quotes,
trades and books whose `venue` is its name), but those the configuration reaches through the
ccxt gateway (`[gateway.venues.<name>]`): their slices are the gateway's. Every market event
moves every venue's clock, because all venues live on one timeline.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from fillstream.connectors.simvenue.venue import SimulatedVenue
from fillstream.domain.instruments import InstrumentBook
from fillstream.domain.reports import rejected
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import ClockTick, ExecutionReport, Slice
from fillstream.streams.stages import Emit

__all__ = ["VenueStage"]


class VenueStage:
    inputs = ("slices", "market.quotes", "market.trades", "market.book", "clock")
    outputs = ("fills", "fills.accounts")
    durable = ("venues",)
    venues: dict[str, SimulatedVenue]

    def __init__(
        self,
        venues: Mapping[str, VenueConfig],
        instruments: InstrumentBook,
        elsewhere: Collection[str],
    ) -> None:
        self.venues = {
            name: SimulatedVenue(
                venue,
                [
                    instrument
                    for (listed_on, _), instrument in instruments.instruments.items()
                    if listed_on == name
                ],
            )
            for name, venue in venues.items()
            if name not in elsewhere
        }
        self.elsewhere = frozenset(elsewhere)

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        reports: list[ExecutionReport] = []
        if topic == "slices":
            child: Slice = record
            if child.venue in self.elsewhere:
                return []
            venue = self.venues.get(child.venue)
            reports = venue.submit(child) if venue is not None else [_unknown_venue(child)]
        elif topic == "clock":
            tick: ClockTick = record
            for venue in self.venues.values():
                reports += venue.advance(tick.timestamp)
        else:
            for venue in self.venues.values():
                reports += venue.on_market(record)
        emits = [Emit("fills", report) for report in reports]
        # Risk is partitioned by account: it reads the executions again, keyed so.
        emits += [Emit("fills.accounts", r) for r in reports if r.last_quantity > 0]
        return emits


def _unknown_venue(child: Slice) -> ExecutionReport:
    return rejected(
        child,
        report_id=f"{child.slice_id}:1",
        venue=child.venue,
        reason=f"no venue {child.venue!r} is configured",
        timestamp=child.created_at,
    )

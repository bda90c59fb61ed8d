"""The router processor's core: approved parent orders in, parent orders with a venue plan out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fillstream.domain.ids import RecentIds
from fillstream.domain.instruments import Instrument, InstrumentBook, PublishedRules
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import ParentOrder, Quote, Rejection, RoutedOrder
from fillstream.schemas.trusted import trusted
from fillstream.streams.routing import NoVenue, plan_route
from fillstream.streams.stages import Emit

__all__ = ["STAGE", "RouterStage"]

STAGE = "router"  # `stage` of the rejections the router publishes


class RouterStage:
    """Routes with the latest quote of every venue (the consolidated `nbbo` is not a venue)."""

    inputs = ("orders.approved", "market.quotes", "venue.instruments")
    outputs = ("orders.routed", "orders.rejected")
    durable = ("quotes", "published.rules", "routed")
    quotes: dict[str, dict[str, Quote]]  # by symbol, then venue
    published: PublishedRules
    # Orders routed or refused: an approval delivered again (risk restarted from its last
    # checkpoint) must not be routed again against the quotes of now.
    routed: RecentIds

    def __init__(self, venues: Mapping[str, VenueConfig], instruments: InstrumentBook) -> None:
        self.venues = venues
        self.instruments = instruments
        self.quotes = {}
        self.published = PublishedRules()
        self.routed = RecentIds()

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "market.quotes":
            quote: Quote = record
            if quote.venue in self.venues:
                self.quotes.setdefault(quote.symbol, {})[quote.venue] = quote
            return []
        if topic == "venue.instruments":
            self.published.learn(Instrument.from_rules(record))
            return []
        parent: ParentOrder = record
        if parent.order_id in self.routed:
            return []
        self.routed.remember(parent.order_id)
        return [self.route(parent, now_us)]

    def route(self, parent: ParentOrder, now_us: int) -> Emit:
        signal = parent.signal
        quotes: Mapping[str, Quote] = self.quotes.get(signal.symbol, {})
        try:
            instruments = self.published.over(self.instruments)
            plan = plan_route(signal, self.venues, quotes, instruments)
        except NoVenue as error:
            rejection = Rejection(
                signal_id=signal.signal_id,
                order_id=parent.order_id,
                account_id=signal.account_id,
                strategy_id=signal.strategy_id,
                symbol=signal.symbol,
                reason_code="NO_VENUE",
                reason=str(error),
                stage=STAGE,
                signal=signal,
                rejected_at=now_us,
            )
            return Emit("orders.rejected", rejection)
        # from validated records: the approved order and the plan built from it
        routed = trusted(RoutedOrder, order=parent, venue_plan=plan, routed_at=now_us)
        return Emit("orders.routed", routed)

"""The simulated venue: a pure matching engine against recorded or synthetic market data.

`SimulatedVenue` takes market events, slices and clock ticks and returns execution reports,
deterministically. Each module documents its part of the semantics:
- `venue.py`: time and latency, order identity and re-delivery, cancel and replace;
- `matching.py`: taking liquidity, time in force, resting fills, stops, icebergs;
- `orders.py`: the queue-position model;
- `book.py`: the venue's view of the book and the liquidity we took from it;
- `rules.py`: what the venue refuses (instrument rules at the venue edge);
- `session.py`: when DAY orders expire;
- `blotter.py`: report ids, cumulative fields, fees and average price;
- `exact.py`: exact decimal arithmetic.
"""

from fillstream.connectors.simvenue.matching import MarketEvent
from fillstream.connectors.simvenue.orders import OpenOrder
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.connectors.simvenue.session import SessionRule
from fillstream.connectors.simvenue.venue import SimulatedVenue

__all__ = ["MarketEvent", "OpenOrder", "SessionRule", "SimulatedVenue", "VenueReason"]

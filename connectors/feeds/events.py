"""The unit every feed yields: a market record with its topic and the time it belongs to.

Feeds are pure generators, so the replay harness and the live publisher can share them: the
harness merges events of many feeds by `timestamp`, the publisher sends `record` to `topic`.
Every feed yields its events in timestamp order, ties in source order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from fillstream.connectors.feeds.report import FeedReport
from fillstream.schemas.models import BookUpdate, Quote, Trade
from fillstream.schemas.topics import CATALOG

__all__ = [
    "MINUTE_US",
    "MarketEvent",
    "MarketRecord",
    "in_time_order",
    "merge_in_time",
    "microseconds_since_epoch",
]

MarketRecord = Quote | Trade | BookUpdate

MINUTE_US = 60_000_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Topic names come from the catalog, so a renamed topic cannot leave the feeds behind.
_TOPIC_OF_RECORD = {
    spec.record: spec.name
    for spec in CATALOG
    if spec.record in {Quote.__name__, Trade.__name__, BookUpdate.__name__}
}


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """One record for `market.quotes`, `market.trades` or `market.book`, at `timestamp` (µs UTC)."""

    timestamp: int
    topic: str
    record: MarketRecord

    @classmethod
    def of(cls, record: MarketRecord) -> MarketEvent:
        """The event of a record: its own timestamp, the catalog's topic for its type."""
        return cls(record.timestamp, _TOPIC_OF_RECORD[type(record).__name__], record)


def microseconds_since_epoch(moment: datetime) -> int:
    """An aware datetime as the wire's time: integer µs since the Unix epoch (no float)."""
    return (moment - _EPOCH) // _MICROSECOND


def in_time_order(
    events: Iterable[MarketEvent], *, horizon_us: int, report: FeedReport | None = None
) -> Iterator[MarketEvent]:
    """Sort a stream that is out of order by at most `horizon_us`, in memory bounded by it.

    Recorded streams are in arrival order, which differs from event time by network jitter
    (a fraction of a second), so a full sort would hold a whole day in memory for nothing. An
    event is held until one `horizon_us` newer has been seen; ties keep source order. An event
    later than that cannot be placed any more: it is passed on at once and reported as
    `late_events`, so the output is sorted whenever the input's disorder fits the horizon.
    """
    held: list[tuple[int, int, MarketEvent]] = []
    newest = released = None
    for sequence, event in enumerate(events):
        if released is not None and event.timestamp < released and report is not None:
            report.warn(
                "late_events",
                f"{event.topic} event at {event.timestamp} µs arrived after {released} µs had "
                f"been released (beyond the {horizon_us} µs reorder horizon); passed on late",
            )
        heapq.heappush(held, (event.timestamp, sequence, event))
        newest = event.timestamp if newest is None else max(newest, event.timestamp)
        while held and held[0][0] <= newest - horizon_us:
            released = held[0][0]
            yield heapq.heappop(held)[2]
    while held:
        yield heapq.heappop(held)[2]


def merge_in_time(*streams: Iterable[MarketEvent]) -> Iterator[MarketEvent]:
    """Merge streams already in timestamp order; on ties, earlier arguments come first."""
    return heapq.merge(*streams, key=attrgetter("timestamp"))

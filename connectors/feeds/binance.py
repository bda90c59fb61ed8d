"""Binance raw stream captures → market events, for spot (`binance`) and USD-M futures
(`binanceusdm`).

A capture is what a recorder writes while subscribed to Binance's combined streams: gzip or
plain text, one message per line, `<local receive time, ns> <json>`. Streams: `<sym>@trade` /
`@aggTrade` (→ Trade), `@bookTicker` (→ Quote), `@depth@100ms` (→ BookUpdate diffs) and the
REST depth snapshot `{"lastUpdateId", "bids", "asks"}` the recorder fetches (→ BookUpdate
snapshot). Subscription replies and unknown messages are counted and skipped.

Time. Everything is put on the exchange's clock, because the recorder's clock is off (about
1.27 s behind in the sample) and because venue fills, trades and books must line up. A message
with an exchange time uses it (`T`, the matching-engine time, else `E`, the push time); one
without (spot bookTicker, the spot REST snapshot) gets its local receive time plus the typical
`E - local` of its minute (`ClockOffset`), and every event keeps the raw local time in
`received_at`.

Book. Diffs are sequenced with Binance's rules (`DepthSequencer`): a gap stops the symbol's book
diffs until the next snapshot, and is counted as `book_gaps` in the `FeedReport`.
"""

from __future__ import annotations

import bisect
import json
import re
import statistics
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fillstream.connectors.feeds.events import (
    MINUTE_US,
    MarketEvent,
    MarketRecord,
    in_time_order,
)
from fillstream.connectors.feeds.files import open_text
from fillstream.connectors.feeds.report import FeedReport
from fillstream.connectors.feeds.symbols import unify_symbol
from fillstream.schemas.decimals import parse_decimal
from fillstream.schemas.models import BookUpdate, BookUpdateKind, PriceLevel, Quote, Side, Trade

__all__ = [
    "FUTURES",
    "SPOT",
    "CaptureScan",
    "ClockOffset",
    "DepthSequencer",
    "read_capture",
    "scan_capture",
]

SPOT = "binance"
FUTURES = "binanceusdm"
_FUTURES_SETTLE = "USDT"

# Streams arrive out of exchange-time order by network jitter (at most 0.21 s in the sample);
# ten seconds of reordering room is ample and keeps memory to ten seconds of messages.
REORDER_HORIZON_US = 10_000_000

# Pass one reads only what it needs, with regular expressions: an order of magnitude cheaper
# than decoding the JSON twice.
_PUSH_TIME = re.compile(r'"E":\s*(\d+)')
_VENUE_SYMBOL = re.compile(r'"s":\s*"([A-Za-z0-9_]+)"')
# Only USD-M futures send `pu` in depth diffs, aggTrade, and an event type on bookTicker.
_FUTURES_MARK = re.compile(r'"pu":|"e":\s*"(?:aggTrade|bookTicker)"')


@dataclass(frozen=True)
class ClockOffset:
    """Exchange time minus local receive time (µs), one median per minute of local time.

    Why a median: queueing only ever delays a message, so `E - local` has a long one-sided
    tail that would drag a mean; the median is the typical delay. Why per minute and not one
    number for the file: the recorder's clock drifts (+1.5 ms over the six minutes of the
    sample, a few hundred ms over a day), and a minute holds thousands of samples in a busy
    market. Minutes without samples borrow the nearest minute's median.
    """

    minutes: tuple[int, ...]
    medians: tuple[int, ...]

    def at(self, local_us: int) -> int:
        """The offset to add to a local receive time to put it on the exchange's clock."""
        if not self.minutes:
            return 0
        minute = local_us // MINUTE_US
        index = bisect.bisect_left(self.minutes, minute)
        if index == len(self.minutes) or (
            index > 0 and minute - self.minutes[index - 1] < self.minutes[index] - minute
        ):
            index -= 1
        return self.medians[index]

    @property
    def overall(self) -> int | None:
        """The median of the minutes' medians: one number to report; None without samples."""
        return round(statistics.median(self.medians)) if self.medians else None

    @classmethod
    def estimate(cls, samples: Iterable[tuple[int, int]]) -> ClockOffset:
        """From (local µs, exchange µs) pairs in local-time order, as a recorder writes them."""
        minutes: list[int] = []
        medians: list[int] = []
        bucket: list[int] = []
        for local_us, exchange_us in samples:
            minute = local_us // MINUTE_US
            if not minutes or minute > minutes[-1]:  # a clock stepping back stays in its minute
                if bucket:
                    medians.append(round(statistics.median(bucket)))
                minutes.append(minute)
                bucket = []
            bucket.append(exchange_us - local_us)
        if bucket:
            medians.append(round(statistics.median(bucket)))
        return cls(tuple(minutes), tuple(medians))


@dataclass(frozen=True)
class CaptureScan:
    """What a first pass over a capture learns: the market, its symbols and the clock offset."""

    venue: str
    symbols: frozenset[str]
    offset: ClockOffset


def scan_capture(path: Path) -> CaptureScan:
    """First pass: venue (futures if any futures-only field shows), symbols, clock offset."""
    futures = False
    symbols: set[str] = set()

    def samples() -> Iterator[tuple[int, int]]:
        nonlocal futures
        with open_text(path) as text:
            for line in text:
                stamp, _, message = line.partition(" ")
                if not stamp.isdigit():
                    continue  # the second pass reports the line
                futures = futures or _FUTURES_MARK.search(message) is not None
                if symbol := _VENUE_SYMBOL.search(message):
                    symbols.add(symbol[1])
                if push := _PUSH_TIME.search(message):
                    yield int(stamp) // 1000, int(push[1]) * 1000

    offset = ClockOffset.estimate(samples())
    return CaptureScan(FUTURES if futures else SPOT, frozenset(symbols), offset)


class DepthSequencer:
    """Binance's rules for keeping one symbol's book in step with snapshots and diffs.

    Spot: drop diffs with `u <= lastUpdateId` (Binance's documented rule; the data README's
    `u < lastUpdateId` differs only for a diff ending exactly at the snapshot, which adds
    nothing and would then fail the next check), the first applied diff must have
    `U <= lastUpdateId + 1 <= u`, each later one `U = previous u + 1`. Futures: drop
    `u < lastUpdateId`, the first applied diff must have `U <= lastUpdateId <= u`, each later
    one `pu = previous u`.

    Diffs that arrive before the first snapshot or after a gap are buffered (the newest
    `buffer_limit`), as Binance prescribes: a recorder fetches the snapshot after subscribing,
    so the diffs that follow the snapshot may already have arrived. A gap is reported and
    stops the diffs until a snapshot arrives; no invented book is ever published.

    A snapshot is held back until its first diff: a REST reply arrives late, so its estimated
    time can come after the diffs that follow it, and it takes the earlier of the two times.
    Call `flush` at the end of the input to release a snapshot no diff followed.
    """

    def __init__(
        self, symbol: str, *, futures: bool, report: FeedReport, buffer_limit: int = 1000
    ) -> None:
        self._symbol = symbol
        self._futures = futures
        self._report = report
        self._book_id: int | None = None  # the update id the published book has reached
        self._pending: BookUpdate | None = None  # a snapshot waiting for its first diff
        self._buffer: deque[tuple[BookUpdate, int | None]] = deque(maxlen=buffer_limit)

    def snapshot(self, snapshot: BookUpdate) -> list[BookUpdate]:
        """Take a snapshot; returns what may be published now."""
        last_id = _update_id(snapshot.last_update_id)
        if self._pending is None and self._book_id is not None and last_id <= self._book_id:
            self._report.count("stale_snapshots")  # the published book is already past it
            return []
        published = self.flush()  # a snapshot superseded before any diff is still a true state
        self._pending, self._book_id = snapshot, last_id
        buffered = list(self._buffer)
        self._buffer.clear()
        for diff, previous_id in buffered:
            published += self.diff(diff, previous_id)
        return published

    def diff(self, diff: BookUpdate, previous_id: int | None = None) -> list[BookUpdate]:
        """Take a diff (`previous_id` is futures' `pu`); returns what may be published now."""
        if self._book_id is None:
            self._buffer.append((diff, previous_id))
            return []
        first, last = _update_id(diff.first_update_id), _update_id(diff.last_update_id)
        book_id = self._book_id
        published: list[BookUpdate] = []
        if self._pending is not None:
            if last < book_id or (last == book_id and not self._futures):
                self._report.count("stale_diffs")
                return []
            snapshot, self._pending = self._pending, None
            timestamp = min(snapshot.timestamp, diff.timestamp)
            published.append(snapshot.model_copy(update={"timestamp": timestamp}))
            target = book_id if self._futures else book_id + 1
            fits = first <= target <= last
        elif self._futures:
            fits = previous_id == book_id
        else:
            fits = first == book_id + 1
        if not fits:
            self._gap(diff, previous_id)
            return published
        self._book_id = last
        published.append(diff)
        return published

    def flush(self) -> list[BookUpdate]:
        """Release a snapshot still waiting for its first diff (at the end of the input)."""
        pending, self._pending = self._pending, None
        return [] if pending is None else [pending]

    def _gap(self, diff: BookUpdate, previous_id: int | None) -> None:
        found = f"pu={previous_id}" if self._futures else f"U={diff.first_update_id}"
        self._report.warn(
            "book_gaps",
            f"{self._symbol}: depth gap after update {self._book_id} (diff with {found}, "
            f"u={diff.last_update_id}); book diffs paused until the next snapshot",
        )
        self._book_id = None
        self._buffer.append((diff, previous_id))


def read_capture(
    path: Path,
    *,
    venue: str | None = None,
    report: FeedReport | None = None,
    horizon_us: int = REORDER_HORIZON_US,
) -> Iterator[MarketEvent]:
    """Every trade, quote and book update of a capture, in exchange-time order.

    Two passes: `scan_capture` (venue unless given, symbols, clock offset), then the events.
    Problems (gaps, unknown messages) go to `report`.
    """
    report = FeedReport() if report is None else report
    scan = scan_capture(path)
    if scan.offset.overall is None:
        report.warn("no_exchange_time", f"{path.name}: no exchange times; local times used")
    reader = _CaptureReader(venue or scan.venue, scan, report)
    yield from in_time_order(reader.events(path), horizon_us=horizon_us, report=report)


class _CaptureReader:
    """Second pass: one line at a time to records, book diffs through a sequencer per symbol."""

    def __init__(self, venue: str, scan: CaptureScan, report: FeedReport) -> None:
        self._venue = venue
        self._futures = venue == FUTURES
        self._scan = scan
        self._report = report
        self._sequencers: dict[str, DepthSequencer] = {}

    def events(self, path: Path) -> Iterator[MarketEvent]:
        with open_text(path) as text:
            for number, line in enumerate(text, start=1):
                stamp, _, message = line.partition(" ")
                try:
                    records = self._records(int(stamp) // 1000, json.loads(message))
                except (ValueError, KeyError, TypeError) as error:
                    self._report.warn(
                        "invalid_lines", f"{path.name} line {number} skipped: {error!r}"
                    )
                    continue
                for record in records:
                    yield MarketEvent.of(record)
        for sequencer in self._sequencers.values():
            for update in sequencer.flush():
                yield MarketEvent.of(update)

    def _records(self, local_us: int, message: Any) -> Sequence[MarketRecord]:
        if isinstance(message, Mapping) and "lastUpdateId" in message:
            return self._snapshot(local_us, message)
        data = message.get("data", message) if isinstance(message, Mapping) else None
        if not isinstance(data, Mapping):
            self._report.count("unknown_messages")
            return []
        kind = data.get("e") or ("bookTicker" if "A" in data else None)
        if kind in {"trade", "aggTrade"}:
            return [self._trade(local_us, data)]
        if kind == "bookTicker":
            return [self._quote(local_us, data)]
        if kind == "depthUpdate":
            diff = self._book(local_us, data, BookUpdateKind.DIFF, data["s"])
            return self._sequencer(data["s"]).diff(diff, data.get("pu"))
        self._report.count("unknown_messages")
        return []

    def _symbol(self, venue_symbol: str) -> str:
        return unify_symbol(venue_symbol, _FUTURES_SETTLE if self._futures else None)

    def _timestamp(self, local_us: int, data: Mapping[str, Any]) -> int:
        exchange_ms = data.get("T") or data.get("E")
        if exchange_ms is not None:
            return int(exchange_ms) * 1000
        return local_us + self._scan.offset.at(local_us)

    def _trade(self, local_us: int, data: Mapping[str, Any]) -> Trade:
        return Trade(
            symbol=self._symbol(data["s"]),
            venue=self._venue,
            trade_id=str(data["t"] if "t" in data else data["a"]),
            price=parse_decimal(data["p"]),
            quantity=parse_decimal(data["q"]),
            # m: the buyer was the maker, so the seller took liquidity
            aggressor_side=Side.SELL if data["m"] else Side.BUY,
            timestamp=self._timestamp(local_us, data),
            received_at=local_us,
        )

    def _quote(self, local_us: int, data: Mapping[str, Any]) -> Quote:
        bid_price, ask_price = parse_decimal(data["b"]), parse_decimal(data["a"])
        return Quote(
            symbol=self._symbol(data["s"]),
            venue=self._venue,
            # an empty side comes as price 0: absent, not a price
            bid_price=bid_price or None,
            bid_size=parse_decimal(data["B"]) if bid_price else None,
            ask_price=ask_price or None,
            ask_size=parse_decimal(data["A"]) if ask_price else None,
            timestamp=self._timestamp(local_us, data),
            received_at=local_us,
        )

    def _snapshot(self, local_us: int, message: Mapping[str, Any]) -> list[BookUpdate]:
        # A REST reply names no symbol: recorders write one file per symbol.
        if len(self._scan.symbols) != 1:
            self._report.warn(
                "unattributed_snapshots",
                f"a depth snapshot (lastUpdateId {message['lastUpdateId']}) in a capture of "
                f"{len(self._scan.symbols)} symbols cannot be attributed; skipped",
            )
            return []
        (venue_symbol,) = self._scan.symbols
        snapshot = self._book(local_us, message, BookUpdateKind.SNAPSHOT, venue_symbol)
        return self._sequencer(venue_symbol).snapshot(snapshot)

    def _book(
        self, local_us: int, data: Mapping[str, Any], kind: BookUpdateKind, venue_symbol: str
    ) -> BookUpdate:
        snapshot = kind is BookUpdateKind.SNAPSHOT
        return BookUpdate(
            symbol=self._symbol(venue_symbol),
            venue=self._venue,
            kind=kind,
            bids=_levels(data["bids" if snapshot else "b"], best_is_highest=True),
            asks=_levels(data["asks" if snapshot else "a"], best_is_highest=False),
            first_update_id=None if snapshot else data["U"],
            last_update_id=data["lastUpdateId" if snapshot else "u"],
            timestamp=self._timestamp(local_us, data),
            received_at=local_us,
        )

    def _sequencer(self, venue_symbol: str) -> DepthSequencer:
        if venue_symbol not in self._sequencers:
            self._sequencers[venue_symbol] = DepthSequencer(
                self._symbol(venue_symbol), futures=self._futures, report=self._report
            )
        return self._sequencers[venue_symbol]


def _levels(pairs: Iterable[list[str]], *, best_is_highest: bool) -> list[PriceLevel]:
    """[[price, quantity], ...] as exact levels, best first (Binance sends them so; made sure)."""
    levels = [
        PriceLevel(price=parse_decimal(price), quantity=parse_decimal(size))
        for price, size in pairs
    ]
    levels.sort(key=lambda level: level.price, reverse=best_is_highest)
    return levels


def _update_id(value: int | None) -> int:
    if value is None:
        raise ValueError("a sequenced book update needs its update ids")
    return value

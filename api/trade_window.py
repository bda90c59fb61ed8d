"""A symbol's last trade and its 24-hour volume, high and low, from `market.trades` (pure).

The API follows `market.trades` from the beginning and may run for months, so it cannot keep
the trades: it keeps one bucket per minute (volume, high, low, count) for the last 1,440
minutes, and the last trade. Memory is bounded per symbol whatever the trade rate. The
window is in market time, as every stage reads time: it ends at the time the caller gives
(the API: the latest market data seen for the symbol), so a recorded day replayed years later
still shows that day's figures. Its edge moves a minute at a time: the 24 hours are the
1,440 whole minutes up to and including the one `now` falls in. A trade re-delivered (the
same venue and trade id among the recent ones) counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fillstream.domain.ids import RecentIds
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import Trade

__all__ = ["MINUTE_US", "WINDOW_MINUTES", "TradeWindow"]

MINUTE_US = 60_000_000
WINDOW_MINUTES = 24 * 60


@dataclass
class _Minute:
    volume: Decimal
    high: Decimal
    low: Decimal
    count: int


@dataclass
class TradeWindow:
    last: Trade | None = None
    minutes: dict[int, _Minute] = field(default_factory=dict)  # minute since the epoch → bucket
    newest: int = 0  # the latest minute a trade fell in
    seen: RecentIds = field(default_factory=lambda: RecentIds(1_000))

    def add(self, trade: Trade) -> None:
        """Fold a trade in. One older than the window (as the newest trade sets it) no longer
        counts in the figures, but is still the last trade if none later was seen."""
        key = f"{trade.venue}\x00{trade.trade_id}"
        if key in self.seen:
            return
        self.seen.remember(key)
        if self.last is None or trade.timestamp >= self.last.timestamp:
            self.last = trade
        minute = trade.timestamp // MINUTE_US
        if minute <= self.newest - WINDOW_MINUTES:
            return
        bucket = self.minutes.get(minute)
        if bucket is None:
            self.minutes[minute] = _Minute(trade.quantity, trade.price, trade.price, 1)
        else:
            bucket.volume += trade.quantity
            bucket.high = max(bucket.high, trade.price)
            bucket.low = min(bucket.low, trade.price)
            bucket.count += 1
        if minute > self.newest:
            self.newest = minute
            for old in [m for m in self.minutes if m <= minute - WINDOW_MINUTES]:
                del self.minutes[old]

    def _buckets(self, now_us: int) -> list[_Minute]:
        end = now_us // MINUTE_US
        return [b for m, b in self.minutes.items() if end - WINDOW_MINUTES < m <= end]

    def volume(self, now_us: int) -> Decimal:
        """The quantity traded in the 24 h ending at `now_us`."""
        return sum((b.volume for b in self._buckets(now_us)), Decimal(0))

    def pace(self, now_us: int) -> Decimal | None:
        """The quantity traded per second in the window ending at `now_us`, over the minutes it
        has seen: from its earliest minute with a trade to the one `now_us` falls in. A window
        followed for minutes is paced by those minutes, not spread over a day; None without
        trades."""
        end = now_us // MINUTE_US
        minutes = [m for m in self.minutes if end - WINDOW_MINUTES < m <= end]
        if not minutes:
            return None
        seconds = (end - min(minutes) + 1) * 60
        return self.volume(now_us) / seconds

    def stats(self, now_us: int) -> dict[str, Any]:
        """The last trade and the 24 h ending at `now_us`: volume (the quantity traded),
        high, low and the number of trades; None for a window without trades."""
        buckets = self._buckets(now_us)
        last = self.last
        return {
            "last_price": None if last is None else format_decimal(last.price),
            "last_quantity": None if last is None else format_decimal(last.quantity),
            "last_venue": None if last is None else last.venue,
            "last_trade_at": None if last is None else last.timestamp,
            "volume_24h": format_decimal(self.volume(now_us)),
            "high_24h": format_decimal(max(b.high for b in buckets)) if buckets else None,
            "low_24h": format_decimal(min(b.low for b in buckets)) if buckets else None,
            "trades_24h": sum(b.count for b in buckets),
            "window_end": now_us,
        }

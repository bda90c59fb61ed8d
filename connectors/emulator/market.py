"""The recorded market as the emulator's public endpoints show it: depth, recent trades, 24h stats.

Depth is the recorded book (the simulated venue's `BookView` fed the same events), without the
liquidity our own orders took: other participants' orders, as the venue's matching sees them.
Trades are the recorded prints; our own fills are not on the public tape, since the recording
stands for the other participants.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fillstream.connectors.emulator.orders import ms, text
from fillstream.connectors.simvenue.book import BookView
from fillstream.connectors.simvenue.matching import MarketEvent
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import BookUpdate, Quote, Side, Trade

__all__ = ["DAY_US", "PublicTrade", "SymbolMarket"]

DAY_US = 86_400_000_000
_RECENT_TRADES = 1_000  # what aggTrades can return at most
_ZERO = Decimal(0)
_PERCENT = Decimal("0.001")
_PRICE = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class PublicTrade:
    id: int
    price: Decimal
    quantity: Decimal
    timestamp: int
    buyer_is_maker: bool  # the aggressor sold


@dataclass
class SymbolMarket:
    """One symbol's public market: its book, its recent trades and the last 24 hours of prints."""

    book: BookView = field(default_factory=BookView)
    trades: deque[PublicTrade] = field(default_factory=lambda: deque(maxlen=_RECENT_TRADES))
    day: deque[PublicTrade] = field(default_factory=deque)
    updates: int = 0  # depth's `lastUpdateId`: one per change of the book
    now: int = 0

    def on_market(self, event: MarketEvent) -> None:
        self.now = max(self.now, event.timestamp)
        match event:
            case Trade():
                trade = PublicTrade(
                    id=self.trades[-1].id + 1 if self.trades else 1,
                    price=event.price,
                    quantity=event.quantity,
                    timestamp=event.timestamp,
                    buyer_is_maker=event.aggressor_side is Side.SELL,
                )
                self.trades.append(trade)
                self.day.append(trade)
                self.book.clear_through(event.price, event.timestamp)
            case BookUpdate():
                self.book.apply(event)
            case Quote():
                self.book.apply_quote(event)
        self.updates += 1
        while self.day and self.day[0].timestamp <= self.now - DAY_US:
            self.day.popleft()

    def depth(self, side: Side, limit: int) -> list[tuple[Decimal, Decimal]]:
        """The best `limit` levels on `side` (`Side.BUY` the bids), best first."""
        levels = []
        for level in self.book.levels(side):
            if len(levels) == limit:
                break
            levels.append(level)
        return levels

    def render_depth(self, limit: int) -> dict[str, Any]:
        return {
            "lastUpdateId": self.updates,
            "bids": [_pair(level) for level in self.depth(Side.BUY, limit)],
            "asks": [_pair(level) for level in self.depth(Side.SELL, limit)],
        }

    def render_agg_trades(
        self, limit: int, from_id: int | None, start_ms: int | None, end_ms: int | None
    ) -> list[dict[str, Any]]:
        """Recent prints, oldest first; each recorded trade is its own aggregate."""
        chosen = [
            trade
            for trade in self.trades
            if (from_id is None or trade.id >= from_id)
            and (start_ms is None or ms(trade.timestamp) >= start_ms)
            and (end_ms is None or ms(trade.timestamp) <= end_ms)
        ]
        chosen = chosen[:limit] if from_id is not None or start_ms is not None else chosen[-limit:]
        return [
            {
                "a": trade.id,
                "p": format_decimal(trade.price),
                "q": format_decimal(trade.quantity),
                "f": trade.id,
                "l": trade.id,
                "T": ms(trade.timestamp),
                "m": trade.buyer_is_maker,
                "M": True,
            }
            for trade in chosen
        ]

    def render_ticker(self, symbol: str) -> dict[str, Any]:
        """The last 24 hours of prints and the current touch (zeros where there is nothing)."""
        day = self.day
        bid = next(iter(self.depth(Side.BUY, 1)), (_ZERO, _ZERO))
        ask = next(iter(self.depth(Side.SELL, 1)), (_ZERO, _ZERO))
        first, last = (day[0], day[-1]) if day else (None, None)
        open_, close = (first.price, last.price) if first and last else (_ZERO, _ZERO)
        volume = sum((trade.quantity for trade in day), _ZERO)
        quote_volume = sum((trade.quantity * trade.price for trade in day), _ZERO)
        change = close - open_
        percent = (100 * change / open_).quantize(_PERCENT) if open_ else _ZERO
        average = (quote_volume / volume).quantize(_PRICE) if volume else _ZERO
        return {
            "symbol": symbol,
            "priceChange": text(change),
            "priceChangePercent": text(percent),
            "weightedAvgPrice": text(average),
            "prevClosePrice": text(open_),
            "lastPrice": text(close),
            "lastQty": text(last.quantity if last else _ZERO),
            "bidPrice": text(bid[0]),
            "bidQty": text(bid[1]),
            "askPrice": text(ask[0]),
            "askQty": text(ask[1]),
            "openPrice": text(open_),
            "highPrice": text(max((t.price for t in day), default=_ZERO)),
            "lowPrice": text(min((t.price for t in day), default=_ZERO)),
            "volume": text(volume),
            "quoteVolume": text(quote_volume),
            "openTime": ms(max(self.now - DAY_US, 0)),
            "closeTime": ms(self.now),
            "firstId": first.id if first else -1,
            "lastId": last.id if last else -1,
            "count": len(day),
        }


def _pair(level: tuple[Decimal, Decimal]) -> list[str]:
    return [format_decimal(level[0]), format_decimal(level[1])]

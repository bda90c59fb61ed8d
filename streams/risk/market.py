"""The market as risk sees it: best bid and ask across venues, and the last trade, per symbol.

The shell feeds it quotes and trades; the checks read two prices from it. A quote older than
the one held for its venue, or a trade older than the last one, is ignored: a late record must
not move the reference backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.schemas.models import Quote, Side, Signal, Trade

__all__ = ["MarketView", "order_notional", "order_price"]


@dataclass(slots=True)
class _Prices:
    """One symbol: each venue's latest quote, the best of them, and the last trade."""

    quotes: dict[str, Quote] = field(default_factory=dict)
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    last_at: int = -1


@dataclass(slots=True)
class MarketView:
    """Best bid/ask and last price per symbol, kept up to date by the shell."""

    _symbols: dict[str, _Prices] = field(default_factory=dict)

    def update_quote(self, quote: Quote) -> None:
        prices = self._symbols.setdefault(quote.symbol, _Prices())
        held = prices.quotes.get(quote.venue)
        if held is not None and held.timestamp > quote.timestamp:
            return
        prices.quotes[quote.venue] = quote
        bids = [q.bid_price for q in prices.quotes.values() if q.bid_price is not None]
        asks = [q.ask_price for q in prices.quotes.values() if q.ask_price is not None]
        prices.bid = max(bids, default=None)
        prices.ask = min(asks, default=None)

    def update_trade(self, trade: Trade) -> None:
        prices = self._symbols.setdefault(trade.symbol, _Prices())
        if trade.timestamp >= prices.last_at:
            prices.last, prices.last_at = trade.price, trade.timestamp

    def touch(self, symbol: str, side: Side) -> Decimal | None:
        """What a market order would pay: the best ask for a buy, bid for a sell, else the last."""
        prices = self._symbols.get(symbol)
        if prices is None:
            return None
        near = prices.ask if side is Side.BUY else prices.bid
        return near if near is not None else prices.last

    def reference_price(self, symbol: str) -> Decimal | None:
        """The fair price collars are measured from: the mid, else the last trade price."""
        prices = self._symbols.get(symbol)
        if prices is None:
            return None
        if prices.bid is not None and prices.ask is not None:
            return (prices.bid + prices.ask) / 2
        return prices.last


def order_price(signal: Signal, market: MarketView) -> Decimal | None:
    """The price an order is valued at: its limit price, else its stop price (a stop becomes a
    market order near it), else what a market order would pay now; None if nothing is known."""
    if signal.price is not None:
        return signal.price
    if signal.stop_price is not None:
        return signal.stop_price
    return market.touch(signal.symbol, signal.side)


def order_notional(signal: Signal, market: MarketView) -> Decimal | None:
    """Quantity times `order_price`: what size and daily limits count."""
    price = order_price(signal, market)
    return None if price is None else signal.quantity * price

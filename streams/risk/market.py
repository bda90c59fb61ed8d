"""The market as risk sees it: best bid and ask across venues, and the last trade, per symbol.

The shell feeds it reference prices (`reference_of` a quote or a trade); the checks read two
prices from it. A quote older than the one held for its venue, or a trade older than the last
one, is ignored: a late record must not move the reference backwards.

Risk is partitioned by account while market data is partitioned by symbol, so a risk worker
would see only the symbols that share its partitions. The publisher therefore copies each
quote's and trade's prices to every partition of `market.reference` (see `reference_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.schemas.models import Quote, ReferencePrice, Side, Signal, Trade

__all__ = ["MarketView", "order_price", "reference_of"]


def reference_of(record: object) -> ReferencePrice | None:
    """The prices risk needs from a market record: a quote's best bid and ask, a trade's
    price; None for anything else (book depth)."""
    match record:
        case Quote():
            return ReferencePrice(
                symbol=record.symbol,
                venue=record.venue,
                bid_price=record.bid_price,
                ask_price=record.ask_price,
                timestamp=record.timestamp,
            )
        case Trade():
            return ReferencePrice(
                symbol=record.symbol,
                venue=record.venue,
                last_price=record.price,
                timestamp=record.timestamp,
            )
    return None


@dataclass(slots=True)
class _Prices:
    """One symbol: each venue's latest quote, the best of them, and the last trade."""

    quotes: dict[str, ReferencePrice] = field(default_factory=dict)
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    last_at: int = -1


@dataclass(slots=True)
class MarketView:
    """Best bid/ask and last price per symbol, kept up to date by the shell."""

    symbols: dict[str, _Prices] = field(default_factory=dict)

    def update(self, record: ReferencePrice | Quote | Trade) -> None:
        reference = record if isinstance(record, ReferencePrice) else reference_of(record)
        if reference is None:
            return
        if reference.last_price is not None:
            self._update_trade(reference)
        else:
            self._update_quote(reference)

    def _update_quote(self, quote: ReferencePrice) -> None:
        prices = self.symbols.setdefault(quote.symbol, _Prices())
        held = prices.quotes.get(quote.venue)
        if held is not None and held.timestamp > quote.timestamp:
            return
        prices.quotes[quote.venue] = quote
        bids = [q.bid_price for q in prices.quotes.values() if q.bid_price is not None]
        asks = [q.ask_price for q in prices.quotes.values() if q.ask_price is not None]
        prices.bid = max(bids, default=None)
        prices.ask = min(asks, default=None)

    def _update_trade(self, trade: ReferencePrice) -> None:
        prices = self.symbols.setdefault(trade.symbol, _Prices())
        if trade.timestamp >= prices.last_at:
            prices.last, prices.last_at = trade.last_price, trade.timestamp

    def touch(self, symbol: str, side: Side) -> Decimal | None:
        """What a market order would pay: the best ask for a buy, bid for a sell, else the last."""
        prices = self.symbols.get(symbol)
        if prices is None:
            return None
        near = prices.ask if side is Side.BUY else prices.bid
        return near if near is not None else prices.last

    def reference_price(self, symbol: str) -> Decimal | None:
        """The fair price collars are measured from: the mid, else the last trade price."""
        prices = self.symbols.get(symbol)
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
